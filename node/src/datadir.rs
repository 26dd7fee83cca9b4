//! The data directory: what `techmesh init` creates and every command reads.
//!
//! ```text
//! DATA/node.toml             node configuration (commented defaults)
//! DATA/trust.toml            trust list (empty at init)
//! DATA/keys/publisher.key    ed25519 seed of the publisher key, hex (mode 0600)
//! DATA/keys/libp2p.key       libp2p identity, protobuf encoding (mode 0600)
//! DATA/api.token             bearer token of the HTTP API (mode 0600)
//! DATA/admin.token           bearer token of the admin API (mode 0600; see admin/)
//! DATA/audit.jsonl           audit log of admin actions (written by `techmesh run`)
//! DATA/store/                the sled store (locked by whichever process opened it)
//! DATA/api.addr              written by `techmesh run`: where its HTTP API listens
//! ```
//!
//! Key files are created with `create_new`: nothing ever overwrites a key.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use techmesh_config::{trust, NodeConfig};
use techmesh_protocol::record::Keypair;
use techmesh_protocol::trust::{LocalNode, TrustList};

pub struct DataDir {
    pub root: PathBuf,
}

/// What `init` is told about the node.
pub struct InitOptions<'a> {
    pub name: &'a str,
    pub country: &'a str,
    pub region: Option<&'a str>,
}

fn write_secret(path: &Path, contents: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating {} (refusing to overwrite an existing key)",
                path.display()
            )
        })?;
    f.write_all(contents)?;
    f.sync_all()?;
    Ok(())
}

fn random32() -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(b)
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn node_toml(&self) -> PathBuf {
        self.root.join("node.toml")
    }
    pub fn trust_toml(&self) -> PathBuf {
        self.root.join("trust.toml")
    }
    pub fn publisher_key(&self) -> PathBuf {
        self.root.join("keys/publisher.key")
    }
    pub fn libp2p_key(&self) -> PathBuf {
        self.root.join("keys/libp2p.key")
    }
    pub fn token_file(&self) -> PathBuf {
        self.root.join("api.token")
    }
    pub fn store_dir(&self) -> PathBuf {
        self.root.join("store")
    }
    pub fn api_addr_file(&self) -> PathBuf {
        self.root.join("api.addr")
    }

    /// Create a new node's files. Refuses a directory that already has a node.
    pub fn init(&self, opts: &InitOptions) -> Result<()> {
        if self.publisher_key().exists() || self.node_toml().exists() {
            bail!("{} already holds a techmesh node (its keys are never overwritten); choose another --data-dir", self.root.display());
        }
        // Validate what the user gave before writing anything.
        let text = NodeConfig::default_text(opts.name, opts.country, opts.region);
        NodeConfig::parse(&self.node_toml(), &text).map_err(|e| anyhow::anyhow!("{e}"))?;
        fs::create_dir_all(self.root.join("keys"))
            .with_context(|| format!("creating {}", self.root.display()))?;
        fs::set_permissions(self.root.join("keys"), fs::Permissions::from_mode(0o700))?;
        write_secret(
            &self.publisher_key(),
            format!("{}\n", hex::encode(random32()?)).as_bytes(),
        )?;
        let p2p = libp2p::identity::Keypair::generate_ed25519();
        let encoded = p2p
            .to_protobuf_encoding()
            .context("encoding the libp2p key")?;
        write_secret(&self.libp2p_key(), &encoded)?;
        write_secret(
            &self.token_file(),
            format!("{}\n", hex::encode(random32()?)).as_bytes(),
        )?;
        crate::admin::create_token(&self.admin_token_file())?;
        fs::write(self.node_toml(), text)?;
        fs::write(self.trust_toml(), trust::EMPTY_TRUST_TOML)?;
        Ok(())
    }

    fn require_init(&self) -> Result<()> {
        if !self.publisher_key().exists() {
            bail!(
                "{} is not a techmesh data dir (run `techmesh init --data-dir {}` first)",
                self.root.display(),
                self.root.display()
            );
        }
        Ok(())
    }

    pub fn config(&self) -> Result<NodeConfig> {
        self.require_init()?;
        NodeConfig::load(&self.node_toml()).map_err(|e| anyhow::anyhow!("{e}"))
    }

    pub fn trust(&self) -> Result<TrustList> {
        trust::load(&self.trust_toml()).map_err(|e| anyhow::anyhow!("{e}"))
    }

    pub fn keypair(&self) -> Result<Keypair> {
        self.require_init()?;
        let path = self.publisher_key();
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut seed = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut seed)
            .with_context(|| format!("{}: not a 64-hex-digit ed25519 seed", path.display()))?;
        Ok(Keypair::from_seed(&seed))
    }

    pub fn libp2p_keypair(&self) -> Result<libp2p::identity::Keypair> {
        self.require_init()?;
        let path = self.libp2p_key();
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        libp2p::identity::Keypair::from_protobuf_encoding(&bytes)
            .with_context(|| format!("{}: not a libp2p key", path.display()))
    }

    pub fn token(&self) -> Result<String> {
        let path = self.token_file();
        Ok(fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .to_string())
    }

    pub fn local_node(&self) -> Result<LocalNode> {
        Ok(LocalNode {
            publisher: self.keypair()?.public(),
            country: self.config()?.country().to_string(),
        })
    }
}
