//! Checking a definition's alerting: `alert_when_held` and `[[train.expected_alerts]]`.

use super::check::Checker;
use super::raw::RawExpectedAlerts;
use crate::alerting::silence::ExpectedAlerts;
use crate::alerting::AlertingSettings;
use crate::cadence::parse_window;

impl Checker<'_> {
    /// The validated settings, or `None` with the problems reported.
    pub(super) fn alerting(
        &mut self,
        at: &str,
        held: Option<&str>,
        expected: Vec<RawExpectedAlerts>,
    ) -> Option<AlertingSettings> {
        let before = self.problems.len();
        let held_ms = held.and_then(|text| parse_window(text).map_err(|e| self.problem(at, "alert_when_held", e)).ok());
        let mut expected_alerts = Vec::new();
        for (index, raw) in expected.into_iter().enumerate() {
            match ExpectedAlerts::parse(&raw.matchers, &raw.comment) {
                Ok(parsed) => expected_alerts.push(parsed),
                Err(problem) => self.problem(at, &format!("expected_alerts[{index}].matchers"), problem),
            }
        }
        (self.problems.len() == before).then_some(AlertingSettings { held_ms, expected_alerts })
    }
}
