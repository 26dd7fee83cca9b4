//! techmesh-protocol: everything a techmesh node agrees on with its peers, and nothing
//! that does I/O.
//!
//! - [`canonical`]: the one canonical byte encoding of a record (RFC 8785 JSON) and the
//!   strict decoder that refuses every other encoding;
//! - [`record`]: the signed envelope, its hash and identity, signing and strict
//!   verification;
//! - [`body`]: the bodies of the four record kinds and every validation rule of the
//!   public data model, and the federation anchors' membership lists;
//! - [`codes`]: classification schemes, code normalisation and code hierarchies;
//! - [`version`]: which of two records for one identity wins, and equivocation;
//! - [`time`]: the strict timestamp and date formats (no clock reads: callers pass `now`).
//!
//! The normative description of the wire format is `docs/PROTOCOL.md`.

pub mod body;
pub mod canonical;
pub mod codes;
pub mod error;
pub mod query;
pub mod record;
pub mod sssom;
pub mod sync;
pub mod time;
pub mod translate;
pub mod trust;
pub mod vectors;
pub mod version;

#[cfg(test)]
mod tests;

pub use body::{Body, Kind};
pub use error::{FieldError, RecordError};
pub use record::{Identity, Keypair, PublicKey, Record, RecordHash, UnsignedRecord};
