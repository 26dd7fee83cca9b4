//! The console's files, embedded at build time from `node/assets/console/`, with
//! their content types and ETags (a hash of the bytes and the node's version).

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// Path under `/console/` (and under `node/assets/console/`).
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $ty:expr) => {
        Asset {
            name: $name,
            content_type: $ty,
            bytes: include_bytes!(concat!("../../assets/console/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the console.
pub static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("i18n.js", JS),
    asset!("ui.js", JS),
    asset!("data.js", JS),
    asset!("pages/search.js", JS),
    asset!("pages/entry.js", JS),
    asset!("pages/match.js", JS),
    asset!("pages/events.js", JS),
    asset!("pages/admin.js", JS),
];

pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

impl Asset {
    /// A strong ETag of the bytes (plus `variant`, for pages rewritten per bind).
    pub fn etag_for(&self, variant: &str) -> String {
        static TAGS: OnceLock<Vec<String>> = OnceLock::new();
        let tags = TAGS.get_or_init(|| {
            ASSETS
                .iter()
                .map(|a| {
                    let mut h = Sha256::new();
                    h.update(env!("CARGO_PKG_VERSION").as_bytes());
                    h.update(a.bytes);
                    hex::encode(&h.finalize()[..12])
                })
                .collect()
        });
        let i = ASSETS
            .iter()
            .position(|a| std::ptr::eq(a, self))
            .expect("an asset of the table");
        if variant.is_empty() {
            format!("\"{}\"", tags[i])
        } else {
            format!("\"{}-{variant}\"", tags[i])
        }
    }
}
