//! Text a person or a pipeline typed, as Railyard accepts it: any Unicode
//! except control characters other than tab, line feed and carriage return.
//! (PostgreSQL cannot store NUL; terminals and logs misrender escape
//! sequences and bells.) [`Text`] refuses them when it is deserialised, so a
//! request body holding one never reaches a use case.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize};

/// The JSON Schema character class of a printable character (the one copy of it).
macro_rules! printable_class {
    () => {
        r"[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]"
    };
}

/// The pattern of printable text, for JSON Schema.
pub const PRINTABLE: &str = concat!("^", printable_class!(), "*$");
/// Printable text with at least one character that is not white space.
pub const PRINTABLE_NOT_BLANK: &str = concat!("^", printable_class!(), r"*\S", printable_class!(), "*$");
/// Printable text of at least ten characters (a reason a person gives).
pub const PRINTABLE_REASON: &str = concat!("^", printable_class!(), "{10,}$");

/// A string without control characters (tabs and line breaks allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Text(String);

/// How a [`ControlCharacter`] refusal begins (its U+ code follows).
pub const CONTROL_CHARACTER: &str = "contains the control character";

/// Text held a control character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "contains the control character U+{:04X}; text may hold tabs and line breaks but no other control characters",
    u32::from(*.0)
)]
pub struct ControlCharacter(pub char);

impl Text {
    /// `text`, unless it holds a control character other than tab, line feed or carriage return.
    pub fn new(text: impl Into<String>) -> Result<Self, ControlCharacter> {
        let text = text.into();
        match first_control_character(&text) {
            Some(c) => Err(ControlCharacter(c)),
            None => Ok(Self(text)),
        }
    }

    /// The text as an owned string.
    pub fn into_inner(self) -> String {
        self.0
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The texts as plain strings.
pub fn strings(texts: Vec<Text>) -> Vec<String> {
    texts.into_iter().map(Text::into_inner).collect()
}

/// The first control character of `text` other than tab, line feed and carriage return.
pub fn first_control_character(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Text::new(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Text {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::string(PRINTABLE).into()
    }
}

/// JSON Schemas of text fields with more to say than [`Text`]'s (a length, an example):
/// DTOs name them with `#[schema(schema_with = ...)]`.
#[cfg(feature = "openapi")]
pub mod schema {
    use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

    /// A string matching `pattern` (one of this module's parent's patterns).
    pub fn string(pattern: &str) -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern))
    }

    /// Printable, not blank, at most `max` characters, with an example.
    pub fn not_blank(max: Option<usize>, example: Option<&str>) -> Object {
        let builder = string(super::PRINTABLE_NOT_BLANK).max_length(max);
        builder.examples(example.map(|e| serde_json::Value::String(e.to_owned()))).build()
    }

    /// A reason a person gives (`description` says for what): printable, at least ten characters.
    pub fn reason(description: &str) -> Object {
        string(super::PRINTABLE_REASON).description(Some(description)).build()
    }

    /// Printable text of at most `max` characters.
    pub fn at_most(max: usize) -> Object {
        string(super::PRINTABLE).max_length(Some(max)).build()
    }

    /// Printable text between `min` and `max` characters.
    pub fn between(min: usize, max: usize) -> Object {
        string(super::PRINTABLE).min_length(Some(min)).max_length(Some(max)).build()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Text {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_and_line_breaks_pass_and_other_control_characters_are_named() {
        let text: Text = serde_json::from_str(r#""line one\nline two\tand a tab\r""#).expect("printable");
        assert_eq!(text.as_str(), "line one\nline two\tand a tab\r");
        assert_eq!(Text::new("naïve ✓ 名前").map(Text::into_inner), Ok("naïve ✓ 名前".to_owned()));
        for (bad, c) in
            [("nul\u{0}", '\u{0}'), ("bell\u{7}", '\u{7}'), ("esc\u{1b}[31m", '\u{1b}'), ("c1\u{85}", '\u{85}')]
        {
            assert_eq!(Text::new(bad), Err(ControlCharacter(c)), "{bad:?}");
        }
        let error = serde_json::from_str::<Text>(r#""fix\u0007""#).expect_err("a bell");
        assert!(error.to_string().contains("control character U+0007"), "{error}");
    }
}
