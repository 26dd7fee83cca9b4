//! techmesh-config: the node's files, their defaults and their validation.
//!
//! - [`node`]: `node.toml` — who this node is, where it listens, its bounds;
//! - [`trust`]: `trust.toml` — the members this node admits and what they may do;
//! - [`addr`]: peer addresses (TCP or QUIC v1 multiaddrs);
//! - [`error`]: every error names the file, the line and the field.

pub mod addr;
pub mod error;
pub mod node;
pub mod trust;

pub use error::ConfigError;
pub use node::NodeConfig;
