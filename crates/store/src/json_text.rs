//! A column holding JSON, decoded into its type when the row is read: an
//! unreadable one fails the read (a corrupt row), never a silent default.

use std::ops::Deref;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::DbError;

/// The value of a JSON text column. An empty column reads as `T::default()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonText<T>(pub T);

impl<T: DeserializeOwned + Default> TryFrom<String> for JsonText<T> {
    type Error = serde_json::Error;

    /// Reads a stored column (rows decode through this).
    fn try_from(text: String) -> Result<Self, serde_json::Error> {
        if text.trim().is_empty() {
            return Ok(Self(T::default()));
        }
        serde_json::from_str(&text).map(Self)
    }
}

impl<T: Serialize> JsonText<T> {
    /// The text to store.
    pub fn text(&self) -> Result<String, DbError> {
        serde_json::to_string(&self.0)
            .map_err(|error| DbError::Corrupt { what: "a JSON column".into(), why: error.to_string() })
    }
}

impl<T> Deref for JsonText<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_reads_back_what_was_stored_and_refuses_garbage() {
        let gates = JsonText(vec!["tests".to_owned(), "security_scan".to_owned()]);
        let stored = gates.text().expect("text");
        assert_eq!(JsonText::<Vec<String>>::try_from(stored).expect("reads"), gates);
        assert_eq!(JsonText::<Vec<String>>::try_from(String::new()).expect("empty"), JsonText(Vec::new()));
        assert!(JsonText::<Vec<String>>::try_from("[\"tests\"".to_owned()).is_err(), "truncated JSON is refused");
    }
}
