//! Test harness: real `techmesh` processes on 127.0.0.1 in temporary data dirs.
//!
//! - [`cli`] runs one CLI command and returns its status and output;
//! - [`Federation`] initialises N nodes with keys, countries and trust lists for a
//!   topology (who may connect to whom), starts them, and gives each a [`Node`]
//!   handle (HTTP API, stop, kill, restart);
//! - [`wait_until`] waits for a condition with a generous deadline, checking often:
//!   tests wait on observable events, never on fixed sleeps.

mod federation;
mod node;
mod publish;

pub use federation::{Federation, Member, Spec};
pub use node::Node;
pub use publish::{publish_until_stopped, Acked};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Generous default deadline for anything that crosses the network (loaded 2-core CI).
pub const DEADLINE: Duration = Duration::from_secs(90);

/// Path of the `techmesh` binary (`TECHMESH_BIN` if set, e.g. a release build for
/// benchmarks), building the binary of the running profile (debug for tests,
/// release for benchmarks) once if needed.
pub fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(b) = std::env::var("TECHMESH_BIN") {
            return PathBuf::from(b);
        }
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/it-xxxx → target/<profile>/techmesh
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_path_buf();
        let bin = profile_dir.join("techmesh");
        // Build the binary of the profile this test or benchmark runs under, or a
        // release benchmark would start a stale (or debug-speed) node.
        let mut args = vec!["build", "-q", "-p", "techmesh-node", "--bin", "techmesh"];
        if profile_dir.file_name().is_some_and(|d| d == "release") {
            args.push("--release");
        }
        let status = Command::new(env!("CARGO"))
            .args(&args)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building techmesh failed");
        assert!(bin.exists(), "{} missing after build", bin.display());
        bin
    })
    .clone()
}

/// Result of one CLI invocation.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Panic with the output unless the command succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "command failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Run `techmesh --data-dir DIR ARGS...`.
pub fn cli(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(bin())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running techmesh");
    Run::from(out)
}

/// Wait until `cond` holds, checking every 100 ms, up to `deadline`; panic with
/// `what` and the last observation otherwise.
pub fn wait_until<T: std::fmt::Debug>(
    what: &str,
    deadline: Duration,
    mut cond: impl FnMut() -> (bool, T),
) -> T {
    let start = Instant::now();
    loop {
        let (ok, seen) = cond();
        if ok {
            return seen;
        }
        if start.elapsed() > deadline {
            panic!(
                "timed out after {:?} waiting for {what}; last seen: {seen:?}",
                deadline
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The demo data shipped with the repo.
pub fn demo_data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/demo-data")
        .join(file)
}
