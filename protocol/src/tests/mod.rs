//! Unit tests of the protocol rules (one file per area).
mod body_rules;
mod envelope;
mod fast_decode;
pub(crate) mod prop_canonical;
