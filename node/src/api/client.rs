//! The CLI's way into a running node: the same operations as the direct store
//! backend, over the node's local API. Every record that comes back is verified
//! again here (the API is local, but a record is only believed when its signature
//! checks).

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use techmesh_protocol::body::Body;
use techmesh_protocol::record::{Identity, PublicKey, Record, RecordHash, VerifyOptions};

use crate::cli::{Backend, Stored};
use crate::datadir::DataDir;
use crate::store::ListFilter;

pub struct ApiBackend {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
    own: PublicKey,
}

impl ApiBackend {
    pub fn connect(dir: &DataDir) -> Result<ApiBackend> {
        let addr_file = dir.api_addr_file();
        let addr = std::fs::read_to_string(&addr_file).with_context(|| {
            format!("the store is locked by a running node, but {} is missing (is the node still starting?)", addr_file.display())
        })?;
        let http = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()?;
        Ok(ApiBackend {
            base: format!("http://{}", addr.trim()),
            token: dir.token()?,
            http,
            own: dir.keypair()?.public(),
        })
    }

    /// Connect to the node running on `dir`, or say plainly that none runs.
    pub fn connect_running(dir: &DataDir) -> Result<ApiBackend> {
        if !dir.api_addr_file().exists() {
            bail!(
                "no node is running on {} (start it with `techmesh run --data-dir {}`)",
                dir.root.display(),
                dir.root.display()
            );
        }
        ApiBackend::connect(dir)
    }

    pub fn get_json(&self, path: &str) -> Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.base)))
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> Result<Value> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .with_context(|| format!("calling the node's API at {}", self.base))?;
        let status = resp.status();
        let body: Value = resp.json().unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "node API: {} ({status})",
                body["error"].as_str().unwrap_or("no details")
            );
        }
        Ok(body)
    }

    fn record(v: &Value) -> Result<Record> {
        let text = v["record"]
            .as_str()
            .ok_or_else(|| anyhow!("node API: a record without bytes"))?;
        let opts = VerifyOptions {
            now: crate::ingest::now(),
            max_future_skew_secs: u64::MAX / 4,
        };
        Ok(Record::verify(text.as_bytes(), &opts)?)
    }
}

impl Backend for ApiBackend {
    fn own_key(&self) -> PublicKey {
        self.own
    }

    fn publish(&self, bodies: Vec<Body>, on_signed: &dyn Fn()) -> Result<Vec<Stored>> {
        let n = bodies.len();
        let bodies: Vec<Value> = bodies.iter().map(Body::to_json).collect();
        let v = self.send(
            self.http
                .post(format!("{}/v1/publish", self.base))
                .json(&json!({"bodies": bodies})),
        )?;
        (0..n).for_each(|_| on_signed());
        Ok(serde_json::from_value(v)?)
    }

    fn ingest(&self, records: Vec<Vec<u8>>) -> Result<Vec<Stored>> {
        let records: Vec<String> = records
            .into_iter()
            .map(|r| String::from_utf8_lossy(&r).into_owned())
            .collect();
        let v = self.send(
            self.http
                .post(format!("{}/v1/ingest", self.base))
                .json(&json!({"records": records})),
        )?;
        Ok(serde_json::from_value(v)?)
    }

    fn get(&self, id: &Identity) -> Result<Option<Record>> {
        let req = self
            .http
            .get(format!("{}/v1/record", self.base))
            .query(&[("id", id.to_string())]);
        match self.send(req) {
            Ok(v) => Ok(Some(Self::record(&v)?)),
            Err(e) if e.to_string().contains("404") => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn get_by_hash(&self, hash: &RecordHash) -> Result<Option<Record>> {
        let req = self
            .http
            .get(format!("{}/v1/record", self.base))
            .query(&[("hash", hash.to_hex())]);
        match self.send(req) {
            Ok(v) => Ok(Some(Self::record(&v)?)),
            Err(e) if e.to_string().contains("404") => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn list(&self, f: &ListFilter) -> Result<Vec<Record>> {
        let mut q: Vec<(&str, String)> = vec![("all", f.include_tombstones.to_string())];
        if let Some(k) = f.kind {
            q.push(("kind", k.as_str().into()));
        }
        if let Some(p) = f.publisher {
            q.push(("publisher", p.to_hex()));
        }
        if let Some(l) = f.limit {
            q.push(("limit", l.to_string()));
        }
        let v = self.send(self.http.get(format!("{}/v1/records", self.base)).query(&q))?;
        v.as_array()
            .ok_or_else(|| anyhow!("node API: expected a list"))?
            .iter()
            .map(Self::record)
            .collect()
    }

    fn translate(&self, scheme: &str, code: &str, to: &str, depth: usize) -> Result<Value> {
        let q = [
            ("scheme", scheme.to_string()),
            ("code", code.to_string()),
            ("to", to.to_string()),
            ("depth", depth.to_string()),
        ];
        self.send(
            self.http
                .get(format!("{}/v1/translate", self.base))
                .query(&q),
        )
    }

    fn mappings(&self) -> Result<Value> {
        self.get_json("/v1/mappings")
    }

    fn search(&self, p: &crate::query::SearchParams) -> Result<Value> {
        self.send(self.http.get(format!("{}/v1/search", self.base)).query(p))
    }

    fn match_entries(&self, req: &crate::query::MatchRequest) -> Result<Value> {
        self.send(self.http.post(format!("{}/v1/match", self.base)).json(req))
    }

    fn agenda(&self, event: &str, p: &crate::query::agenda::AgendaParams) -> Result<Value> {
        let url = format!(
            "{}/v1/events/{}/agenda",
            self.base,
            event.replace('/', "%2F")
        );
        self.send(self.http.get(url).query(p))
    }

    fn withdraw(&self, id: &Identity, reason: Option<String>) -> Result<Stored> {
        let v = self.send(
            self.http
                .post(format!("{}/v1/withdraw", self.base))
                .json(&json!({"id": id.to_string(), "reason": reason})),
        )?;
        Ok(serde_json::from_value(v)?)
    }
}
