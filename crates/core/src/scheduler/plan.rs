//! Which trains a definition should have at a given moment. Pure.

use chrono::{DateTime, Duration, Utc};

use super::SchedulerConfig;
use crate::cadence::Cadence;
use crate::store::definitions::Definition;
use crate::store::trains::NewTrain;
use crate::time::Instant;
use crate::train_state::TrainState;

/// A train the definition calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub train: NewTrain,
}

/// The trains `definition` calls for around `now`: every cutover from the
/// later of its activation and `now - catch_up`, up to `now + horizon`.
pub fn plan_trains(
    definition: &Definition,
    cadence: &Cadence,
    now: DateTime<Utc>,
    config: &SchedulerConfig,
) -> Vec<Planned> {
    let from = definition.active_from.to_utc().max(now - config.catch_up);
    cutovers(definition, cadence, from, now + config.horizon).into_iter().map(|train| Planned { train }).collect()
}

/// The trains `definition`'s cadence calls for with a cutover in `[from, to)`,
/// none before the definition became active: what the scheduler creates once
/// its horizon reaches them, and what the calendar projects beyond it.
pub fn cutovers(definition: &Definition, cadence: &Cadence, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<NewTrain> {
    cadence
        .occurrences(from.max(definition.active_from.to_utc()), to)
        .into_iter()
        .map(|cutover| {
            let cutover_at = Instant::from_utc(cutover);
            NewTrain {
                definition_id: definition.id.clone(),
                state: TrainState::Scheduled,
                planning_opens_at: cutover_at - definition.planning_window_ms,
                cutover_at,
                cutover_closes_at: cutover_at + definition.cutover_window_ms,
            }
        })
        .collect()
}

/// The first cutover at or after `horizon_end`: the one the next plan has to
/// create. A cadence with none within a year is looked at again in a year.
pub fn next_unplanned(cadence: &Cadence, horizon_end: DateTime<Utc>) -> DateTime<Utc> {
    [Duration::days(35), Duration::days(366)]
        .into_iter()
        .find_map(|ahead| cadence.occurrences(horizon_end, horizon_end + ahead).into_iter().next())
        .unwrap_or(horizon_end + Duration::days(366))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::json_text::JsonText;
    use chrono::{NaiveDate, TimeZone};

    fn definition(active_from: DateTime<Utc>) -> Definition {
        Definition {
            id: "def".into(),
            name: "payments-weekly".into(),
            domain_id: "payments".into(),
            cadence: "FREQ=WEEKLY;BYDAY=TU;BYHOUR=3".into(),
            time_zone: "Europe/Berlin".into(),
            starts_on: "2026-01-01".into(),
            planning_window_ms: Duration::days(2).num_milliseconds(),
            cutover_window_ms: Duration::hours(2).num_milliseconds(),
            active_from: Instant::from_utc(active_from),
            rollout: JsonText::default(),
            preflight_ms: Duration::hours(2).num_milliseconds(),
            monitoring_ms: Duration::hours(1).num_milliseconds(),
            gates: JsonText::default(),
            deployer: "simulated".into(),
            webhook_url: String::new(),
            webhook_secret_env: String::new(),
            gitops: JsonText::default(),
            metrics_provider: "simulated".into(),
            prometheus_url: String::new(),
            metrics: JsonText::default(),
            emergency_gates: JsonText(vec!["tests".into()]),
            groups: JsonText::default(),
            staging_webhook_url: String::new(),
            overrides: 1,
            alerting: Default::default(),
        }
    }

    #[test]
    fn a_new_definition_plans_only_trains_from_its_activation_onwards() {
        let now = Utc.with_ymd_and_hms(2026, 6, 3, 12, 0, 0).single().expect("valid");
        let def = definition(now);
        let cadence = Cadence::parse(&def.cadence, &def.time_zone, NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"))
            .expect("cadence");
        let config = SchedulerConfig { horizon: Duration::days(28), ..SchedulerConfig::default() };
        let planned = plan_trains(&def, &cadence, now, &config);
        let cutovers: Vec<_> = planned.iter().map(|p| p.train.cutover_at.to_utc()).collect();
        // Tuesdays after Wednesday 3 June, 03:00 CEST = 01:00 UTC.
        let expected: Vec<_> = [9, 16, 23, 30]
            .into_iter()
            .map(|d| Utc.with_ymd_and_hms(2026, 6, d, 1, 0, 0).single().expect("valid"))
            .collect();
        assert_eq!(cutovers, expected);
        let first = &planned[0].train;
        assert_eq!(first.cutover_at - first.planning_opens_at, Duration::days(2).num_milliseconds());
        assert_eq!(first.cutover_closes_at - first.cutover_at, Duration::hours(2).num_milliseconds());
    }

    #[test]
    fn the_next_unplanned_cutover_is_the_first_at_or_after_the_horizon() {
        let def = definition(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid"));
        let cadence = Cadence::parse(&def.cadence, &def.time_zone, NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"))
            .expect("cadence");
        // Wednesday 3 June: the next Tuesday 03:00 Berlin is 9 June, 01:00 UTC.
        let horizon_end = Utc.with_ymd_and_hms(2026, 6, 3, 12, 0, 0).single().expect("valid");
        assert_eq!(
            next_unplanned(&cadence, horizon_end),
            Utc.with_ymd_and_hms(2026, 6, 9, 1, 0, 0).single().expect("valid")
        );
        // A cutover exactly at the horizon's end was not planned (plans stop before it).
        let at_cutover = Utc.with_ymd_and_hms(2026, 6, 9, 1, 0, 0).single().expect("valid");
        assert_eq!(next_unplanned(&cadence, at_cutover), at_cutover);
    }
}
