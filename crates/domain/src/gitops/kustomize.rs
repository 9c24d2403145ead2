//! The kustomize edit: in an overlay's `kustomization.yaml`, Railyard owns
//! the `images:` entry of each service's image and nothing else. The block
//! is rewritten in place, so the resources, patches and comments a person
//! wrote stay exactly as they were.

use yaml_rust2::Yaml;

use super::Image;
use crate::yaml::{self, EditError};

/// `existing` (the overlay at `path`) with `image` pinned by digest in `images:`.
/// An overlay must exist: Railyard does not guess its resources.
pub fn set_image(path: &str, existing: Option<&str>, image: &Image) -> Result<String, EditError> {
    let text = existing.ok_or_else(|| {
        EditError::new(path, "does not exist: write the overlay (its `resources:`) first; Railyard sets its `images:`")
    })?;
    let document = yaml::load_mapping(path, text)?;
    if let Some(kind) = document.get(&yaml::key("kind")) {
        if kind.as_str() != Some("Kustomization") {
            return Err(EditError::new(path, "is not a Kustomization"));
        }
    }
    let mut images = match document.get(&yaml::key("images")) {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Array(images)) => images.clone(),
        Some(_) => return Err(EditError::new(path, "`images:` is not a list")),
    };
    let entry = yaml::mapping([
        ("name", yaml::text(&image.name)),
        ("newName", yaml::text(&image.repository)),
        ("digest", yaml::text(&image.digest)),
    ]);
    match images.iter_mut().find(|i| i["name"].as_str() == Some(image.name.as_str())) {
        Some(found) => *found = entry,
        None => images.push(entry),
    }
    let block = yaml::dump(&yaml::mapping([("images", Yaml::Array(images.clone()))]));
    let spliced = splice_top_level(text, "images", &block);
    // The splice keeps a person's formatting; whatever it cannot place safely is written out whole.
    let mut expected = document;
    expected.replace(yaml::key("images"), Yaml::Array(images));
    match yaml::load_mapping(path, &spliced) {
        Ok(read) if read == expected => Ok(spliced),
        _ => Ok(yaml::dump(&Yaml::Hash(expected))),
    }
}

/// `text` with the top-level `key:` block replaced by `block` (or `block` appended).
fn splice_top_level(text: &str, key: &str, block: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let starts_key = |line: &str| {
        let line = line.trim_end();
        [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")]
            .iter()
            .any(|k| line.strip_prefix(k.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '#'])))
    };
    let Some(start) = lines.iter().position(|line| starts_key(line)) else {
        let separator = if text.is_empty() || text.ends_with('\n') { "" } else { "\n" };
        return format!("{text}{separator}{block}");
    };
    let top_level = |line: &str| line.starts_with(|c: char| !c.is_whitespace() && c != '#' && c != '-');
    let mut end = lines[start + 1..].iter().position(|line| top_level(line)).map_or(lines.len(), |at| start + 1 + at);
    // Comments and blank lines just above the next key belong to it.
    while end > start + 1 && matches!(lines[end - 1].trim_start().chars().next(), None | Some('#')) {
        end -= 1;
    }
    let mut out: String = lines[..start].concat();
    out.push_str(block);
    out.push_str(&lines[end..].concat());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(digest: &str) -> Image {
        Image {
            name: "ghcr.io/acme/ledger".into(),
            repository: "ghcr.io/acme/ledger".into(),
            version: "1.4.2".into(),
            digest: format!("sha256:{}", digest.repeat(64)),
        }
    }

    const OVERLAY: &str = "\
# Production overlay for the ledger (written by the payments team).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../base/ledger   # the deployment and service
patches:
  - path: replicas.yaml
images:
  - name: ghcr.io/acme/ledger
    newTag: \"1.4.1\"
  - name: ghcr.io/acme/sidecar
    newTag: \"2.0\"

# Labels for every object.
commonLabels:
  team: payments
";

    #[test]
    fn the_image_is_pinned_by_digest_and_everything_else_stays_as_written() {
        let written = set_image("k.yaml", Some(OVERLAY), &image("a")).expect("edited");
        assert!(written.starts_with("# Production overlay"), "{written}");
        assert!(written.contains("  - ../../../base/ledger   # the deployment and service\n"), "{written}");
        assert!(written.contains("\n# Labels for every object.\ncommonLabels:\n  team: payments\n"), "{written}");
        let read = yaml::load_mapping("k.yaml", &written).expect("valid");
        let images = read[&yaml::key("images")].as_vec().expect("a list");
        assert_eq!(images.len(), 2, "the sidecar's entry is kept");
        assert_eq!(images[0]["newName"].as_str(), Some("ghcr.io/acme/ledger"));
        assert_eq!(images[0]["digest"].as_str(), Some(format!("sha256:{}", "a".repeat(64)).as_str()));
        assert!(images[0]["newTag"].is_badvalue(), "a mutable tag no longer decides what runs");
        assert_eq!(images[1]["newTag"].as_str(), Some("2.0"));
        let again = set_image("k.yaml", Some(&written), &image("a")).expect("edited");
        assert_eq!(again, written, "the same release writes the same bytes, so a retry commits nothing");
    }

    #[test]
    fn an_overlay_without_images_gets_the_block_appended() {
        let overlay = "resources:\n- ../base\n";
        let written = set_image("k.yaml", Some(overlay), &image("b")).expect("edited");
        assert!(written.starts_with("resources:\n- ../base\nimages:\n"), "{written}");
        assert_eq!(
            yaml::load_mapping("k.yaml", &written).expect("valid")[&yaml::key("resources")][0].as_str(),
            Some("../base")
        );
    }

    #[test]
    fn a_missing_or_foreign_file_is_refused_with_its_path() {
        let missing = set_image("clusters/eu/ledger/kustomization.yaml", None, &image("c")).expect_err("refused");
        assert!(missing.to_string().starts_with("clusters/eu/ledger/kustomization.yaml: does not exist"), "{missing}");
        let foreign = set_image("k.yaml", Some("kind: Deployment\n"), &image("c")).expect_err("refused");
        assert_eq!(foreign.problem, "is not a Kustomization");
        let odd = set_image("k.yaml", Some("images: ledger\n"), &image("c")).expect_err("refused");
        assert_eq!(odd.problem, "`images:` is not a list");
    }

    #[test]
    fn a_flow_style_images_list_is_rewritten_whole_and_still_correct() {
        let overlay = "resources: [../base]\nimages: [{name: ghcr.io/acme/ledger, newTag: old}]\n";
        let written = set_image("k.yaml", Some(overlay), &image("d")).expect("edited");
        let read = yaml::load_mapping("k.yaml", &written).expect("valid");
        assert_eq!(read[&yaml::key("images")][0]["digest"].as_str().map(str::len), Some(71));
        assert_eq!(read[&yaml::key("resources")][0].as_str(), Some("../base"));
    }
}
