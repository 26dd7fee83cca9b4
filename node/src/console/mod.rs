//! The web console: a small single-page app (plain HTML, CSS and ES modules, no
//! build step) embedded in the binary from `node/assets/console/` and served at `/`
//! (the page) and `/console/{file}` (its assets), so an exchange can run it
//! offline. It talks to the node only through the JSON API of the same origin.
//!
//! Served on the public API bind and on the admin bind (where its Admin page can
//! use the admin API same-origin). Every answer carries a Content-Security-Policy
//! of `default-src 'self'`; assets are revalidated by ETag (`Cache-Control:
//! no-cache` + `If-None-Match` → 304), so an upgraded node never serves stale code.

mod assets;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use assets::{Asset, ASSETS};

/// Which listener serves the page: the Admin page of the public bind only says
/// where the admin console is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    Public,
    Admin,
}

impl Bind {
    fn as_str(self) -> &'static str {
        match self {
            Bind::Public => "public",
            Bind::Admin => "admin",
        }
    }
}

/// The policy: only this origin, no framing, no plugins.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Placeholder in index.html replaced by the bind's name.
const BIND_PLACEHOLDER: &str = "__TECHMESH_BIND__";

/// The console's routes (stateless; merge into an API router).
pub fn router(bind: Bind) -> Router {
    Router::new()
        .route("/", get(move |h: HeaderMap| async move { index(bind, &h) }))
        .route(
            "/index.html",
            get(move |h: HeaderMap| async move { index(bind, &h) }),
        )
        .route(
            "/console/{*file}",
            get(|Path(file): Path<String>, h: HeaderMap| async move { asset(&file, &h) }),
        )
}

fn index(bind: Bind, h: &HeaderMap) -> Response {
    let page = assets::find("index.html").expect("index.html is embedded");
    let text = String::from_utf8_lossy(page.bytes).replace(BIND_PLACEHOLDER, bind.as_str());
    respond(
        page.content_type,
        &page.etag_for(bind.as_str()),
        text.into_bytes(),
        h,
    )
}

fn asset(file: &str, h: &HeaderMap) -> Response {
    match assets::find(file) {
        Some(a) => respond(a.content_type, &a.etag_for(""), a.bytes.to_vec(), h),
        None => with_security(
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("no console asset {file:?}"),
            )
                .into_response(),
        ),
    }
}

fn respond(content_type: &'static str, etag: &str, body: Vec<u8>, h: &HeaderMap) -> Response {
    let fresh = h
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let hs = r.headers_mut();
    hs.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        hs.insert(header::ETAG, v);
    }
    with_security(r)
}

fn with_security(mut r: Response) -> Response {
    let hs = r.headers_mut();
    hs.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    hs.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    hs.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GET `path` from a real listener serving the console of `bind`.
    async fn get(bind: Bind, path: &str, etag: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, router(bind)).await });
        let mut req = reqwest::Client::new().get(format!("http://{addr}{path}"));
        if let Some(e) = etag {
            req = req.header(header::IF_NONE_MATCH, e);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.text().await.unwrap();
        server.abort();
        (status, headers, body)
    }

    #[tokio::test]
    async fn serves_the_page_and_assets_with_types_csp_and_etags() {
        let (s, h, body) = get(Bind::Admin, "/", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'"));
        assert!(body.contains(r#"content="admin""#), "{body}");
        assert!(!body.contains(BIND_PLACEHOLDER));
        let (_, hp, public) = get(Bind::Public, "/", None).await;
        assert!(public.contains(r#"content="public""#));
        assert_ne!(h[header::ETAG], hp[header::ETAG]);

        for a in ASSETS {
            let (s, h, _) = get(Bind::Public, &format!("/console/{}", a.name), None).await;
            assert_eq!(s, StatusCode::OK, "{}", a.name);
            assert_eq!(h[header::CONTENT_TYPE], a.content_type, "{}", a.name);
            let etag = h[header::ETAG].to_str().unwrap().to_string();
            let (s, _, body) =
                get(Bind::Public, &format!("/console/{}", a.name), Some(&etag)).await;
            assert_eq!(s, StatusCode::NOT_MODIFIED, "{}", a.name);
            assert!(body.is_empty());
        }
        let js = ASSETS.iter().find(|a| a.name == "app.js").unwrap();
        assert_eq!(js.content_type, "text/javascript; charset=utf-8");

        let (s, h, body) = get(Bind::Public, "/console/..%2FCargo.toml", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
        assert!(h.contains_key(header::CONTENT_SECURITY_POLICY));
    }
}
