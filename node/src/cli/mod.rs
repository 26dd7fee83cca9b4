//! The `techmesh` command line.
//!
//! One rule for the store (docs/OPERATIONS.md "Who opens the store"): a command opens
//! the data dir's store itself when no node runs there; when `techmesh run` holds
//! it, the command talks to that node's local HTTP API instead (address in
//! `DATA/api.addr`, token in `DATA/api.token`). Either way the same code validates
//! and signs, so the result is the same.

mod backend;
mod mappings;
pub use backend::{Backend, Stored};
mod records;
mod search;
mod trust;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::datadir::{DataDir, InitOptions};

#[derive(Parser, Debug)]
#[command(
    name = "techmesh",
    version,
    about = "A node of the techmesh federated technology-transfer network"
)]
pub struct Cli {
    /// Data directory of the node.
    #[arg(
        long,
        global = true,
        env = "TECHMESH_DATA_DIR",
        default_value = "./techmesh-data"
    )]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a data dir: keys (mode 0600, never overwritten), node.toml, empty trust.toml.
    Init {
        /// Name of this exchange.
        #[arg(long, default_value = "techmesh node")]
        name: String,
        /// ISO 3166-1 alpha-2 country of this exchange.
        #[arg(long, default_value = "CN")]
        country: String,
        /// ISO 3166-2 region (e.g. CN-HB).
        #[arg(long)]
        region: Option<String>,
    },
    /// Print this node's publisher key and peer id as JSON.
    Id,
    /// Sign and store one body (JSON file; `-` reads stdin). Prints id and hash.
    Publish {
        file: PathBuf,
        /// Kind of the body (default: detected from its fields).
        #[arg(long, value_parser = records::parse_kind)]
        kind: Option<techmesh_protocol::Kind>,
    },
    /// Import a JSONL file of bodies (or of signed records from an export).
    Import {
        file: PathBuf,
        /// Import the valid lines even if some are invalid (default: all or nothing).
        #[arg(long)]
        skip_invalid: bool,
        /// Kind of every body (default: detected per line).
        #[arg(long, value_parser = records::parse_kind)]
        kind: Option<techmesh_protocol::Kind>,
        /// File format (default: from the extension: .csv → csv, .xlsx → xlsx, else jsonl).
        #[arg(long, value_enum)]
        format: Option<crate::tabular::ImportFormat>,
        /// Column map for csv/xlsx (TOML: header → field), added to the built-in one.
        #[arg(long)]
        columns: Option<PathBuf>,
        /// csv/xlsx: check every row and show what would be published; publish nothing.
        #[arg(long)]
        dry_run: bool,
        /// csv: text encoding (auto: UTF-8, else GBK/GB18030 with a notice).
        #[arg(long, value_enum, default_value = "auto")]
        encoding: crate::tabular::Encoding,
    },
    /// Show one record: full id, `kind/local_id` of your own, bare local_id, or hash.
    Get { id: String },
    /// List current records.
    List {
        #[arg(long, value_parser = records::parse_kind)]
        kind: Option<techmesh_protocol::Kind>,
        /// Publisher key (hex) or `self`.
        #[arg(long)]
        publisher: Option<String>,
        /// Include withdrawn records (their tombstones).
        #[arg(long)]
        all: bool,
        /// One JSON record per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Withdraw one of your records (publishes a tombstone).
    Withdraw {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Write every current signed record (tombstones included) as JSONL; or this
    /// node's entries as a spreadsheet (csv, xlsx); or the catalogue as DCAT-AP (dcat).
    Export {
        file: PathBuf,
        /// jsonl, csv, xlsx or dcat (default: from the extension: .csv, .xlsx,
        /// .jsonld → dcat, else jsonl).
        #[arg(long, value_enum)]
        format: Option<crate::tabular::ExportFormat>,
        /// csv/xlsx: header language.
        #[arg(long, value_enum, default_value = "zh")]
        headers: crate::tabular::Headers,
        /// csv/xlsx: column map (TOML) whose headers are written.
        #[arg(long)]
        columns: Option<PathBuf>,
    },
    /// Run the node: network, sync and the local HTTP API, until SIGINT/SIGTERM.
    Run {
        /// libp2p listen address (repeatable; default from node.toml).
        #[arg(long)]
        listen: Vec<String>,
        /// HTTP API bind address (default from node.toml).
        #[arg(long)]
        api: Option<String>,
        /// Admin API bind address (default from node.toml `[admin] listen`).
        #[arg(long)]
        admin: Option<String>,
    },
    /// The trust list of the running node (through its admin API): list, add,
    /// remove, revoke, reload, peers, disconnect, audit; key rotation.
    #[command(subcommand)]
    Trust(trust::TrustCommand),
    /// Translate a code to another scheme through the recognised mapping sets,
    /// showing each chain: `techmesh translate gbt4754:C3841 --to isic4`.
    Translate {
        /// SCHEME:CODE
        code: String,
        #[arg(long)]
        to: String,
        /// Longest chain of mappings.
        #[arg(long, default_value_t = 3)]
        depth: usize,
        #[arg(long)]
        json: bool,
    },
    /// Standard mapping sets (SSSOM/TSV): import, export, list.
    #[command(subcommand)]
    Mappings(mappings::MappingsCommand),
    /// Full-text and filtered search of the entries held (any language).
    Search(search::SearchArgs),
    /// Ranked offers for a request (or requests for an offer), with the reasons.
    Match(search::MatchArgs),
    /// Matchmaking events: meeting agendas.
    #[command(subcommand)]
    Events(search::EventsCommand),
    /// Check the store: every record readable, indexes agree with records. Exit 0 iff clean.
    Check,
    /// Show the running node's status: records by kind, store digest, peers.
    Status,
    /// Show the running node's peers with their members and sync state.
    Peers,
    /// Test tools (hidden): play a misbehaving member.
    #[command(hide = true)]
    DebugInject {
        /// Multiaddr of the peer to join through.
        #[arg(long)]
        peer: String,
        /// Gossip topic, e.g. techmesh/v1/federation.
        #[arg(long)]
        topic: String,
        /// File whose lines are published as they are.
        file: PathBuf,
    },
    /// Test tools (hidden): gossip fresh records as fast as possible, a share of them
    /// with a corrupted signature.
    #[command(hide = true)]
    DebugFlood {
        /// Multiaddr of the peer to join through.
        #[arg(long)]
        peer: String,
        #[arg(long, default_value = "techmesh/v1/federation")]
        topic: String,
        /// Share of records with a bad signature (0–1).
        #[arg(long, default_value_t = 0.5)]
        bad_ratio: f64,
        /// Seconds to flood.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Stop after this many records.
        #[arg(long)]
        max: Option<u64>,
    },
    /// Test tools (hidden): abuse the sync protocol of a peer.
    #[command(hide = true)]
    DebugAbuse {
        /// Multiaddr of the peer, with /p2p/<peer id>.
        #[arg(long)]
        peer: String,
        #[arg(long, value_enum)]
        mode: crate::debug::abuse::Mode,
        /// Protocol to abuse.
        #[arg(long, value_enum, default_value = "sync")]
        protocol: crate::debug::abuse::Target,
        /// Requests (concurrent, stall) or oversized requests.
        #[arg(long, default_value_t = 32)]
        count: usize,
        /// Longest the run may take, seconds.
        #[arg(long, default_value_t = 120)]
        duration: u64,
    },
    /// Check signatures and rules of a JSONL export from any node. Exit 0 iff all pass.
    Verify {
        file: PathBuf,
        /// Allowed future skew of issued_at, seconds.
        #[arg(long, default_value_t = techmesh_protocol::record::DEFAULT_MAX_FUTURE_SKEW_SECS)]
        max_future_skew_secs: u64,
    },
}

pub fn run(cli: Cli) -> Result<i32> {
    let dir = DataDir::new(&cli.data_dir);
    match cli.command {
        Command::Init {
            name,
            country,
            region,
        } => {
            dir.init(&InitOptions {
                name: &name,
                country: &country,
                region: region.as_deref(),
            })?;
            let id = records::identity_json(&dir)?;
            println!("initialised {}", dir.root.display());
            println!("{}", serde_json::to_string_pretty(&id)?);
            Ok(0)
        }
        Command::Id => {
            println!(
                "{}",
                serde_json::to_string_pretty(&records::identity_json(&dir)?)?
            );
            Ok(0)
        }
        Command::Verify {
            file,
            max_future_skew_secs,
        } => records::verify_file(&file, max_future_skew_secs),
        Command::Trust(cmd) => trust::run(&dir, cmd),
        Command::Run { listen, api, admin } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(crate::run::run(
                &dir,
                crate::run::RunOptions { listen, api, admin },
            ))?;
            Ok(0)
        }
        Command::Check => {
            let cfg = dir.config()?;
            let store =
                crate::store::SledStore::open(&dir.store_dir(), *cfg.store.cache_mb.get_ref())
                    .map_err(|e| {
                        anyhow::anyhow!("{e} (stop the node before checking its store)")
                    })?;
            use crate::store::Store;
            let problems = store.check()?;
            for p in &problems {
                println!("problem: {p}");
            }
            let counts = store.counts()?;
            println!(
                "{} record(s) checked, {} problem(s)",
                counts.total(),
                problems.len()
            );
            Ok(if problems.is_empty() { 0 } else { 1 })
        }
        Command::DebugInject { peer, topic, file } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(crate::debug::inject(&dir, &peer, &topic, &file))?;
            Ok(0)
        }
        Command::DebugFlood {
            peer,
            topic,
            bad_ratio,
            duration,
            max,
        } => {
            let opts = crate::debug::flood::FloodOptions {
                peer,
                topic,
                bad_ratio,
                duration: std::time::Duration::from_secs_f64(duration.max(0.0)),
                max,
            };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(crate::debug::flood::flood(&dir, opts))?;
            Ok(0)
        }
        Command::DebugAbuse {
            peer,
            mode,
            protocol,
            count,
            duration,
        } => {
            let opts = crate::debug::abuse::AbuseOptions {
                peer,
                protocol,
                mode,
                count,
                duration: std::time::Duration::from_secs(duration),
            };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(crate::debug::abuse::abuse(&dir, opts))?;
            Ok(0)
        }
        Command::Status | Command::Peers => {
            let api = crate::api::client::ApiBackend::connect_running(&dir)?;
            let path = if matches!(cli.command, Command::Status) {
                "/v1/status"
            } else {
                "/v1/peers"
            };
            println!("{}", serde_json::to_string_pretty(&api.get_json(path)?)?);
            Ok(0)
        }
        Command::Translate {
            code,
            to,
            depth,
            json,
        } => mappings::translate(&*backend::open(&dir)?, &code, &to, depth.clamp(1, 6), json),
        Command::Mappings(cmd) => mappings::run(&*backend::open(&dir)?, cmd),
        Command::Search(a) => search::search(&*backend::open(&dir)?, a),
        Command::Match(a) => search::match_(&*backend::open(&dir)?, a),
        Command::Events(cmd) => search::events(&*backend::open(&dir)?, cmd),
        other => {
            let backend = backend::open(&dir)?;
            records::run(&*backend, &dir, other)
        }
    }
}
