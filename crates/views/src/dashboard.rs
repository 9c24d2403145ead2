//! The executive dashboard's figures: seed KPIs with their trend, error
//! budgets per domain, and the next cutovers. Built on the server.

use railyard_domain::train_kind::TrainKind;
use serde::{Deserialize, Serialize};

/// What leadership sees above the calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The server's clock when it was built, epoch ms (countdowns start from it).
    pub now: i64,
    /// M1, M3 and M10, each over the last 28 days against the 28 before (rehearsals apart).
    pub kpis: Vec<Kpi>,
    /// M1 and M3 per kind of train (regular, emergency, hotfix, rehearsal).
    #[serde(default)]
    pub kinds: Vec<KindKpis>,
    /// M9: rollout success per region, the critical regions first.
    pub regions: Vec<Kpi>,
    /// The regions trains-as-code marks critical (by name).
    #[serde(default)]
    pub critical_regions: Vec<String>,
    /// Services running something other than what their train shipped, until resolved (M12).
    #[serde(default)]
    pub drift: Vec<crate::train::DriftLine>,
    /// M7: error budget status per domain.
    pub budgets: Vec<DomainBudgetStatus>,
    pub next: Vec<NextCutover>,
    /// The DORA keys per domain, each over the last 28 days against the 28 before.
    #[serde(default)]
    pub dora: Vec<DomainDora>,
    /// Compliance gates passed over compliance gates decided (approvals given in time).
    #[serde(default)]
    pub compliance: Option<Kpi>,
    /// Critical-region rollout map: each declared region (critical first) and its last production step.
    #[serde(default)]
    pub region_map: Vec<RegionTile>,
    /// The domains that have trains, for "the next train for a change ready on …".
    #[serde(default)]
    pub domains: Vec<String>,
}

/// The answer to "when is the next train that can carry a change of this
/// domain that is ready on this day", with every time in words already.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextTrainAnswer {
    pub domain: String,
    /// "by the end of Tuesday 12 January 2027 (Europe/Berlin)".
    pub ready: String,
    /// `None`: no regular train of the domain takes changes within 400 days.
    pub train: Option<PlannedTrain>,
    /// Freezes of the domain (or of every domain) between the day and the cutover.
    pub freezes: Vec<String>,
}

/// The train a change can board, real or projected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTrain {
    pub definition: String,
    /// The train page's id; `None`: projected from the cadence, no train yet.
    pub train_id: Option<String>,
    /// Its state, or `projected`.
    pub state: String,
    /// The cutover in the viewer's zone, e.g. "Tue 12 Jan 2027 03:00 CET (Europe/Berlin)".
    pub cutover_viewer: String,
    /// The cutover in the definition's own zone.
    pub cutover_own: String,
    /// When candidates stop being taken, in the viewer's zone.
    pub boarding_closes: String,
    /// What a freeze does to this cutover, in words.
    pub freeze: Option<String>,
}

/// One domain's DORA keys: deployment frequency, lead time for changes, change failure rate, time to restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainDora {
    pub domain: String,
    pub colour: String,
    pub keys: Vec<Kpi>,
}

/// A region on the rollout map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionTile {
    pub name: String,
    pub description: String,
    pub critical: bool,
    /// The newest production step in the region, if any.
    pub last: Option<RegionResult>,
}

/// The newest production step a train ran in a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionResult {
    pub train_id: String,
    pub train: String,
    pub step: String,
    /// `succeeded`, `failed` or `running`.
    pub outcome: String,
    pub at: i64,
}

/// Release success (M1) and time to roll back (M3) of one kind of train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindKpis {
    pub kind: TrainKind,
    pub success: Kpi,
    pub rollback: Kpi,
}

/// How a KPI's value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KpiUnit {
    /// A share, shown as a percentage.
    Ratio,
    /// A duration in seconds.
    Seconds,
    /// A count per week.
    PerWeek,
}

/// One figure with its trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    /// The seed's code, `M1`.
    pub code: String,
    pub name: String,
    pub unit: KpiUnit,
    /// Over the last 28 days; `None` without data.
    pub value: Option<f64>,
    /// Over the 28 days before.
    pub previous: Option<f64>,
    /// Per week, oldest first, the current week last.
    pub weekly: Vec<Option<f64>>,
    pub higher_is_better: bool,
    /// How many observations `value` rests on.
    pub observations: usize,
}

/// How a figure moved, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Better,
    Worse,
    Steady,
    Unknown,
}

impl Kpi {
    /// The value in its unit: `92%`, `4 min 10 s`, or `no data`.
    pub fn shown(&self) -> String {
        self.value.map_or_else(|| "no data".to_owned(), |v| show(self.unit, v))
    }

    /// Whether the figure improved against the previous period (changes under 1 % are steady).
    pub fn trend(&self) -> Trend {
        let (Some(now), Some(before)) = (self.value, self.previous) else { return Trend::Unknown };
        let scale = if self.unit == KpiUnit::Ratio { 1.0 } else { before.abs().max(1.0) };
        let change = (now - before) / scale;
        if change.abs() < 0.01 {
            Trend::Steady
        } else if (change > 0.0) == self.higher_is_better {
            Trend::Better
        } else {
            Trend::Worse
        }
    }

    /// The weekly values as a polyline's points in a `width` × `height` box (weeks without a
    /// value are left out; ratios span 0–100 %, durations 0 to their largest week).
    pub fn sparkline(&self, width: f64, height: f64) -> String {
        let high = match self.unit {
            KpiUnit::Ratio => 1.0,
            KpiUnit::Seconds | KpiUnit::PerWeek => self.weekly.iter().flatten().copied().fold(1.0, f64::max),
        };
        let step = width / (self.weekly.len().max(2) - 1) as f64;
        self.weekly
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                Some(format!("{:.1},{:.1}", i as f64 * step, height - 2.0 - (*v)? / high * (height - 4.0)))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The trend with an arrow and the change: "▲ 4 pts vs the 28 days before (better)".
    pub fn trend_words(&self) -> String {
        let (Some(now), Some(before)) = (self.value, self.previous) else {
            return "no earlier figure to compare".to_owned();
        };
        let arrow = if now > before {
            "▲"
        } else if now < before {
            "▼"
        } else {
            "▶"
        };
        let change = match self.unit {
            KpiUnit::Ratio => format!("{:.0} pts", (now - before).abs() * 100.0),
            KpiUnit::Seconds => duration((now - before).abs()),
            KpiUnit::PerWeek => format!("{:.1} per week", (now - before).abs()),
        };
        let verdict = match self.trend() {
            Trend::Better => "better",
            Trend::Worse => "worse",
            Trend::Steady | Trend::Unknown => "steady",
        };
        format!("{arrow} {change} vs the 28 days before ({verdict})")
    }
}

/// `value` in `unit`.
pub fn show(unit: KpiUnit, value: f64) -> String {
    match unit {
        KpiUnit::Ratio => format!("{:.0}%", value * 100.0),
        KpiUnit::Seconds => duration(value),
        KpiUnit::PerWeek => format!("{value:.1} per week"),
    }
}

/// `45 s`, `4 min 10 s`, `2 h 5 min`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.round() as i64;
    match s {
        ..60 => format!("{s} s"),
        60..3600 if s % 60 == 0 => format!("{} min", s / 60),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Error budgets in one domain (seed M7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainBudgetStatus {
    pub domain: String,
    pub colour: String,
    /// Services with an SLO.
    pub services: usize,
    pub exhausted: Vec<String>,
    /// Burning past the slow threshold (and not yet exhausted).
    pub burning: Vec<String>,
    /// The service with the least budget left, and how much.
    pub lowest: Option<(String, f64)>,
    /// Mean share of a budget each train's rollout spent, with its trend.
    pub consumed: Kpi,
}

/// A train about to cut over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextCutover {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub colour: String,
    pub state: String,
    pub cutover_at: i64,
    pub time_zone: String,
    pub kind: TrainKind,
}

/// The next cutover of one train definition, for the countdown panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Countdown {
    pub now: i64,
    pub definition: String,
    /// `None` when nothing is scheduled within a year.
    pub next: Option<NextCutover>,
}

/// The time left until `at`, seen at `now`: "in 2 d 4 h", "in 3 h 20 min", "in 45 s", "now".
pub fn countdown(at: i64, now: i64) -> String {
    let left = (at - now) / 1000;
    if left <= 0 {
        return "now".to_owned();
    }
    let (days, hours, minutes) = (left / 86_400, left % 86_400 / 3600, left % 3600 / 60);
    if days > 0 {
        format!("in {days} d {hours} h")
    } else if hours > 0 {
        format!("in {hours} h {minutes} min")
    } else if minutes > 0 {
        format!("in {minutes} min")
    } else {
        format!("in {left} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kpi(value: Option<f64>, previous: Option<f64>, higher_is_better: bool, unit: KpiUnit) -> Kpi {
        Kpi {
            code: "M1".into(),
            name: "release success".into(),
            unit,
            value,
            previous,
            weekly: vec![],
            higher_is_better,
            observations: 3,
        }
    }

    #[test]
    fn a_trend_reads_better_or_worse_by_the_figure_s_direction() {
        let success = kpi(Some(0.95), Some(0.85), true, KpiUnit::Ratio);
        assert_eq!(success.trend(), Trend::Better);
        assert_eq!(success.trend_words(), "▲ 10 pts vs the 28 days before (better)");
        let rollback = kpi(Some(300.0), Some(200.0), false, KpiUnit::Seconds);
        assert_eq!(rollback.trend(), Trend::Worse);
        assert_eq!(rollback.trend_words(), "▲ 1 min 40 s vs the 28 days before (worse)");
        assert_eq!(kpi(Some(0.9), Some(0.905), true, KpiUnit::Ratio).trend(), Trend::Steady);
        assert_eq!(kpi(Some(0.9), None, true, KpiUnit::Ratio).trend(), Trend::Unknown);
        assert_eq!(kpi(None, None, true, KpiUnit::Ratio).shown(), "no data");
    }

    #[test]
    fn a_sparkline_has_a_point_per_week_with_a_value() {
        let mut success = kpi(Some(1.0), None, true, KpiUnit::Ratio);
        success.weekly = vec![Some(0.0), None, Some(0.5), Some(1.0)];
        assert_eq!(success.sparkline(120.0, 28.0), "0.0,26.0 80.0,14.0 120.0,2.0");
    }

    #[test]
    fn durations_and_countdowns_read_naturally() {
        assert_eq!(duration(45.0), "45 s");
        assert_eq!(duration(240.0), "4 min");
        assert_eq!(duration(250.0), "4 min 10 s");
        assert_eq!(duration(7500.0), "2 h 5 min");
        let now = 1_000_000_000;
        assert_eq!(countdown(now + (2 * 86_400 + 4 * 3600) * 1000, now), "in 2 d 4 h");
        assert_eq!(countdown(now + (3 * 3600 + 20 * 60 + 5) * 1000, now), "in 3 h 20 min");
        assert_eq!(countdown(now + 45_000, now), "in 45 s");
        assert_eq!(countdown(now - 1, now), "now");
    }
}
