//! What CI sends to register an artifact, and its validation.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::links::is_web_link;
use crate::text::Text;

/// An immutable content digest, `sha256:` and 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 hex>`; upper-case hex is normalised to lower case.
    pub fn parse(text: &str) -> Result<Self, String> {
        let hex =
            text.strip_prefix("sha256:").ok_or_else(|| format!("digest \"{text}\" must start with \"sha256:\""))?;
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("digest \"{text}\" must be \"sha256:\" followed by 64 hex digits"));
        }
        Ok(Self(format!("sha256:{}", hex.to_ascii_lowercase())))
    }

    /// The digest as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a change entry is, for release notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Feature,
    Fix,
    Security,
    Chore,
}

/// One line of a release note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Change {
    #[schema(schema_with = title_schema)]
    pub title: Text,
    #[serde(default = "default_kind")]
    pub kind: ChangeKind,
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^https?://")]
    pub link: Option<Text>,
}

fn default_kind() -> ChangeKind {
    ChangeKind::Chore
}

/// A database migration the artifact brings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Migration {
    #[schema(schema_with = migration_name_schema)]
    pub name: Text,
    /// An irreversible migration needs an approver's sign-off and makes the train roll-forward-only.
    pub reversible: bool,
}

/// The body of `POST /api/v1/artifacts`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArtifactRequest {
    /// A service declared in the trains-as-code file.
    #[schema(value_type = String, example = "ledger", min_length = 1, max_length = 100)]
    pub service: Text,
    #[schema(value_type = String, example = "1.4.2", pattern = r"^\S{1,128}$")]
    pub version: Text,
    #[schema(value_type = String, pattern = "^sha256:[0-9a-fA-F]{64}$")]
    pub digest: Text,
    #[schema(value_type = String, example = "9fceb02", pattern = "^[0-9a-fA-F]{7,64}$")]
    pub commit: Text,
    #[schema(schema_with = author_schema)]
    pub author: Text,
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub changes: Vec<Change>,
    #[serde(default)]
    pub migrations: Vec<Migration>,
    /// API contracts it provides and requires (the `api_contract` gate checks them).
    #[serde(default)]
    pub contracts: super::Contracts,
    /// When the commit was made (RFC 3339), for lead time for changes; optional.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-01T09:30:00Z")]
    pub committed_at: Option<Text>,
}

/// A validated registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArtifact {
    pub service: String,
    pub version: String,
    pub digest: Digest,
    pub commit: String,
    pub author: String,
    pub changes: Vec<Change>,
    pub migrations: Vec<Migration>,
    pub contracts: super::Contracts,
    /// When the commit was made.
    pub committed_at: Option<crate::time::Instant>,
}

impl NewArtifactRequest {
    /// Validates every field; the message names the first wrong one.
    pub fn validate(self) -> Result<NewArtifact, String> {
        let digest = Digest::parse(self.digest.trim())?;
        let version = self.version.trim();
        if version.is_empty() || version.len() > 128 || version.chars().any(char::is_whitespace) {
            return Err("`version` must be 1-128 characters without spaces, e.g. \"1.4.2\"".into());
        }
        let commit = self.commit.trim().to_ascii_lowercase();
        if !(7..=64).contains(&commit.len()) || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("`commit` \"{}\" must be a git commit id of 7-64 hex digits", self.commit));
        }
        let author = self.author.trim();
        if author.is_empty() || author.len() > 200 {
            return Err("`author` must name who made the change (1-200 characters)".into());
        }
        if self.changes.len() > 1000 {
            return Err("`changes` may hold at most 1000 entries".into());
        }
        for (index, change) in self.changes.iter().enumerate() {
            if change.title.trim().is_empty() || change.title.len() > 500 {
                return Err(format!("`changes[{index}].title` must be 1-500 characters"));
            }
            if let Some(link) = &change.link {
                if !is_web_link(link) {
                    return Err(format!("`changes[{index}].link` must be an http(s) URL"));
                }
            }
        }
        for (index, migration) in self.migrations.iter().enumerate() {
            if migration.name.trim().is_empty() || migration.name.len() > 200 {
                return Err(format!("`migrations[{index}].name` must be 1-200 characters"));
            }
        }
        self.contracts.validate()?;
        let committed_at = match self.committed_at.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(text) => Some(crate::time::Instant::from_utc(
                chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|_| {
                        format!("`committed_at` \"{text}\" must be an RFC 3339 instant like 2026-12-01T09:30:00Z")
                    })?
                    .to_utc(),
            )),
        };
        Ok(NewArtifact {
            committed_at,
            service: self.service.trim().to_owned(),
            version: version.to_owned(),
            digest,
            commit,
            author: author.to_owned(),
            changes: self.changes,
            migrations: self.migrations,
            contracts: self.contracts,
        })
    }
}

/// A change's title: printable, not blank, at most 500 characters.
fn title_schema() -> utoipa::openapi::schema::Object {
    crate::text::schema::not_blank(Some(500), None)
}

/// A migration's name: printable, not blank, at most 200 characters.
fn migration_name_schema() -> utoipa::openapi::schema::Object {
    crate::text::schema::not_blank(Some(200), None)
}

/// The author: printable, not blank, at most 200 characters.
fn author_schema() -> utoipa::openapi::schema::Object {
    crate::text::schema::not_blank(Some(200), Some("alice"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text {
        Text::new(s).expect("printable")
    }

    fn request() -> NewArtifactRequest {
        NewArtifactRequest {
            service: text("ledger"),
            version: text("1.4.2"),
            digest: text(&format!("sha256:{}", "AB".repeat(32))),
            commit: text("9fceb02d0ae598e95dc970b74767f19372d61af8"),
            author: text("alice"),
            changes: vec![Change { title: text("Faster ledger close"), kind: ChangeKind::Feature, link: None }],
            migrations: vec![],
            contracts: Default::default(),
            committed_at: None,
        }
    }

    #[test]
    fn a_commit_time_is_optional_and_must_be_rfc_3339() {
        assert_eq!(request().validate().expect("valid").committed_at, None);
        let dated = NewArtifactRequest { committed_at: Some(text("2026-12-01T09:30:00+01:00")), ..request() };
        let at = dated.validate().expect("valid").committed_at.expect("kept");
        assert_eq!(at.rfc3339(), "2026-12-01T08:30:00Z");
        let wrong = NewArtifactRequest { committed_at: Some(text("yesterday")), ..request() };
        assert!(wrong.validate().expect_err("refused").contains("`committed_at`"));
    }

    #[test]
    fn a_valid_registration_normalises_its_digest() {
        let artifact = request().validate().expect("valid");
        assert_eq!(artifact.digest.as_str(), format!("sha256:{}", "ab".repeat(32)));
    }

    #[test]
    fn each_wrong_field_is_named() {
        type Breakage = fn(&mut NewArtifactRequest);
        let cases: [(Breakage, &str); 5] = [
            (|r| r.digest = text("md5:abc"), "must start with \"sha256:\""),
            (|r| r.digest = text("sha256:1234"), "64 hex digits"),
            (|r| r.version = text("1.0 beta"), "`version`"),
            (|r| r.commit = text("main"), "`commit`"),
            (|r| r.changes[0].link = Some(text("javascript:alert(1)")), "`changes[0].link`"),
        ];
        for (break_it, expected) in cases {
            let mut bad = request();
            break_it(&mut bad);
            let message = bad.validate().expect_err("refused");
            assert!(message.contains(expected), "{message}");
        }
    }
}
