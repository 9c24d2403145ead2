//! Packing the files cargo-leptos wrote: each gets a name carrying a hash of
//! its content, a brotli copy at the highest quality and a gzip copy, and the
//! manifest names them. A changed build gets new names, so a browser may keep
//! any packed file for a year.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use app::assets::AssetNames;
use sha2::{Digest, Sha256};

use super::{MANIFEST, PKG_DIR};

/// Hex digits of the content hash kept in a name (64 bits).
const HASH_DIGITS: usize = 16;

/// Packs the script glue, the wasm module and the stylesheet under
/// `site_root/pkg` and writes the manifest; returns the new names. Running it
/// again on the same build changes nothing; files of earlier builds are removed.
pub fn pack(site_root: &Path) -> anyhow::Result<AssetNames> {
    let pkg = site_root.join(PKG_DIR);
    let previous = read_manifest(site_root);
    let plain = AssetNames::default();
    let names = AssetNames {
        js: pack_one(&pkg, &plain.js, previous.as_ref().map(|p| p.js.as_str()))?,
        wasm: pack_one(&pkg, &plain.wasm, previous.as_ref().map(|p| p.wasm.as_str()))?,
        css: pack_one(&pkg, &plain.css, previous.as_ref().map(|p| p.css.as_str()))?,
    };
    remove_stale(&pkg, &names)?;
    let manifest = serde_json::to_vec_pretty(&names)?;
    write_atomically(&site_root.join(MANIFEST), &manifest)?;
    Ok(names)
}

/// The manifest of an earlier pack, if there is one.
pub(super) fn read_manifest(site_root: &Path) -> Option<AssetNames> {
    let text = fs::read(site_root.join(MANIFEST)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Packs `plain` (as cargo-leptos named it) and returns its hashed name. When
/// the build did not write `plain` again, the earlier pack's file stands.
fn pack_one(pkg: &Path, plain: &str, previous: Option<&str>) -> anyhow::Result<String> {
    let source = pkg.join(plain);
    let content = match fs::read(&source) {
        Ok(content) => content,
        Err(_) => match previous.filter(|name| pkg.join(name).is_file()) {
            Some(name) => return Ok(name.to_owned()),
            None => bail!("{} is missing: build the front end first (cargo leptos build --release)", source.display()),
        },
    };
    let name = hashed_name(plain, &content);
    let target = pkg.join(&name);
    write_atomically(&with_suffix(&target, ".br"), &brotli_best(&content)?)?;
    write_atomically(&with_suffix(&target, ".gz"), &gzip_best(&content)?)?;
    write_atomically(&target, &content)?;
    fs::remove_file(&source).with_context(|| format!("removing {}", source.display()))?;
    Ok(name)
}

/// `railyard.wasm` with content `content` becomes `railyard.<hash>.wasm`.
pub(super) fn hashed_name(plain: &str, content: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(content));
    let hash = &digest[..HASH_DIGITS];
    match plain.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
        None => format!("{plain}.{hash}"),
    }
}

/// Whether `file` is a packed file (or its compressed copy) of the same kind as `plain`.
fn is_packed_kind(file: &str, plain: &str) -> bool {
    let Some((stem, extension)) = plain.rsplit_once('.') else { return false };
    let file = file.strip_suffix(".br").or_else(|| file.strip_suffix(".gz")).unwrap_or(file);
    file.strip_prefix(stem)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(extension))
        .and_then(|rest| rest.strip_suffix('.'))
        .is_some_and(|hash| hash.len() == HASH_DIGITS && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Removes packed files of earlier builds.
fn remove_stale(pkg: &Path, current: &AssetNames) -> anyhow::Result<()> {
    let plain = AssetNames::default();
    for entry in fs::read_dir(pkg).with_context(|| format!("reading {}", pkg.display()))? {
        let entry = entry?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let kept = current
            .all()
            .iter()
            .any(|name| file.strip_prefix(*name).is_some_and(|rest| ["", ".br", ".gz"].contains(&rest)));
        if !kept && plain.all().iter().any(|plain| is_packed_kind(&file, plain)) {
            fs::remove_file(entry.path()).with_context(|| format!("removing {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Brotli at quality 11 with the largest window: slow, once, at build time.
fn brotli_best(content: &[u8]) -> anyhow::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 24, ..Default::default() };
    let mut output = Vec::with_capacity(content.len() / 4);
    brotli::BrotliCompress(&mut &content[..], &mut output, &params).context("brotli compression")?;
    Ok(output)
}

/// Gzip at its best compression.
fn gzip_best(content: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(content)?;
    Ok(encoder.finish()?)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes beside `path` and renames, so a server reading meanwhile sees the whole old file or the whole new one.
fn write_atomically(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    let temporary = with_suffix(path, ".partial");
    fs::write(&temporary, content).with_context(|| format!("writing {}", temporary.display()))?;
    fs::rename(&temporary, path).with_context(|| format!("renaming {} into place", temporary.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_with(js: &str, wasm: &[u8], css: &str) -> tempfile::TempDir {
        let site = tempfile::tempdir().expect("temp dir");
        let pkg = site.path().join(PKG_DIR);
        fs::create_dir_all(&pkg).expect("pkg dir");
        fs::write(pkg.join("railyard.js"), js).expect("js");
        fs::write(pkg.join("railyard.wasm"), wasm).expect("wasm");
        fs::write(pkg.join("railyard.css"), css).expect("css");
        site
    }

    fn files(site: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(site.join(PKG_DIR))
            .expect("pkg")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn packing_names_files_by_content_and_writes_compressed_copies_that_decompress_to_them() {
        let site = site_with("export default 1;", b"\0asm wasm bytes", "body { margin: 0 }");
        let names = pack(site.path()).expect("packs");
        assert!(names.wasm.starts_with("railyard.") && names.wasm.ends_with(".wasm"), "{names:?}");
        assert_ne!(names, AssetNames::default());
        let wasm = fs::read(site.path().join(PKG_DIR).join(&names.wasm)).expect("packed wasm");
        assert_eq!(wasm, b"\0asm wasm bytes");
        let brotli = fs::read(site.path().join(PKG_DIR).join(format!("{}.br", names.wasm))).expect("br copy");
        let mut unpacked = Vec::new();
        brotli::BrotliDecompress(&mut &brotli[..], &mut unpacked).expect("valid brotli");
        assert_eq!(unpacked, wasm);
        let gzip = fs::read(site.path().join(PKG_DIR).join(format!("{}.gz", names.css))).expect("gz copy");
        let mut unpacked = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzip[..]), &mut unpacked).expect("valid gzip");
        assert_eq!(unpacked, "body { margin: 0 }");
        assert_eq!(read_manifest(site.path()), Some(names.clone()));
        assert!(!files(site.path()).contains(&"railyard.wasm".to_owned()), "the plain name is gone");
    }

    #[test]
    fn a_changed_build_gets_new_names_and_the_old_files_go() {
        let site = site_with("a", b"wasm one", "c");
        let first = pack(site.path()).expect("first pack");
        let pkg = site.path().join(PKG_DIR);
        fs::write(pkg.join("railyard.js"), "a").expect("js");
        fs::write(pkg.join("railyard.wasm"), b"wasm two").expect("wasm");
        fs::write(pkg.join("railyard.css"), "c").expect("css");
        let second = pack(site.path()).expect("second pack");
        assert_ne!(first.wasm, second.wasm, "new content, new name");
        assert_eq!(first.js, second.js, "same content, same name");
        let left = files(site.path());
        assert!(!left.iter().any(|file| file.starts_with(&first.wasm)), "old wasm removed: {left:?}");
        assert_eq!(left.len(), 9, "three files with two copies each: {left:?}");
    }

    #[test]
    fn packing_again_without_a_new_build_keeps_the_packed_files() {
        let site = site_with("a", b"b", "c");
        let first = pack(site.path()).expect("first pack");
        assert_eq!(pack(site.path()).expect("second pack"), first);
    }

    #[test]
    fn packing_before_any_build_says_what_to_do() {
        let site = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(site.path().join(PKG_DIR)).expect("pkg");
        let error = pack(site.path()).expect_err("nothing to pack").to_string();
        assert!(error.contains("build the front end first"), "{error}");
    }

    #[test]
    fn only_files_of_a_known_kind_with_a_full_hash_count_as_packed() {
        assert!(is_packed_kind("railyard.0123456789abcdef.wasm.br", "railyard.wasm"));
        assert!(!is_packed_kind("railyard.0123.wasm", "railyard.wasm"));
        assert!(!is_packed_kind("other.0123456789abcdef.wasm", "railyard.wasm"));
        assert!(!is_packed_kind("railyard.0123456789abcdef.js", "railyard.wasm"));
    }
}
