//! A local federation for tests: N initialised data dirs with countries, mutual
//! trust lists for a topology, and running nodes.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::{cli, free_port, Node};

/// What a test says about one node.
#[derive(Clone)]
pub struct Spec {
    pub name: &'static str,
    pub country: &'static str,
}

impl Spec {
    pub fn new(name: &'static str, country: &'static str) -> Spec {
        Spec { name, country }
    }
}

/// One initialised node (running or not).
pub struct Member {
    pub spec: Spec,
    pub dir: PathBuf,
    pub port: u16,
    pub publisher: String,
    pub peer_id: String,
}

pub struct Federation {
    _root: tempfile::TempDir,
    pub members: Vec<Member>,
    pub nodes: Vec<Option<Node>>,
    links: BTreeSet<(usize, usize)>,
    /// Nodes listen and are dialled over QUIC v1 instead of TCP.
    quic: bool,
}

/// Settings that make tests quick without changing behaviour: frequent sync,
/// fast heartbeat and redial.
const TEST_TUNING: &[(&str, &str)] = &[
    ("interval_secs = 30", "interval_secs = 2"),
    ("heartbeat_ms = 700", "heartbeat_ms = 200"),
    ("redial_max_secs = 60", "redial_max_secs = 2"),
];

impl Federation {
    /// Initialise the nodes and trust lists for `links` (undirected: i may connect
    /// to j), without starting anything.
    pub fn init(specs: &[Spec], links: &[(usize, usize)]) -> Federation {
        let root = tempfile::tempdir().expect("temp dir");
        let members = specs
            .iter()
            .map(|s| {
                let dir = root.path().join(s.name);
                cli(&dir, &["init", "--name", s.name, "--country", s.country]).ok();
                let mut text = std::fs::read_to_string(dir.join("node.toml")).expect("node.toml");
                for (from, to) in TEST_TUNING {
                    text = text.replace(from, to);
                }
                std::fs::write(dir.join("node.toml"), text).expect("write node.toml");
                let id = cli(&dir, &["id"]).ok().json();
                Member {
                    spec: s.clone(),
                    dir,
                    port: free_port(),
                    publisher: id["publisher"].as_str().expect("publisher").into(),
                    peer_id: id["peer_id"].as_str().expect("peer id").into(),
                }
            })
            .collect::<Vec<_>>();
        let n = members.len();
        let f = Federation {
            _root: root,
            members,
            nodes: (0..n).map(|_| None).collect(),
            links: links.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect(),
            quic: false,
        };
        for i in 0..n {
            f.write_trust(i);
        }
        f
    }

    /// Initialise and start every node.
    pub fn start(specs: &[Spec], links: &[(usize, usize)]) -> Federation {
        let mut f = Federation::init(specs, links);
        for i in 0..specs.len() {
            f.start_node(i);
        }
        f
    }

    /// From now on, nodes listen on and are dialled at `/udp/PORT/quic-v1` instead
    /// of `/tcp/PORT` (trust lists rewritten; start nodes afterwards).
    pub fn use_quic(&mut self) {
        self.quic = true;
        for i in 0..self.members.len() {
            self.write_trust(i);
        }
    }

    /// The address member `i` listens on.
    pub fn listen_addr(&self, i: usize) -> String {
        let port = self.members[i].port;
        if self.quic {
            format!("/ip4/127.0.0.1/udp/{port}/quic-v1")
        } else {
            format!("/ip4/127.0.0.1/tcp/{port}")
        }
    }

    pub fn linked(&self, a: usize, b: usize) -> bool {
        self.links.contains(&(a.min(b), a.max(b)))
    }

    /// The trust.toml text of node `i`: every other member may publish (so relayed
    /// records are accepted); only linked members get peer ids and addresses.
    pub fn trust_text(&self, i: usize) -> String {
        let mut t = String::new();
        for (j, m) in self.members.iter().enumerate() {
            if j == i {
                continue;
            }
            t.push_str(&format!(
                "[[member]]\nname = {:?}\ncountry = {:?}\npublisher_keys = [{:?}]\nroles = [\"publish_entries\", \"publish_events\"]\npublish_mappings = [\"gbt4754->nace2\", \"nace2->isic4\", \"ipc->wipo35\"]\n",
                m.spec.name, m.spec.country, m.publisher
            ));
            if self.linked(i, j) {
                t.push_str(&format!(
                    "peer_ids = [{:?}]\naddresses = [{:?}]\n",
                    m.peer_id,
                    self.listen_addr(j)
                ));
            }
            t.push('\n');
        }
        t
    }

    pub fn write_trust(&self, i: usize) {
        std::fs::write(self.members[i].dir.join("trust.toml"), self.trust_text(i))
            .expect("write trust.toml");
    }

    /// Change the topology: rewrite every trust list and SIGHUP running nodes.
    pub fn set_links(&mut self, links: &[(usize, usize)]) {
        self.links = links.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
        for i in 0..self.members.len() {
            self.write_trust(i);
            if let Some(n) = &self.nodes[i] {
                n.hup();
            }
        }
    }

    pub fn start_node(&mut self, i: usize) -> &Node {
        let m = &self.members[i];
        let listen = self.listen_addr(i);
        self.nodes[i] = Some(Node::start_on(m.spec.name, &m.dir, m.port, &listen));
        self.node(i)
    }

    pub fn node(&self, i: usize) -> &Node {
        self.nodes[i]
            .as_ref()
            .unwrap_or_else(|| panic!("node {i} is not running"))
    }

    pub fn node_mut(&mut self, i: usize) -> &mut Node {
        self.nodes[i]
            .as_mut()
            .unwrap_or_else(|| panic!("node {i} is not running"))
    }

    pub fn stop_node(&mut self, i: usize) {
        if let Some(mut n) = self.nodes[i].take() {
            n.stop();
        }
    }

    /// Full record id of `kind/local_id` published by member `i`.
    pub fn id(&self, i: usize, kind: &str, local_id: &str) -> String {
        format!("{}/{kind}/{local_id}", self.members[i].publisher)
    }

    /// Ids of the records of `publisher` that node `n` holds (tombstones included).
    pub fn record_ids(&self, n: usize, publisher: &str) -> Vec<String> {
        let (_, v) = self
            .node(n)
            .get(&format!("/v1/records?publisher={publisher}&all=true"));
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Start `techmesh debug-flood` as member `flooder` against member `target`: 20 s
    /// of gossip, half of it with bad signatures (issue 8's flood); output piped.
    pub fn spawn_flooder(&self, flooder: usize, target: usize) -> std::process::Child {
        let addr = format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            self.members[target].port, self.members[target].peer_id
        );
        std::process::Command::new(crate::bin())
            .arg("--data-dir")
            .arg(&self.members[flooder].dir)
            .args([
                "debug-flood",
                "--peer",
                &addr,
                "--bad-ratio",
                "0.5",
                "--duration",
                "20",
            ])
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting debug-flood")
    }
}
