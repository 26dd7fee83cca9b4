//! One running node process and its local API.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::bin;

pub struct Node {
    pub name: String,
    pub dir: PathBuf,
    pub port: u16,
    pub api: String,
    /// Address of the admin API.
    pub admin: String,
    pub peer_id: String,
    pub publisher: String,
    /// The multiaddr it listens on (kept for restarts).
    listen: String,
    child: Option<Child>,
    http: reqwest::blocking::Client,
}

impl Node {
    /// Start `techmesh run` on `dir`, listening on TCP `port`; wait for its ready line.
    pub fn start(name: &str, dir: &Path, port: u16) -> Node {
        Node::start_on(name, dir, port, &format!("/ip4/127.0.0.1/tcp/{port}"))
    }

    /// Start `techmesh run` on `dir`, listening on `listen` (a multiaddr whose port
    /// is `port`); wait for its ready line.
    pub fn start_on(name: &str, dir: &Path, port: u16, listen: &str) -> Node {
        let log = std::fs::File::create(dir.join("node.log")).expect("log file");
        let mut child = Command::new(bin())
            .arg("--data-dir")
            .arg(dir)
            .args([
                "run",
                "--listen",
                listen,
                "--api",
                "127.0.0.1:0",
                "--admin",
                "127.0.0.1:0",
            ])
            .env(
                "RUST_LOG",
                std::env::var("TECHMESH_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawning techmesh run");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready: Value = loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("\"ready\"") => {
                    break serde_json::from_str(&l).expect("ready JSON")
                }
                Some(Ok(_)) => continue,
                _ => {
                    let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
                    panic!("node {name} exited before it was ready; log:\n{log}");
                }
            }
        };
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Node {
            name: name.into(),
            dir: dir.to_path_buf(),
            port,
            api: ready["api"].as_str().expect("api").into(),
            admin: ready["admin"].as_str().expect("admin").into(),
            peer_id: ready["peer_id"].as_str().expect("peer_id").into(),
            publisher: ready["publisher"].as_str().expect("publisher").into(),
            listen: listen.to_string(),
            child: Some(child),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("http client"),
        }
    }

    fn token(&self) -> String {
        std::fs::read_to_string(self.dir.join("api.token"))
            .expect("token")
            .trim()
            .into()
    }

    /// GET an API path; (status, JSON body).
    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("http://{}{path}", self.api))
            .send()
            .expect("API GET");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// POST with the node's token (or `token` when given); (status, JSON body).
    pub fn post_with(&self, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        let t = token.map(str::to_string).unwrap_or_else(|| self.token());
        let r = self
            .http
            .post(format!("http://{}{path}", self.api))
            .bearer_auth(t)
            .json(body)
            .send()
            .expect("API POST");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_with(path, body, None)
    }

    /// Publish one body through the API; returns the stored result (id, hash, seq).
    /// Waits first until a peer confirmed this node's seq (the no-self-fork guard).
    pub fn publish(&self, body: &Value) -> Value {
        crate::wait_until(
            &format!("{}: seq confirmed by a peer", self.name),
            crate::DEADLINE,
            || {
                let s = self.status();
                (s["seq_confirmed_by_peer"] == true, s["peers"].clone())
            },
        );
        let (s, v) = self.post("/v1/publish", &serde_json::json!({"bodies": [body]}));
        assert_eq!(s, 200, "{}: publish failed: {v}", self.name);
        v[0].clone()
    }

    /// Does this node hold the record `id` (current, possibly a tombstone)?
    pub fn has(&self, id: &str) -> bool {
        self.get(&format!("/v1/record?id={id}")).0 == 200
    }

    /// The record `id` as stored (envelope JSON), if held.
    pub fn record(&self, id: &str) -> Option<Value> {
        let (s, v) = self.get(&format!("/v1/record?id={id}"));
        (s == 200).then(|| {
            serde_json::from_str(v["record"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
        })
    }

    pub fn status(&self) -> Value {
        self.get("/v1/status").1
    }

    pub fn digest(&self) -> String {
        self.status()["store_digest"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn total(&self) -> u64 {
        self.status()["records_total"].as_u64().unwrap_or(0)
    }

    /// Peers this node is connected to (peer ids).
    pub fn connected(&self) -> Vec<String> {
        let (_, v) = self.get("/v1/peers");
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter(|p| p["connected"] == true)
                    .filter_map(|p| p["peer_id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn peer_info(&self, peer_id: &str) -> Value {
        let (_, v) = self.get("/v1/peers");
        v.as_array()
            .and_then(|a| a.iter().find(|p| p["peer_id"] == peer_id).cloned())
            .unwrap_or(Value::Null)
    }

    fn signal(&mut self, sig: i32) {
        if let Some(mut c) = self.child.take() {
            unsafe {
                libc::kill(c.id() as i32, sig);
            }
            let _ = c.wait();
        }
    }

    /// Graceful stop (SIGTERM), waiting for the process to exit.
    pub fn stop(&mut self) {
        self.signal(libc::SIGTERM);
    }

    /// Crash (SIGKILL).
    pub fn kill(&mut self) {
        self.signal(libc::SIGKILL);
    }

    /// Send SIGHUP (reload the trust list).
    pub fn hup(&self) {
        if let Some(c) = &self.child {
            unsafe {
                libc::kill(c.id() as i32, libc::SIGHUP);
            }
        }
    }

    /// The node's log so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    pub fn restart(&mut self) {
        self.stop();
        let fresh = Node::start_on(&self.name, &self.dir, self.port, &self.listen);
        *self = fresh;
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
