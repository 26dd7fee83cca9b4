//! `techmesh trust ...`: administer the trust list of the running node through its
//! admin API (address in `DATA/admin.addr`, token in `DATA/admin.token`), and
//! rotate this node's own publisher key (`rotate`, with the node stopped).
//! `list` shows which rule admitted each member (a local `[[member]]` or a
//! federation anchor's list), `anchors` the anchors and what they listed, and
//! `explain` which rule admits or refuses one key or peer id.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use serde_json::{json, Value};

use techmesh_protocol::record::Keypair;
use techmesh_protocol::trust::rotation::RotationStatement;

use crate::datadir::DataDir;

#[derive(Subcommand, Debug)]
pub enum TrustCommand {
    /// Show the running trust list (members, keys, roles, connected peers, and the
    /// rule that admitted each), then the anchor listings that were refused.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Which rule admits or refuses a publisher key (64 hex digits) or a peer id,
    /// and with which roles.
    Explain {
        subject: String,
        #[arg(long)]
        json: bool,
    },
    /// Federation anchors, the membership lists held from each, local denies and
    /// the listed members that were refused (with the rule).
    Anchors,
    /// Admit a member (written to trust.toml, applied at once).
    Add {
        #[arg(long)]
        name: Option<String>,
        /// ISO 3166-1 alpha-2 country.
        #[arg(long)]
        country: Option<String>,
        /// ISO 3166-2 region.
        #[arg(long)]
        region: Option<String>,
        /// Publisher key (64 hex digits from their `techmesh id`); repeatable.
        #[arg(long = "publisher-key")]
        publisher_keys: Vec<String>,
        /// Peer id that may connect; repeatable.
        #[arg(long = "peer-id")]
        peer_ids: Vec<String>,
        /// Multiaddr to dial them at; repeatable.
        #[arg(long = "address")]
        addresses: Vec<String>,
        /// publish_entries, publish_events or observer; repeatable.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Scheme pair they are an authority for, e.g. gbt4754->nace2; repeatable.
        #[arg(long = "publish-mappings")]
        publish_mappings: Vec<String>,
        /// federation, national, international; repeatable (default: all three).
        #[arg(long = "receive-scope")]
        receive_scopes: Vec<String>,
        /// keep (default) or purge: their records when they are removed.
        #[arg(long)]
        on_removal: Option<String>,
        /// They may rotate their publisher key with a signed statement.
        #[arg(long)]
        allow_rotation: bool,
        /// The member as a JSON file with the fields of [[member]] (instead of flags).
        #[arg(long, conflicts_with_all = ["name", "country"])]
        from_json: Option<PathBuf>,
    },
    /// Remove a member: disconnected at once, new records refused, stored records
    /// kept or purged as its `on_removal` says.
    Remove { name: String },
    /// Revoke a member's key as of a time: records under it from then on are refused.
    Revoke {
        name: String,
        /// The key (default: the member's only key).
        #[arg(long)]
        key: Option<String>,
        /// YYYY-MM-DDTHH:MM:SSZ (default: now).
        #[arg(long)]
        as_of: Option<String>,
        /// Also refuse records with a seq above this (catches backdated records).
        #[arg(long)]
        max_seq: Option<u64>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reload trust.toml (as SIGHUP does); a broken file changes nothing.
    Reload,
    /// Peers with their members and state.
    Peers,
    /// Close a peer's connections now.
    Disconnect { peer_id: String },
    /// The last entries of the audit log.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Rotate THIS node's publisher key (node stopped): a new key is installed, the
    /// old one kept as keys/publisher-<id>.retired.key, and a statement signed by the
    /// old key is written to FILE for your partners' `trust accept-rotation`.
    Rotate {
        #[arg(long)]
        out: PathBuf,
    },
    /// Accept a partner's key rotation statement (only for members with
    /// allow_rotation = true).
    AcceptRotation { file: PathBuf },
}

struct AdminClient {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl AdminClient {
    fn connect(dir: &DataDir) -> Result<AdminClient> {
        let addr_file = dir.admin_addr_file();
        let Ok(addr) = std::fs::read_to_string(&addr_file) else {
            bail!(
                "no node is running on {root} (start it with `techmesh --data-dir {root} run`); \
                 `techmesh trust` acts on the running node through its admin API. \
                 With the node stopped, edit {root}/trust.toml instead: it is read at start",
                root = dir.root.display()
            );
        };
        Ok(AdminClient {
            base: format!("http://{}", addr.trim()),
            token: dir.admin_token()?,
            http: reqwest::blocking::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()?,
        })
    }

    fn url(&self, segments: &[&str]) -> Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&self.base)?;
        url.path_segments_mut()
            .map_err(|_| anyhow!("bad admin address {}", self.base))?
            .extend(segments);
        Ok(url)
    }

    fn call(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        body: Option<Value>,
    ) -> Result<Value> {
        let operator = std::env::var("USER").unwrap_or_else(|_| "cli".into());
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(&self.token)
            .header("X-Techmesh-Operator", operator);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().with_context(|| {
            format!(
                "cannot reach the node's admin API at {} (is the node running? a crashed node leaves DATA/admin.addr behind)",
                self.base
            )
        })?;
        let status = resp.status();
        let v: Value = resp.json().unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{} ({status})", v["error"].as_str().unwrap_or("no details"));
        }
        Ok(v)
    }

    fn get(&self, segments: &[&str]) -> Result<Value> {
        self.call(reqwest::Method::GET, self.url(segments)?, None)
    }

    fn post(&self, segments: &[&str], body: Value) -> Result<Value> {
        self.call(reqwest::Method::POST, self.url(segments)?, Some(body))
    }
}

fn print(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn list_table(v: &Value) {
    let Some(members) = v.as_array() else { return };
    if members.is_empty() {
        println!("the trust list is empty: this node admits nobody");
        return;
    }
    for m in members {
        let join = |f: &str| {
            m[f].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        };
        let keys: Vec<String> = m["publisher_keys"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|k| {
                        let revoked = m["revoked"]
                            .as_array()
                            .and_then(|r| r.iter().find(|x| x["key"] == k))
                            .map(|x| {
                                format!(" (revoked as of {})", x["as_of"].as_str().unwrap_or("?"))
                            })
                            .unwrap_or_default();
                        format!("{}…{revoked}", &k[..16.min(k.len())])
                    })
                    .collect()
            })
            .unwrap_or_default();
        println!(
            "{}\t{}\troles={}\tmappings={}\tkeys={}\tpeers={}\tconnected={}\ton_removal={}{}\tadmitted by {}",
            m["name"].as_str().unwrap_or(""),
            m["country"].as_str().unwrap_or(""),
            join("roles"),
            join("publish_mappings"),
            keys.join(","),
            m["peer_ids"].as_array().map(Vec::len).unwrap_or(0),
            m["connected_peers"].as_array().map(Vec::len).unwrap_or(0),
            m["on_removal"].as_str().unwrap_or(""),
            if m["allow_rotation"] == true {
                "\tallow_rotation"
            } else {
                ""
            },
            m["source"]["rule"].as_str().unwrap_or("?"),
        );
    }
}

pub fn run(dir: &DataDir, cmd: TrustCommand) -> Result<i32> {
    if let TrustCommand::Rotate { out } = &cmd {
        return rotate(dir, out);
    }
    let api = AdminClient::connect(dir)?;
    match cmd {
        TrustCommand::List { json } => {
            let v = api.get(&["admin", "v1", "members"])?;
            if json {
                print(&v)?;
            } else {
                list_table(&v);
                let a = api.get(&["admin", "v1", "anchors"])?;
                for r in a["refused"].as_array().into_iter().flatten() {
                    println!(
                        "REFUSED {}\tlisted by {}\t{}",
                        r["name"].as_str().unwrap_or(""),
                        r["listed_by"].as_str().unwrap_or(""),
                        r["rule"].as_str().unwrap_or(""),
                    );
                }
            }
        }
        TrustCommand::Explain { subject, json } => {
            let mut url = api.url(&["admin", "v1", "explain"])?;
            let is_key = subject.len() == 64 && subject.bytes().all(|b| b.is_ascii_hexdigit());
            url.query_pairs_mut()
                .append_pair(if is_key { "key" } else { "peer" }, &subject);
            let v = api.call(reqwest::Method::GET, url, None)?;
            if json {
                print(&v)?;
            } else {
                let verdict = if v["admitted"] == true {
                    "ADMITTED"
                } else {
                    "REFUSED"
                };
                println!("{verdict}: {}", v["rule"].as_str().unwrap_or("?"));
                if let Some(r) = v["roles"].as_array() {
                    let names: Vec<&str> = r.iter().filter_map(Value::as_str).collect();
                    let scopes: Vec<&str> = v["receive_scopes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    println!(
                        "roles: {}; receives: {}",
                        names.join(", "),
                        scopes.join(", ")
                    );
                }
                for c in v["source"]["clipped"].as_array().into_iter().flatten() {
                    println!(
                        "not granted (above the anchor's limit): {}",
                        c.as_str().unwrap_or("")
                    );
                }
            }
        }
        TrustCommand::Anchors => print(&api.get(&["admin", "v1", "anchors"])?)?,
        TrustCommand::Add {
            name,
            country,
            region,
            publisher_keys,
            peer_ids,
            addresses,
            roles,
            publish_mappings,
            receive_scopes,
            on_removal,
            allow_rotation,
            from_json,
        } => {
            let member = match from_json {
                Some(f) => {
                    let text = std::fs::read_to_string(&f)
                        .with_context(|| format!("reading {}", f.display()))?;
                    serde_json::from_str(&text)
                        .with_context(|| format!("{}: not JSON", f.display()))?
                }
                None => {
                    let mut m = json!({
                        "name": name.ok_or_else(|| anyhow!("--name is required (or --from-json)"))?,
                        "country": country.ok_or_else(|| anyhow!("--country is required (or --from-json)"))?,
                        "region": region,
                        "publisher_keys": publisher_keys,
                        "peer_ids": peer_ids,
                        "addresses": addresses,
                        "roles": roles,
                        "publish_mappings": publish_mappings,
                        "on_removal": on_removal,
                    });
                    if !receive_scopes.is_empty() {
                        m["receive_scopes"] = json!(receive_scopes);
                    }
                    if allow_rotation {
                        m["allow_rotation"] = json!(true);
                    }
                    m
                }
            };
            print(&api.post(&["admin", "v1", "members"], member)?)?;
        }
        TrustCommand::Remove { name } => {
            print(&api.call(
                reqwest::Method::DELETE,
                api.url(&["admin", "v1", "members", &name])?,
                None,
            )?)?;
        }
        TrustCommand::Revoke {
            name,
            key,
            as_of,
            max_seq,
            reason,
        } => {
            let body = json!({"key": key, "as_of": as_of, "max_seq": max_seq, "reason": reason});
            let body: serde_json::Map<String, Value> = body
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            print(&api.post(
                &["admin", "v1", "members", &name, "revoke"],
                Value::Object(body),
            )?)?;
        }
        TrustCommand::Reload => print(&api.post(&["admin", "v1", "reload"], json!({}))?)?,
        TrustCommand::Peers => print(&api.get(&["admin", "v1", "peers"])?)?,
        TrustCommand::Disconnect { peer_id } => {
            print(&api.post(&["admin", "v1", "peers", &peer_id, "disconnect"], json!({}))?)?
        }
        TrustCommand::Audit { limit } => {
            let mut url = api.url(&["admin", "v1", "audit"])?;
            url.query_pairs_mut()
                .append_pair("limit", &limit.to_string());
            let v = api.call(reqwest::Method::GET, url, None)?;
            for e in v.as_array().into_iter().flatten() {
                println!("{e}");
            }
        }
        TrustCommand::AcceptRotation { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let statement: Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a JSON rotation statement", file.display()))?;
            print(&api.post(&["admin", "v1", "rotations"], statement)?)?;
        }
        TrustCommand::Rotate { .. } => unreachable!("handled above"),
    }
    Ok(0)
}

fn create_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (never overwritten)", path.display()))?;
    f.write_all(contents)?;
    f.sync_all()?;
    Ok(())
}

/// Rotate this node's publisher key: offline, never losing a key.
fn rotate(dir: &DataDir, out: &Path) -> Result<i32> {
    let cfg = dir.config()?;
    if dir.api_addr_file().exists() || dir.admin_addr_file().exists() {
        bail!(
            "a node seems to be running on {} (stop it first: it holds the publisher key in memory; \
             after a crash remove {} and {})",
            dir.root.display(),
            dir.api_addr_file().display(),
            dir.admin_addr_file().display()
        );
    }
    // The store lock tells for sure whether a node runs here.
    drop(
        crate::store::SledStore::open(&dir.store_dir(), 8)
            .map_err(|e| anyhow!("{e} (stop the node before rotating its key)"))?,
    );
    let old = dir.keypair()?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("no system randomness: {e}"))?;
    let new = Keypair::from_seed(&seed);
    let signed = RotationStatement {
        member: cfg.node.name.clone(),
        old_key: old.public(),
        new_key: new.public(),
        at: crate::ingest::now(),
    }
    .sign(&old)?;
    let keys = dir.publisher_key();
    let keys_dir = keys.parent().unwrap_or(Path::new("."));
    let retired = keys_dir.join(format!(
        "publisher-{}.retired.key",
        &old.public().to_hex()[..16]
    ));
    let staged = keys_dir.join("publisher.key.new");
    if retired.exists() {
        bail!("{} already exists", retired.display());
    }
    create_private(
        out,
        format!("{}\n", serde_json::to_string_pretty(&signed.to_json())?).as_bytes(),
    )?;
    create_private(&staged, format!("{}\n", hex::encode(seed)).as_bytes())?;
    std::fs::rename(&keys, &retired).with_context(|| format!("retiring {}", keys.display()))?;
    std::fs::rename(&staged, &keys).with_context(|| format!("installing {}", keys.display()))?;
    std::fs::File::open(keys_dir)?.sync_all()?;
    print(&json!({
        "statement": out.display().to_string(),
        "old_key": old.public().to_hex(),
        "new_key": new.public().to_hex(),
        "retired_key_file": retired.display().to_string(),
        "next": "send the statement to every partner: `techmesh trust accept-rotation FILE` on their node; until they accept it they refuse your new records",
    }))?;
    Ok(0)
}
