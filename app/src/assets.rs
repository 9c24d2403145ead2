//! The front end's built files as the HTML names them: content-hashed
//! names once the build has packed them, the plain names otherwise.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where the built files are served from.
pub const PKG_PATH: &str = "/pkg";

/// The file names (inside [`PKG_PATH`]) of the script glue, the wasm module and the stylesheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetNames {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

impl Default for AssetNames {
    /// The names cargo-leptos writes before packing.
    fn default() -> Self {
        Self { js: "railyard.js".to_owned(), wasm: "railyard.wasm".to_owned(), css: "railyard.css".to_owned() }
    }
}

impl AssetNames {
    /// Every name, for the server's cache policy.
    pub fn all(&self) -> [&str; 3] {
        [&self.js, &self.wasm, &self.css]
    }
}

/// The stylesheet and the hydration scripts for the `<head>`. The page is
/// readable before the script runs, so the script and the wasm are fetched
/// at low priority (the stylesheet and the text come first) and hydration
/// starts when the browser is idle.
#[component]
pub fn AssetLinks(assets: AssetNames) -> impl IntoView {
    let nonce = use_nonce();
    let js = format!("{PKG_PATH}/{}", assets.js);
    let wasm = format!("{PKG_PATH}/{}", assets.wasm);
    let start = format!(
        "(() => {{ const start = () => import({js:?}).then(m => m.default({{ module_or_path: {wasm:?} }}).then(() => m.hydrate())); \
         if ('requestIdleCallback' in window) {{ requestIdleCallback(start, {{ timeout: 1500 }}); }} else {{ setTimeout(start, 0); }} }})();"
    );
    view! {
        <link rel="stylesheet" id="railyard" href=format!("{PKG_PATH}/{}", assets.css)/>
        <link rel="modulepreload" href=js crossorigin="anonymous" fetchpriority="low"/>
        <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin="anonymous" fetchpriority="low"/>
        <script type="module" nonce=nonce>
            {start}
        </script>
    }
}
