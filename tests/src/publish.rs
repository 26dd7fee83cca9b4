//! Publishing through a node's API until told to stop: the load the crash test and
//! the crash benchmark put on a node they then kill.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

/// One publish the API acknowledged (HTTP 200): what it answered.
#[derive(Clone, Debug)]
pub struct Acked {
    pub id: String,
    pub hash: String,
    pub seq: u64,
}

/// Publishes one entry body at a time (`body(i)` for i = 0, 1, …) to
/// `http://{api}/v1/publish` until `stop` is set or the node stops answering 200
/// (killed, shutting down); calls `on_ack` with every acknowledged publish.
pub fn publish_until_stopped(
    api: &str,
    token: &str,
    timeout: Duration,
    stop: &AtomicBool,
    mut body: impl FnMut(usize) -> Value,
    mut on_ack: impl FnMut(Acked),
) {
    let http = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .expect("http client");
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(resp) = http
            .post(format!("http://{api}/v1/publish"))
            .bearer_auth(token)
            .json(&json!({"bodies": [body(i)]}))
            .send()
        else {
            return; // the node was killed
        };
        if resp.status().as_u16() != 200 {
            return;
        }
        let Ok(v) = resp.json::<Value>() else { return };
        let s = &v[0];
        on_ack(Acked {
            id: s["id"].as_str().unwrap_or_default().to_string(),
            hash: s["hash"].as_str().unwrap_or_default().to_string(),
            seq: s["seq"].as_u64().unwrap_or(0),
        });
    }
}
