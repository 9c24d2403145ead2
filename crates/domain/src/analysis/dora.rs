//! The four DORA keys of one domain over a period, from its trains and
//! incidents: deployment frequency (trains that reached all of production),
//! lead time for changes (median, commit to rolled out), change failure rate
//! (trains rolled back or followed by an attributed incident) and time to
//! restore (median, incident start to resolution). Rehearsals never count.

use crate::time::Instant;

/// A production train of the domain that ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// When it ended (completed or rolled back).
    pub ended_at: Instant,
    /// When its last step succeeded: every change was in production (none: never got there).
    pub rolled_out_at: Option<Instant>,
    /// Its first production step started: something reached production.
    pub reached_production: bool,
    pub rolled_back: bool,
    /// Incidents attributed to it.
    pub incidents: usize,
    /// Commit times of the changes it shipped, where CI sent them.
    pub committed: Vec<Instant>,
}

/// An incident of the domain that was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restore {
    pub started_at: Instant,
    pub resolved_at: Instant,
}

/// The keys over one period; `None` where nothing was measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keys {
    /// Trains rolled out per week.
    pub deployments_per_week: f64,
    /// Median milliseconds from commit to rolled out.
    pub lead_time_ms: Option<f64>,
    /// Share of trains that reached production and were rolled back or caused an incident.
    pub change_failure_rate: Option<f64>,
    /// Median milliseconds from an incident's start to its resolution.
    pub time_to_restore_ms: Option<f64>,
    /// Trains that reached production (the change failure rate's denominator).
    pub deployments: usize,
    /// Changes with a commit time (the lead time's sample).
    pub changes_timed: usize,
    /// Resolved incidents (time to restore's sample).
    pub restores: usize,
}

/// The keys for releases ended and incidents resolved in `(from, to]`.
pub fn keys(releases: &[Release], restores: &[Restore], from: Instant, to: Instant) -> Keys {
    let within = |at: Instant| at > from && at <= to;
    let reached: Vec<&Release> = releases.iter().filter(|r| r.reached_production && within(r.ended_at)).collect();
    let rolled_out: Vec<&&Release> = reached.iter().filter(|r| r.rolled_out_at.is_some() && !r.rolled_back).collect();
    let weeks = ((to - from) as f64 / (7.0 * 86_400_000.0)).max(1.0 / 7.0);
    let mut lead: Vec<f64> = rolled_out
        .iter()
        .flat_map(|r| {
            let out = r.rolled_out_at.unwrap_or(r.ended_at);
            r.committed.iter().filter(move |c| **c <= out).map(move |c| (out - *c) as f64)
        })
        .collect();
    let failed = reached.iter().filter(|r| r.rolled_back || r.incidents > 0).count();
    let mut restore: Vec<f64> = restores
        .iter()
        .filter(|r| within(r.resolved_at))
        .map(|r| (r.resolved_at - r.started_at).max(0) as f64)
        .collect();
    Keys {
        deployments_per_week: rolled_out.len() as f64 / weeks,
        changes_timed: lead.len(),
        lead_time_ms: median(&mut lead),
        change_failure_rate: (!reached.is_empty()).then(|| failed as f64 / reached.len() as f64),
        deployments: reached.len(),
        restores: restore.len(),
        time_to_restore_ms: median(&mut restore),
    }
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 0 { (values[middle - 1] + values[middle]) / 2.0 } else { values[middle] })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;

    fn at(day: i64, hour: i64) -> Instant {
        Instant::from(1_800_000_000_000 + day * DAY + hour * HOUR)
    }

    fn shipped(day: i64, commits_hours_before: &[i64]) -> Release {
        let out = at(day, 15);
        Release {
            ended_at: at(day, 16),
            rolled_out_at: Some(out),
            reached_production: true,
            rolled_back: false,
            incidents: 0,
            committed: commits_hours_before.iter().map(|h| out - h * HOUR).collect(),
        }
    }

    /// A scripted four weeks, computed by hand: six trains, one rolled back, one followed by an
    /// incident, one that never reached production; two incidents restored.
    #[test]
    fn four_weeks_of_trains_give_the_hand_computed_keys() {
        let mut releases = vec![
            shipped(1, &[20, 4]),
            shipped(8, &[30]),
            shipped(15, &[10, 50, 6]),
            Release { incidents: 1, ..shipped(22, &[12]) },
            Release { rolled_out_at: None, rolled_back: true, ..shipped(23, &[8]) },
            Release { reached_production: false, rolled_out_at: None, ..shipped(24, &[2]) },
        ];
        // Outside the period: ignored.
        releases.push(shipped(40, &[1]));
        let restores = [
            Restore { started_at: at(22, 18), resolved_at: at(22, 19) },
            Restore { started_at: at(23, 10), resolved_at: at(23, 13) },
            Restore { started_at: at(50, 10), resolved_at: at(50, 11) },
        ];
        let keys = keys(&releases, &restores, at(0, 0), at(28, 0));
        // Four trains rolled out (days 1, 8, 15, 22) in four weeks.
        assert_eq!(keys.deployments_per_week, 1.0);
        // Lead times of the rolled-out trains' changes: 20, 4, 30, 10, 50, 6, 12 h → median 12 h.
        assert_eq!((keys.changes_timed, keys.lead_time_ms), (7, Some(12.0 * HOUR as f64)));
        // Five reached production; the rollback and the incident make two failures.
        assert_eq!((keys.deployments, keys.change_failure_rate), (5, Some(0.4)));
        // Restores of 1 h and 3 h → median 2 h.
        assert_eq!((keys.restores, keys.time_to_restore_ms), (2, Some(2.0 * HOUR as f64)));
    }

    #[test]
    fn a_quiet_period_has_no_rates() {
        let keys = keys(&[], &[], at(0, 0), at(28, 0));
        assert_eq!(keys.deployments_per_week, 0.0);
        assert_eq!((keys.lead_time_ms, keys.change_failure_rate, keys.time_to_restore_ms), (None, None, None));
    }
}
