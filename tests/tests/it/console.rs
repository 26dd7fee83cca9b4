//! The web console in a real headless Chromium (Debian's `chromium` driven by its
//! `chromedriver` over WebDriver, with fantoccini; `scripts/install-browser.sh`
//! installs both): a small federation with the demo data, then search in Chinese
//! and in English, an entry with its mappings and provenance, a match, an event
//! agenda and its CSV, the admin console with its token (and a wrong one), and the
//! same pages at a phone's 390×844.
//!
//! `TECHMESH_SCREENSHOTS=<dir>` with `console::screenshots` (ignored by default;
//! `scripts/screenshots.sh` runs it) writes desktop and phone PNGs of every page.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use techmesh_tests::{cli, demo_data, free_port, wait_until, Federation, Spec, DEADLINE};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Desktop and phone (iPhone 12–15 class) viewports.
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

/// One member of the demo federation: name, country, the demo files it publishes.
struct Demo {
    name: &'static str,
    country: &'static str,
    files: &'static [&'static str],
    mappings: bool,
}

const HUBEI: Demo = Demo {
    name: "hubei",
    country: "CN",
    files: &["entries-hubei.jsonl", "events.jsonl"],
    mappings: true,
};
const KENYA: Demo = Demo {
    name: "cacic-kenya",
    country: "KE",
    files: &["entries-africa.jsonl"],
    mappings: false,
};
const GUANGDONG: Demo = Demo {
    name: "guangdong",
    country: "CN",
    files: &["entries-guangdong.jsonl"],
    mappings: false,
};

/// Start a fully linked federation of `demos`, each having imported its demo
/// files before starting, and wait until node 0 holds every record.
fn demo_federation(demos: &[Demo]) -> Federation {
    let specs: Vec<Spec> = demos.iter().map(|d| Spec::new(d.name, d.country)).collect();
    let links: Vec<(usize, usize)> = (0..demos.len())
        .flat_map(|i| (i + 1..demos.len()).map(move |j| (i, j)))
        .collect();
    let mut f = Federation::init(&specs, &links);
    for (i, d) in demos.iter().enumerate() {
        let dir = f.members[i].dir.clone();
        for file in d.files {
            cli(&dir, &["import", demo_data(file).to_str().unwrap()]).ok();
        }
        if d.mappings {
            for m in [
                "mappings-gbt4754-nace2.json",
                "mappings-nace2-isic4.json",
                "mappings-ipc-wipo35.json",
            ] {
                cli(
                    &dir,
                    &["mappings", "import", demo_data(m).to_str().unwrap()],
                )
                .ok();
            }
        }
    }
    // What each member holds of its own (counted before anything is exchanged).
    let expected: u64 = f
        .members
        .iter()
        .map(|m| {
            let listed = cli(&m.dir, &["list", "--all", "--json"]).ok().stdout;
            listed.lines().filter(|l| !l.is_empty()).count() as u64
        })
        .sum();
    for i in 0..demos.len() {
        f.start_node(i);
    }
    let n0 = f.node(0);
    wait_until("node 0 holds every member's records", DEADLINE, || {
        let t = n0.total();
        (t >= expected, t)
    });
    f
}

/// chromedriver + one Chromium session; quits both when dropped.
struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: run scripts/install-browser.sh (scripts/test.sh does)"
            );
        }
        let profile = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let log = std::fs::File::create(profile.path().join("chromedriver.log")).expect("log");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting chromedriver");
        let http = reqwest::blocking::Client::new();
        let status = format!("http://127.0.0.1:{port}/status");
        wait_until("chromedriver ready", DEADLINE, || {
            let ready = http
                .get(&status)
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            (ready, ())
        });
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars", "--lang=en-US",
                    format!("--user-data-dir={}", profile.path().join("chrome").display()),
                    format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                ],
            },
        });
        let caps = caps.as_object().expect("object").clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let url = format!("http://127.0.0.1:{port}");
        let client = rt
            .block_on(async {
                let conn = hyper_util::client::legacy::connect::HttpConnector::new();
                ClientBuilder::new(conn)
                    .capabilities(caps)
                    .connect(&url)
                    .await
            })
            .unwrap_or_else(|e| panic!("starting a Chromium session via chromedriver: {e}"));
        Browser {
            rt,
            client: Some(client),
            driver,
            _profile: profile,
        }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("session open")
    }

    fn goto(&self, url: &str) {
        self.rt
            .block_on(self.c().goto(url))
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Run `expr` (a JavaScript expression) in the page; its value as JSON.
    fn js(&self, expr: &str) -> Value {
        let script = format!("try {{ return ({expr}); }} catch (e) {{ return null; }}");
        self.rt
            .block_on(self.c().execute(&script, vec![]))
            .unwrap_or_else(|e| panic!("running {expr}: {e}"))
    }

    /// Wait until `expr` is truthy (polled, generous deadline); its value.
    fn wait(&self, what: &str, expr: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.js(expr);
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
            if truthy {
                return v;
            }
            if start.elapsed() > DEADLINE {
                let main = self.js("document.getElementById('main').innerText");
                panic!("timed out waiting for {what} ({expr}); page shows:\n{main}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Text of the first element matching `css` ("" when there is none).
    fn text(&self, css: &str) -> String {
        let css = serde_json::to_string(css).unwrap();
        self.js(&format!(
            "(document.querySelector({css}) || {{innerText: ''}}).innerText"
        ))
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    fn click(&self, css: &str) {
        self.rt
            .block_on(async { self.c().find(Locator::Css(css)).await?.click().await })
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Replace the value of the input `css` by typing `text`.
    fn type_into(&self, css: &str, text: &str) {
        self.rt
            .block_on(async {
                let el = self.c().find(Locator::Css(css)).await?;
                el.clear().await?;
                el.send_keys(text).await
            })
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    fn select(&self, css: &str, value: &str) {
        self.rt
            .block_on(async {
                self.c()
                    .find(Locator::Css(css))
                    .await?
                    .select_by_value(value)
                    .await
            })
            .unwrap_or_else(|e| panic!("selecting {value} in {css}: {e}"));
    }

    /// Wait until the router finished rendering the page `page`.
    fn page_ready(&self, page: &str) {
        self.wait(
            &format!("page {page} rendered"),
            &format!("document.getElementById('main').dataset.page === '{page}' && document.getElementById('main').dataset.ready === 'yes'"),
        );
    }

    /// Make the page's viewport `w`×`h` CSS pixels (the window is larger by its
    /// frame, measured once).
    fn resize(&self, (w, h): (u32, u32)) {
        let set = |w: u32, h: u32| {
            self.rt
                .block_on(self.c().set_window_size(w, h))
                .unwrap_or_else(|e| panic!("resizing to {w}x{h}: {e}"));
        };
        set(w, h);
        let inner = self.js("[window.innerWidth, window.innerHeight]");
        let (iw, ih) = (
            inner[0].as_u64().unwrap_or(0),
            inner[1].as_u64().unwrap_or(0),
        );
        let frame_w = u32::try_from(u64::from(w).saturating_sub(iw)).unwrap_or(0);
        let frame_h = u32::try_from(u64::from(h).saturating_sub(ih)).unwrap_or(0);
        if frame_w > 0 || frame_h > 0 {
            set(w + frame_w, h + frame_h);
        }
    }

    /// Set the console's language the way a user does: the header toggle.
    fn set_lang(&self, lang: &str) {
        let nav = if lang == "zh" { "检索" } else { "Search" };
        if self.text("#nav a[data-nav=search]") != nav {
            self.click("#lang");
        }
        self.wait(
            &format!("UI in {lang}"),
            &format!("document.querySelector('#nav a[data-nav=search]').innerText === '{nav}'"),
        );
    }

    /// A screenshot of the page (up to `max_h` pixels of it) into `dir/name.png`,
    /// taken with the viewport `size`, which is restored afterwards.
    fn shot(&self, dir: &Path, name: &str, size: (u32, u32), max_h: u32) {
        let full = self
            .js("document.documentElement.scrollHeight")
            .as_u64()
            .unwrap_or(0);
        let tall = u32::try_from(full).unwrap_or(max_h).clamp(size.1, max_h);
        self.resize((size.0, tall));
        let png = self
            .rt
            .block_on(self.c().screenshot())
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        std::fs::create_dir_all(dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
        self.resize(size);
    }

    /// Does the page fit the viewport's width (no sideways scrolling)?
    fn fits_width(&self) -> bool {
        self.js("document.documentElement.scrollWidth <= window.innerWidth + 1") == json!(true)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn admin_token(f: &Federation, i: usize) -> String {
    std::fs::read_to_string(f.members[i].dir.join("admin.token"))
        .expect("admin.token")
        .trim()
        .to_string()
}

#[test]
fn search_entry_match_agenda_and_admin_in_chromium() {
    let f = demo_federation(&[HUBEI, KENYA]);
    let (n0, kenya_peer) = (f.node(0), f.members[1].peer_id.clone());
    let api = format!("http://{}", n0.api);
    let b = Browser::start();

    // Security headers on the page itself.
    let page = reqwest::blocking::get(format!("{api}/")).expect("GET /");
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");

    // Search in Chinese: the Hubei offer, its member, the signature mark.
    b.goto(&format!("{api}/#/search"));
    b.page_ready("search");
    b.set_lang("zh");
    b.type_into("#q", "储能电池");
    b.click("#search-go");
    b.wait(
        "Chinese search finds hbtx-2026-0001",
        "document.querySelector('#results li.result[data-local=\"hbtx-2026-0001\"]')",
    );
    let card = b.text("#results li.result[data-local=\"hbtx-2026-0001\"]");
    assert!(card.contains("发布方：hubei"), "{card}");
    assert!(card.contains("签名已验证"), "{card}");
    assert!(card.contains("匹配原因"), "{card}");

    // Search in English: Kenya's request (synced to this node) and a fallback mark
    // on a Chinese-only title.
    b.set_lang("en");
    b.type_into("#q", "battery storage solar mini-grids");
    b.click("#search-go");
    b.wait(
        "English search finds Kenya's request",
        "document.querySelector('#results li.result[data-local=\"cacic-2026-0101\"]')",
    );
    let card = b.text("#results li.result[data-local=\"cacic-2026-0101\"]");
    assert!(card.contains("Published by cacic-kenya"), "{card}");
    assert!(card.contains("signature verified"), "{card}");
    // The same search across the federation: the peer answered.
    b.click("#f-federated");
    b.click("#search-go");
    b.wait(
        "a federated answer naming the peer asked",
        "document.querySelector('#results .peers') && document.querySelector('#results .peers').innerText.includes('cacic-kenya: ok')",
    );
    assert!(b.text("#results").contains("Published by cacic-kenya"));
    b.click("input[name=fed][value='0']");
    b.type_into("#q", "储能电芯");
    b.click("#search-go");
    b.wait(
        "the Chinese-only title is marked as a fallback",
        "document.querySelector('#results li.result[data-local=\"hbtx-2026-0001\"] .fallback')",
    );
    assert_eq!(
        b.text("#results li.result[data-local=\"hbtx-2026-0001\"] .fallback"),
        "fallback: shown in Chinese"
    );

    // Entry: fields, mapped classifications with chains, provenance.
    b.click("#results li.result[data-local=\"hbtx-2026-0001\"] a.title");
    b.page_ready("entry");
    let id = f.id(0, "entry", "hbtx-2026-0001");
    let (_, stored) = n0.get(&format!("/v1/record?id={id}"));
    assert_eq!(b.text("#prov-hash"), stored["hash"].as_str().unwrap());
    let env: Value = serde_json::from_str(stored["record"].as_str().unwrap()).unwrap();
    assert_eq!(b.text("#prov-seq"), env["seq"].as_str().unwrap());
    assert_eq!(b.text("#prov-issued"), env["issued_at"].as_str().unwrap());
    b.wait(
        "IPC H01M mapped to a WIPO field with its chain",
        "[...document.querySelectorAll('#classes .equivs li')].some(li => li.innerText.includes('wipo35:1') && li.innerText.includes('via'))",
    );
    assert!(b.text("#fields").contains("Wh/kg"));

    // Match: pick Kenya's request, see ranked offers with explanations.
    b.goto(&format!("{api}/#/match"));
    b.page_ready("match");
    let request = f.id(1, "entry", "cacic-2026-0101");
    b.select("#match-pick", &request);
    b.click("#match-go");
    b.wait(
        "ranked offers for the request",
        "document.querySelectorAll('#match-results li.match').length > 0",
    );
    let ranked = b.text("#match-results");
    assert!(ranked.contains("#1"), "{ranked}");
    assert!(ranked.contains("Classification"), "{ranked}");
    assert!(
        b.js("!!document.querySelector('#match-results li.match[data-id$=\"/entry/hbtx-2026-0001\"]')")
            == json!(true),
        "the Hubei battery offer is among the matches: {ranked}"
    );

    // Events → agenda → CSV (fetched in the page from the link's URL).
    b.click("#nav a[data-nav=events]");
    b.page_ready("events");
    b.click("#events li.event[data-id=\"cacic-2027-matchmaking\"] a.button");
    b.page_ready("agenda");
    let meetings = b.wait(
        "agenda meetings",
        "Number(document.getElementById('agenda-count').dataset.meetings)",
    );
    let link = b.js("document.getElementById('agenda-csv').getAttribute('href')");
    let link = link.as_str().expect("CSV link").to_string();
    assert_eq!(
        b.js("document.getElementById('agenda-csv').getAttribute('download')"),
        json!("agenda-cacic-2027-matchmaking.csv")
    );
    let csv = b
        .rt
        .block_on(b.c().execute_async(
            "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text().then(t => done([r.status, r.headers.get('content-type'), t]))).catch(e => done([0, '', String(e)]));",
            vec![json!(link)],
        ))
        .expect("fetching the CSV in the page");
    assert_eq!(csv[0], 200, "{csv}");
    assert!(csv[1].as_str().unwrap().starts_with("text/csv"), "{csv}");
    let text = csv[2].as_str().unwrap();
    assert_eq!(
        text.lines().filter(|l| !l.is_empty()).count() as u64,
        meetings.as_u64().unwrap() + 1,
        "header + one line per meeting:\n{text}"
    );

    // The public bind explains where the admin console is.
    b.goto(&format!("{api}/#/admin"));
    b.page_ready("admin");
    assert!(b.text("#admin-elsewhere").contains("DATA/admin.addr"));

    // The admin bind: log in with the token, see the peer and its sync state.
    let admin = format!("http://{}", n0.admin);
    b.goto(&format!("{admin}/#/admin"));
    b.page_ready("admin");
    b.type_into("#admin-token", &admin_token(&f, 0));
    b.click("#admin-go");
    b.wait(
        "the admin console shows Kenya's peer",
        "document.querySelector('#admin-peers') && document.querySelector('#admin-peers').innerText.includes('cacic-kenya')",
    );
    let peers = b.text("#admin-peers");
    assert!(peers.contains(&kenya_peer[..12]), "{peers}");
    assert!(b.text("#admin-members").contains("cacic-kenya"));
    assert!(b.text("#admin-mappings").contains("ipc → wipo35"));
    b.wait(
        "activity chart with accepted records",
        "document.querySelectorAll('#admin-activity svg rect.acc').length > 0",
    );
    assert_eq!(
        b.text("#records-total"),
        n0.total().to_string(),
        "record count from /v1/status"
    );

    // A phone: the same console fits 390 px and still searches.
    b.resize(PHONE);
    b.goto(&format!("{api}/#/search?q=solar"));
    b.page_ready("search");
    b.wait(
        "phone search results",
        "document.querySelectorAll('#results li.result').length > 0",
    );
    assert!(b.fits_width(), "the search page scrolls sideways at 390 px");
    b.goto(&format!("{api}/#/entry/{}", id.replace('/', "%2F")));
    b.page_ready("entry");
    assert!(b.fits_width(), "the entry page scrolls sideways at 390 px");
}

#[test]
fn admin_console_refuses_a_wrong_token() {
    let f = demo_federation(&[HUBEI, KENYA]);
    let n0 = f.node(0);
    let b = Browser::start();
    b.goto(&format!("http://{}/#/admin", n0.admin));
    b.page_ready("admin");
    b.set_lang("en");
    b.type_into("#admin-token", "0123456789abcdef-not-the-token");
    b.click("#admin-go");
    b.page_ready("admin");
    let err = b.wait(
        "the refusal",
        "document.getElementById('admin-error') && document.getElementById('admin-error').innerText",
    );
    assert!(err.as_str().unwrap().contains("401"), "{err}");
    for hidden in [
        "#admin-peers",
        "#admin-members",
        "#admin-audit",
        "#admin-activity",
    ] {
        assert_eq!(
            b.js(&format!("!!document.querySelector('{hidden}')")),
            json!(false),
            "{hidden} shown after a wrong token"
        );
    }
    assert_eq!(
        b.js("sessionStorage.getItem('techmesh.admin.token')"),
        Value::Null,
        "a refused token is not kept"
    );
    // The refusal is in the node's audit log.
    let admin = format!("http://{}", n0.admin);
    let audit: Value = reqwest::blocking::Client::new()
        .get(format!("{admin}/admin/v1/audit"))
        .bearer_auth(admin_token(&f, 0))
        .send()
        .and_then(|r| r.json())
        .expect("audit log");
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "wrong-token" && e["result"] == "refused"),
        "{audit}"
    );
}

/// Desktop and phone screenshots of every page into `$TECHMESH_SCREENSHOTS`
/// (scripts/screenshots.sh), with a three-member demo federation.
#[test]
#[ignore = "writes docs/screenshots; run by scripts/screenshots.sh"]
fn screenshots() {
    let dir = PathBuf::from(
        std::env::var("TECHMESH_SCREENSHOTS").expect("TECHMESH_SCREENSHOTS=<dir> for the PNGs"),
    );
    let f = demo_federation(&[HUBEI, KENYA, GUANGDONG]);
    let n0 = f.node(0);
    let api = format!("http://{}", n0.api);
    let admin = format!("http://{}", n0.admin);
    let entry = f.id(0, "entry", "hbtx-2026-0001").replace('/', "%2F");
    let request = f.id(1, "entry", "cacic-2026-0101").replace('/', "%2F");
    let b = Browser::start();
    for (size, suffix, max_h) in [(DESKTOP, "desktop", 1500), (PHONE, "phone", 1400)] {
        b.resize(size);
        for (lang, name, url, page, ready) in [
            (
                "zh",
                "search-zh",
                format!("{api}/#/search?q=%E9%94%82%E7%94%B5%E6%B1%A0"),
                "search",
                "document.querySelectorAll('#results li.result').length > 0",
            ),
            (
                "en",
                "search-en",
                format!("{api}/#/search?q=solar&type=request&fed=1"),
                "search",
                "document.querySelectorAll('#results li.result').length > 0",
            ),
            (
                "en",
                "entry",
                format!("{api}/#/entry/{entry}?member=hubei"),
                "entry",
                "document.querySelector('#classes .equivs')",
            ),
            (
                "en",
                "match",
                format!("{api}/#/match?id={request}"),
                "match",
                "document.querySelectorAll('#match-results li.match').length > 0",
            ),
            (
                "zh",
                "events",
                format!("{api}/#/events"),
                "events",
                "document.querySelectorAll('#events li.event').length > 0",
            ),
            (
                "en",
                "agenda",
                format!("{api}/#/agenda/cacic-2027-matchmaking"),
                "agenda",
                "document.getElementById('agenda-count')",
            ),
        ] {
            b.goto(&url);
            b.page_ready(page);
            b.set_lang(lang);
            b.page_ready(page);
            b.wait(name, ready);
            b.shot(&dir, &format!("{name}-{suffix}"), size, max_h);
        }
        b.goto(&format!("{admin}/#/admin"));
        b.page_ready("admin");
        b.set_lang("en");
        if b.js("!!document.getElementById('admin-token')") == json!(true) {
            b.type_into("#admin-token", &admin_token(&f, 0));
            b.click("#admin-go");
        }
        b.wait(
            "admin console",
            "document.querySelector('#admin-peers') && document.querySelectorAll('#admin-activity svg rect').length > 0",
        );
        b.shot(&dir, &format!("admin-{suffix}"), size, max_h);
    }
}
