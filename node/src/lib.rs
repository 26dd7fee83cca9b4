//! techmesh-node: the daemon and its CLI. The only crate that touches the disk, the
//! network and HTTP.
//!
//! - [`store`]: the store trait and its sled implementation;
//! - [`identity`]: the data directory, keys and files `techmesh init` creates;
//! - [`ingest`]: the one path by which records enter the store (verify → policy → store);
//! - [`cli`]: the `techmesh` commands.

pub mod activity;
pub mod admin;
pub mod api;
pub mod cli;
pub mod console;
pub mod datadir;
pub mod dcat;
pub mod debug;
pub mod fedquery;
pub mod ingest;
pub mod logging;
pub mod mappings;
pub mod metrics;
pub mod net;
pub mod node;
pub mod publish;
pub mod query;
pub mod run;
pub mod store;
pub mod sync;
pub mod tabular;
