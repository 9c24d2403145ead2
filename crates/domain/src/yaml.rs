//! Reading and writing one-document YAML files: the GitOps edits and the
//! generated Prometheus rule file.

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

/// A file Railyard cannot edit safely; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct EditError {
    pub path: String,
    pub problem: String,
}

impl EditError {
    pub fn new(path: &str, problem: impl Into<String>) -> Self {
        Self { path: path.to_owned(), problem: problem.into() }
    }
}

/// The file's one document, which must be a mapping.
pub fn load_mapping(path: &str, text: &str) -> Result<Hash, EditError> {
    let mut documents = YamlLoader::load_from_str(text)
        .map_err(|error| EditError::new(path, format!("is not valid YAML ({error})")))?;
    match documents.len() {
        0 => Ok(Hash::new()),
        1 => match documents.remove(0) {
            Yaml::Hash(mapping) => Ok(mapping),
            Yaml::Null => Ok(Hash::new()),
            _ => Err(EditError::new(path, "is not a YAML mapping")),
        },
        _ => Err(EditError::new(path, "holds several YAML documents; keep one per file")),
    }
}

/// `node` as block YAML, without the document marker, ending in a newline.
pub fn dump(node: &Yaml) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = YamlEmitter::new(&mut out).dump(node);
    let body = out.strip_prefix("---\n").or_else(|| out.strip_prefix("---")).unwrap_or(&out);
    format!("{}\n", body.trim_start_matches('\n'))
}

/// A string scalar.
pub fn text(value: &str) -> Yaml {
    Yaml::String(value.to_owned())
}

/// The key `name`.
pub fn key(name: &str) -> Yaml {
    Yaml::String(name.to_owned())
}

/// A mapping from `entries`, in order.
pub fn mapping<const N: usize>(entries: [(&str, Yaml); N]) -> Yaml {
    Yaml::Hash(entries.into_iter().map(|(name, value)| (key(name), value)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_round_trips_and_strings_that_look_like_numbers_stay_strings() {
        let node = mapping([("tag", text("1.20")), ("digest", text("sha256:ab")), ("on", text("yes"))]);
        let written = dump(&node);
        assert!(!written.starts_with("---"), "{written}");
        let read = load_mapping("values.yaml", &written).expect("valid");
        assert_eq!(Yaml::Hash(read), node);
    }

    #[test]
    fn a_file_that_is_not_one_mapping_is_refused_with_its_path() {
        assert_eq!(load_mapping("a.yaml", "").expect("valid"), Hash::new());
        let list = load_mapping("a.yaml", "- 1\n").expect_err("refused");
        assert_eq!(list.to_string(), "a.yaml: is not a YAML mapping");
        assert!(load_mapping("a.yaml", "a: [").expect_err("refused").problem.starts_with("is not valid YAML"));
        assert!(load_mapping("a.yaml", "a: 1\n---\nb: 2\n").expect_err("refused").problem.contains("several"));
    }
}
