//! Silences for planned work: the alerts a definition expects while its
//! trains cut over (`expected_alerts`), as Alertmanager matchers, and when a
//! train's silences should hold.

use serde::{Deserialize, Serialize};

use crate::engine::{StepStatus, TrainRun};
use crate::time::Instant;

/// How a matcher compares a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (RE2, anchored by Alertmanager)
    Regex,
    /// `!~`
    NotRegex,
}

/// One Alertmanager matcher, e.g. `alertname="KubePodCrashLooping"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

impl Matcher {
    /// Reads `name="value"` (also `!=`, `=~`, `!~`; the quotes may be left out).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let at = text
            .find(['=', '!'])
            .ok_or_else(|| format!("`{text}` is not a matcher like alertname=\"KubePodCrashLooping\""))?;
        let (name, rest) = text.split_at(at);
        let name = name.trim();
        let (op, value) = if let Some(value) = rest.strip_prefix("=~") {
            (MatchOp::Regex, value)
        } else if let Some(value) = rest.strip_prefix("!~") {
            (MatchOp::NotRegex, value)
        } else if let Some(value) = rest.strip_prefix("!=") {
            (MatchOp::NotEqual, value)
        } else if let Some(value) = rest.strip_prefix('=') {
            (MatchOp::Equal, value)
        } else {
            return Err(format!("`{text}`: the operator must be =, !=, =~ or !~"));
        };
        let value = value.trim();
        let value = match value.strip_prefix('"') {
            Some(inner) => {
                inner.strip_suffix('"').ok_or_else(|| format!("`{text}`: the value's quote is not closed"))?
            }
            None => value,
        };
        if !is_label_name(name) {
            return Err(format!("`{text}`: \"{name}\" is not a label name (letters, digits and _, not first a digit)"));
        }
        Ok(Self { name: name.to_owned(), op, value: value.to_owned() })
    }

    /// Whether it pins a label to one non-empty value.
    fn pins(&self) -> bool {
        self.op == MatchOp::Equal && !self.value.is_empty()
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        };
        write!(f, "{}{op}\"{}\"", self.name, self.value)
    }
}

/// Alerts a definition expects during its cutovers: one silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedAlerts {
    pub matchers: Vec<Matcher>,
    /// Why they are expected, put in the silence's comment.
    #[serde(default)]
    pub comment: String,
}

impl ExpectedAlerts {
    /// Reads matcher strings; refuses a silence that could match everything: it needs at least one
    /// matcher pinning a label to a value (`name="value"`).
    pub fn parse(matchers: &[String], comment: &str) -> Result<Self, String> {
        let matchers = matchers.iter().map(|m| Matcher::parse(m)).collect::<Result<Vec<_>, _>>()?;
        if !matchers.iter().any(Matcher::pins) {
            return Err(
                "needs at least one matcher of the form name=\"value\"; a silence must never match every alert".into(),
            );
        }
        Ok(Self { matchers, comment: comment.trim().to_owned() })
    }
}

/// Until when a train's silences should hold, or `None` when they should be gone: from cutover
/// to the end of the cutover window, and on while a rollback runs (`extend_ms` past now).
pub fn silenced_until(run: &TrainRun, cutover_window_ms: i64, now: Instant, extend_ms: i64) -> Option<Instant> {
    if run.phase.is_final() || now < run.cutover_at {
        return None;
    }
    let window_ends = run.cutover_at + cutover_window_ms;
    let rolling_back = run.step_status == StepStatus::RollingBack || run.service_rollback_running().is_some();
    match (now < window_ends, rolling_back) {
        (_, true) => Some(window_ends.max(now + extend_ms)),
        (true, false) => Some(window_ends),
        (false, false) => None,
    }
}

/// A label name as Prometheus and Alertmanager spell them.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_read_every_operator_with_or_without_quotes() {
        let read = |t: &str| Matcher::parse(t).map(|m| (m.name, m.op, m.value));
        assert_eq!(
            read("alertname=\"KubePodCrashLooping\""),
            Ok(("alertname".into(), MatchOp::Equal, "KubePodCrashLooping".into()))
        );
        assert_eq!(
            read("namespace =~ \"payments-.*\""),
            Ok(("namespace".into(), MatchOp::Regex, "payments-.*".into()))
        );
        assert_eq!(read("severity!=page"), Ok(("severity".into(), MatchOp::NotEqual, "page".into())));
        assert_eq!(read("job!~\"node.*\""), Ok(("job".into(), MatchOp::NotRegex, "node.*".into())));
        assert!(read("9lives=\"x\"").expect_err("refused").contains("not a label name"));
        assert!(read("alertname").expect_err("refused").contains("not a matcher"));
        assert!(read("alertname=\"open").expect_err("refused").contains("quote"));
    }

    #[test]
    fn a_silence_must_pin_some_label() {
        let ok =
            ExpectedAlerts::parse(&["alertname=\"KubePodCrashLooping\"".into(), "namespace=~\"pay.*\"".into()], "");
        assert_eq!(ok.map(|e| e.matchers.len()), Ok(2));
        for everything in [vec![], vec!["namespace=~\".*\"".to_owned()], vec!["alertname=\"\"".to_owned()]] {
            let refused = ExpectedAlerts::parse(&everything, "").expect_err("refused");
            assert!(refused.contains("never match every alert"), "{everything:?}: {refused}");
        }
    }

    #[test]
    fn silences_hold_for_the_cutover_window_and_while_a_rollback_runs() {
        let cutover = Instant::from(1_000_000);
        let mut run = TrainRun::opened("t1", cutover, crate::engine::default_rollout(), 60_000);
        let window = 3_600_000;
        assert_eq!(silenced_until(&run, window, cutover - 1, 60_000), None, "not before cutover");
        assert_eq!(silenced_until(&run, window, cutover + 10, 60_000), Some(cutover + window));
        assert_eq!(silenced_until(&run, window, cutover + window + 1, 60_000), None, "over after the window");
        run.step_status = StepStatus::RollingBack;
        let late = cutover + window + 5_000;
        assert_eq!(silenced_until(&run, window, late, 60_000), Some(late + 60_000), "extended while rolling back");
        run.phase = crate::train_state::TrainState::RolledBack;
        assert_eq!(silenced_until(&run, window, late, 60_000), None, "gone once the train ends");
    }
}
