//! The Helm edit: a values file Railyard owns (layered after the chart's
//! own values by the Argo CD Application or Flux HelmRelease) with the
//! image's repository, tag and digest under the configured keys. Other keys
//! in the file are kept.

use serde::{Deserialize, Serialize};
use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

use super::Image;
use crate::yaml::{self, EditError};

/// Where in the values the image goes; dotted paths, empty to leave one out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelmKeys {
    pub repository: String,
    pub tag: String,
    pub digest: String,
}

impl Default for HelmKeys {
    fn default() -> Self {
        Self { repository: "image.repository".into(), tag: "image.tag".into(), digest: "image.digest".into() }
    }
}

impl HelmKeys {
    /// Checks each key is a dotted path of plain names.
    pub fn check(&self) -> Result<(), String> {
        for key in [&self.repository, &self.tag, &self.digest] {
            let plain = |part: &str| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            };
            if !key.is_empty() && !key.split('.').all(plain) {
                return Err(format!("\"{key}\" is not a dotted values path like \"image.tag\""));
            }
        }
        if self.digest.is_empty() && self.tag.is_empty() {
            return Err("set `tag_key` or `digest_key`: the values must say which build runs".into());
        }
        Ok(())
    }
}

const HEADER: &str = "# Managed by Railyard: each release sets the image below. Other keys are kept.\n";

/// `existing` (or a new file) with the image set under `keys`.
pub fn set_values(path: &str, existing: Option<&str>, keys: &HelmKeys, image: &Image) -> Result<String, EditError> {
    let mut values = match existing {
        Some(text) => yaml::load_mapping(path, text)?,
        None => Hash::new(),
    };
    for (key, value) in
        [(&keys.repository, &image.repository), (&keys.tag, &image.version), (&keys.digest, &image.digest)]
    {
        if !key.is_empty() {
            set(&mut values, key, value).map_err(|problem| EditError::new(path, problem))?;
        }
    }
    Ok(format!("{HEADER}{}", yaml::dump(&Yaml::Hash(values))))
}

/// Sets the dotted `key` to the string `value`, making the mappings on the way.
fn set(values: &mut Hash, key: &str, value: &str) -> Result<(), String> {
    let (parents, last) = key.rsplit_once('.').map_or((None, key), |(parents, last)| (Some(parents), last));
    let mut node = values;
    for part in parents.into_iter().flat_map(|p| p.split('.')) {
        let child = node.entry(yaml::key(part)).or_insert_with(|| Yaml::Hash(Hash::new()));
        if child.is_null() {
            *child = Yaml::Hash(Hash::new());
        }
        node = match child {
            Yaml::Hash(inner) => inner,
            _ => return Err(format!("`{part}` in `{key}` holds a value, not a mapping")),
        };
    }
    node.replace(yaml::key(last), yaml::text(value));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Image {
        Image {
            name: "ghcr.io/acme/ledger".into(),
            repository: "ghcr.io/acme/ledger".into(),
            version: "1.20".into(),
            digest: format!("sha256:{}", "e".repeat(64)),
        }
    }

    #[test]
    fn a_new_values_file_holds_the_image_and_a_version_stays_a_string() {
        let written = set_values("v.yaml", None, &HelmKeys::default(), &image()).expect("written");
        assert!(written.starts_with(HEADER));
        let read = yaml::load_mapping("v.yaml", &written).expect("valid");
        let image_values = &read[&yaml::key("image")];
        assert_eq!(image_values["repository"].as_str(), Some("ghcr.io/acme/ledger"));
        assert_eq!(image_values["tag"].as_str(), Some("1.20"), "not the number 1.2");
        assert_eq!(image_values["digest"].as_str().map(str::len), Some(71));
    }

    #[test]
    fn other_keys_are_kept_and_custom_keys_are_honoured() {
        let keys = HelmKeys { repository: "app.image.repo".into(), tag: String::new(), digest: "app.image.sha".into() };
        let existing = "replicaCount: 3\napp:\n  image:\n    pullPolicy: IfNotPresent\n";
        let written = set_values("v.yaml", Some(existing), &keys, &image()).expect("written");
        let read = yaml::load_mapping("v.yaml", &written).expect("valid");
        assert_eq!(read[&yaml::key("replicaCount")].as_i64(), Some(3));
        assert_eq!(read[&yaml::key("app")]["image"]["pullPolicy"].as_str(), Some("IfNotPresent"));
        assert_eq!(read[&yaml::key("app")]["image"]["repo"].as_str(), Some("ghcr.io/acme/ledger"));
        assert!(read[&yaml::key("app")]["image"]["tag"].is_badvalue());
    }

    #[test]
    fn a_key_through_a_value_and_bad_key_settings_are_refused() {
        let error = set_values("v.yaml", Some("image: nginx\n"), &HelmKeys::default(), &image()).expect_err("refused");
        assert_eq!(error.to_string(), "v.yaml: `image` in `image.repository` holds a value, not a mapping");
        let keys = HelmKeys { repository: "image..repo".into(), ..HelmKeys::default() };
        assert!(keys.check().expect_err("refused").contains("dotted values path"));
        let none = HelmKeys { repository: String::new(), tag: String::new(), digest: String::new() };
        assert!(none.check().is_err());
        assert!(HelmKeys::default().check().is_ok());
    }
}
