//! The built front end as browsers fetch it: content-hashed names in the
//! HTML, the precompressed copy the browser accepts, a year in any cache;
//! pages and JSON compressed on the fly and kept out of every cache.

use std::io::Read;
use std::path::Path;

use app::assets::AssetNames;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, COOKIE, ETAG, IF_NONE_MATCH, VARY,
};

use crate::helpers::{spawn_app_with, Backend, TestApp};

/// A site as cargo-leptos leaves it: big enough files that compression pays.
fn built_site(dir: &Path, version: &str) {
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg dir");
    let js = format!("// glue {version}\n{}", "export function hydrate() { return wasm.hydrate(); }\n".repeat(200));
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend(format!("module {version} ").repeat(2000).bytes());
    let css =
        format!("/* {version} */\n{}", ".train { display: grid; border-left: 4px solid var(--domain); }\n".repeat(200));
    std::fs::write(pkg.join("railyard.js"), js).expect("js");
    std::fs::write(pkg.join("railyard.wasm"), wasm).expect("wasm");
    std::fs::write(pkg.join("railyard.css"), css).expect("css");
    std::fs::write(dir.join("favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").expect("favicon");
}

async fn app_serving(site: &Path) -> TestApp {
    let root = site.to_path_buf();
    spawn_app_with(Backend::Sqlite, false, move |settings| settings.site_root = root).await
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).expect("a valid brotli body");
    out
}

fn ungzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("a valid gzip body");
    out
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response.headers().get(name).map(|v| v.to_str().expect("text").to_owned()).unwrap_or_default()
}

/// GET `path` anonymously with `Accept-Encoding: accept` (none when empty).
async fn fetch(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    let mut request = app.anonymous.get(format!("{}{path}", app.address));
    if !accept.is_empty() {
        request = request.header(ACCEPT_ENCODING, accept);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn each_built_file_is_served_as_the_copy_the_browser_accepts_and_cached_for_a_year() {
    let site = tempfile::tempdir().expect("site");
    built_site(site.path(), "one");
    let pkg = site.path().join("pkg");
    let originals: Vec<Vec<u8>> = ["railyard.js", "railyard.wasm", "railyard.css"]
        .iter()
        .map(|name| std::fs::read(pkg.join(name)).expect("built file"))
        .collect();
    let names = server::assets::pack(site.path()).expect("packs");
    let app = app_serving(site.path()).await;
    let types = ["text/javascript", "application/wasm", "text/css"];
    for ((name, original), kind) in names.all().iter().zip(&originals).zip(types) {
        let path = format!("/pkg/{name}");
        let response = fetch(&app, &path, "br, gzip").await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, CONTENT_ENCODING), "br", "{path} asked for br");
        assert_eq!(header(&response, CACHE_CONTROL), "public, max-age=31536000, immutable", "{path}");
        assert!(header(&response, VARY).to_lowercase().contains("accept-encoding"), "{path} varies by encoding");
        assert!(header(&response, CONTENT_TYPE).starts_with(kind), "{path}: {}", header(&response, CONTENT_TYPE));
        let body = response.bytes().await.expect("body");
        assert!(body.len() < original.len() / 3, "{path}: {} bytes on the wire for {}", body.len(), original.len());
        assert_eq!(&unbrotli(&body), original, "{path} decompresses to the built file");

        let response = fetch(&app, &path, "gzip").await;
        assert_eq!(header(&response, CONTENT_ENCODING), "gzip", "{path} asked only for gzip");
        assert_eq!(header(&response, CACHE_CONTROL), "public, max-age=31536000, immutable");
        assert_eq!(&ungzip(&response.bytes().await.expect("body")), original);

        for accept in ["", "identity"] {
            let response = fetch(&app, &path, accept).await;
            assert_eq!(header(&response, CONTENT_ENCODING), "", "{path} with Accept-Encoding {accept:?}");
            assert_eq!(header(&response, CACHE_CONTROL), "public, max-age=31536000, immutable");
            assert_eq!(&response.bytes().await.expect("body")[..], &original[..]);
        }
    }
    let response = fetch(&app, "/pkg/railyard.wasm", "br").await;
    assert_eq!(response.status(), 404, "the plain name is gone once packed");
    assert!(!header(&response, CACHE_CONTROL).contains("immutable"), "a miss is never cached for a year");

    let favicon = fetch(&app, "/favicon.svg", "").await;
    assert_eq!(favicon.status(), 200);
    assert_eq!(header(&favicon, CACHE_CONTROL), "public, max-age=86400");
}

#[tokio::test]
async fn pages_load_the_hashed_names_and_a_changed_build_changes_them() {
    let site = tempfile::tempdir().expect("site");
    built_site(site.path(), "one");
    let first = server::assets::pack(site.path()).expect("packs");
    built_site(site.path(), "two");
    let second = server::assets::pack(site.path()).expect("packs again");
    assert_ne!(first.js, second.js);
    assert_ne!(first.wasm, second.wasm);
    assert_ne!(first.css, second.css);
    let app = app_serving(site.path()).await;
    let response = fetch(&app, "/login", "").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("html");
    for name in second.all() {
        assert!(html.contains(&format!("/pkg/{name}")), "the page loads {name}");
    }
    for name in first.all().into_iter().chain(AssetNames::default().all()) {
        assert!(!html.contains(&format!("/pkg/{name}\"")), "no page loads {name}");
    }
    assert_eq!(fetch(&app, &format!("/pkg/{}", first.wasm), "").await.status(), 404, "the old build is gone");
    assert_eq!(fetch(&app, &format!("/pkg/{}", second.wasm), "").await.status(), 200);
}

#[tokio::test]
async fn a_build_that_was_not_packed_is_served_under_its_plain_names_and_revalidated() {
    let site = tempfile::tempdir().expect("site");
    built_site(site.path(), "plain");
    let app = app_serving(site.path()).await;
    let html = fetch(&app, "/login", "").await.text().await.expect("html");
    assert!(html.contains("/pkg/railyard.wasm") && html.contains("/pkg/railyard.css"), "plain names");
    let response = fetch(&app, "/pkg/railyard.css", "").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache", "a plain name may change under the same URL");
}

#[tokio::test]
async fn pages_and_json_are_compressed_on_the_fly_and_kept_out_of_shared_caches() {
    let site = tempfile::tempdir().expect("site");
    built_site(site.path(), "one");
    server::assets::pack(site.path()).expect("packs");
    let app = app_serving(site.path()).await;
    let signed_in = |path: &str, accept: &str| {
        app.anonymous
            .get(format!("{}{path}", app.address))
            .header(COOKIE, &app.admin_cookie)
            .header(ACCEPT_ENCODING, accept)
    };

    let page = signed_in("/", "br, gzip").send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, CONTENT_ENCODING), "br");
    assert_eq!(header(&page, CACHE_CONTROL), "private, no-store", "a signed-in page stays out of every cache");
    let html = String::from_utf8(unbrotli(&page.bytes().await.expect("body"))).expect("utf-8");
    assert!(html.contains("Railyard") && html.contains("</html>"), "the whole page arrives");

    let me = signed_in("/api/v1/me", "gzip").send().await.expect("me");
    assert_eq!(me.status(), 200);
    assert_eq!(header(&me, CACHE_CONTROL), "private, no-store");
    let me: serde_json::Value = serde_json::from_slice(&ungzip(&me.bytes().await.expect("body"))).expect("json");
    assert_eq!(me["name"], "admin");

    let login = fetch(&app, "/login", "gzip").await;
    assert_eq!(header(&login, CONTENT_ENCODING), "gzip", "the sign-in page too");
    assert_eq!(header(&login, CACHE_CONTROL), "private, no-store");

    // Listings keep their validators when compressed.
    let path = "/api/v1/trains?from=2026-11-01&to=2026-12-01";
    let listing = signed_in(path, "br").send().await.expect("listing");
    assert_eq!(listing.status(), 200);
    assert_eq!(header(&listing, CACHE_CONTROL), "private, no-store");
    let etag = header(&listing, ETAG);
    assert!(!etag.is_empty(), "listings carry an ETag");
    let again = signed_in(path, "br").header(IF_NONE_MATCH, &etag).send().await.expect("revalidation");
    assert_eq!(again.status(), 304, "an unchanged listing answers 304");

    let probe = fetch(&app, "/healthz", "br").await;
    assert_eq!(probe.status(), 200, "probes answer as before");
}
