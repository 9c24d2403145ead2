//! The calendar's view model: a month grid of days with trains and freezes.
//! Built on the server, serialised to the browser. Pure.

use railyard_domain::train_kind::TrainKind;
use std::fmt;

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// A calendar month such as `2026-12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct YearMonth {
    year: i32,
    month: u32,
}

impl YearMonth {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || format!("\"{text}\" is not a month like \"2026-12\"");
        let (year, month) = text.trim().split_once('-').ok_or_else(invalid)?;
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let month: u32 = month.parse().map_err(|_| invalid())?;
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || text.trim().len() != 7 {
            return Err(invalid());
        }
        Ok(Self { year, month })
    }

    /// The month containing `date`.
    pub fn of(date: NaiveDate) -> Self {
        Self { year: date.year(), month: date.month() }
    }

    /// The first day of the month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// The month before.
    pub fn previous(self) -> Self {
        Self::of(self.first_day() - Duration::days(1))
    }

    /// The month after.
    pub fn next(self) -> Self {
        Self::of(self.first_day() + Duration::days(32))
    }

    /// "December 2026".
    pub fn title(self) -> String {
        self.first_day().format("%B %Y").to_string()
    }

    /// The Monday-to-Sunday days the month's grid shows: whole weeks covering the month.
    pub fn grid(self) -> (NaiveDate, NaiveDate) {
        let first = self.first_day();
        let start = first - Duration::days(i64::from(first.weekday().num_days_from_monday()));
        let last = self.next().first_day() - Duration::days(1);
        let end = last + Duration::days(i64::from(6 - last.weekday().num_days_from_monday()));
        (start, end)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// One month of the executive calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarMonth {
    /// `2026-12`.
    pub month: String,
    /// "December 2026".
    pub title: String,
    pub previous: String,
    pub next: String,
    pub weeks: Vec<Vec<CalendarDay>>,
    pub domains: Vec<DomainKey>,
    pub freezes: Vec<FreezeNote>,
    /// Granted break-glass exceptions touching the month.
    #[serde(default)]
    pub exceptions: Vec<ExceptionNote>,
    /// Every domain's name, for the domain filter (`domains` holds only those shown).
    #[serde(default)]
    pub all_domains: Vec<String>,
}

impl CalendarMonth {
    /// The month with only the trains of `kind`; `emergency` takes hotfixes too.
    pub fn only_kind(mut self, kind: TrainKind) -> Self {
        let wanted =
            |chip: &TrainChip| chip.kind == kind || (kind == TrainKind::Emergency && chip.kind == TrainKind::Hotfix);
        for day in self.weeks.iter_mut().flatten() {
            day.trains.retain(wanted);
        }
        self
    }
}

/// The kinds of train the calendar can be filtered by, with their labels.
pub const KINDS: [(TrainKind, &str); 4] = [
    (TrainKind::Regular, "Regular"),
    (TrainKind::Emergency, "Emergency and hotfix"),
    (TrainKind::Hotfix, "Hotfix"),
    (TrainKind::Rehearsal, "Rehearsal"),
];

/// One day cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    /// `2026-12-01`.
    pub date: String,
    pub day: u32,
    /// False for the leading and trailing days of neighbouring months.
    pub in_month: bool,
    pub today: bool,
    /// Names of the freezes holding on this day.
    pub freezes: Vec<String>,
    /// Domains with a granted break-glass exception on this day.
    #[serde(default)]
    pub exceptions: Vec<String>,
    pub trains: Vec<TrainChip>,
}

impl CalendarDay {
    /// The day as the narrow agenda names it: `Mon 7 Dec`.
    pub fn agenda_label(&self) -> String {
        NaiveDate::parse_from_str(&self.date, "%Y-%m-%d")
            .map_or_else(|_| self.date.clone(), |d| d.format("%a %-d %b").to_string())
    }

    /// Whether the day has nothing to show (the agenda leaves it out).
    pub fn is_quiet(&self) -> bool {
        !self.today && self.freezes.is_empty() && self.exceptions.is_empty() && self.trains.is_empty()
    }
}

/// A train as the calendar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainChip {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub colour: String,
    pub state: String,
    /// Cutover instant, epoch milliseconds.
    pub cutover_at: i64,
    /// Cutover wall-clock time in the train's own zone, `03:00`.
    pub own_time: String,
    /// The train's IANA zone.
    pub time_zone: String,
    /// The zone's abbreviation at cutover, `CET`.
    pub zone_abbreviation: String,
    /// Whether a freeze covering this train's domain holds at cutover.
    pub frozen: bool,
    /// Earlier trains of the same definition on the same day, folded into this chip.
    #[serde(default)]
    pub earlier: usize,
    #[serde(default)]
    pub kind: TrainKind,
    /// A projected cutover inside a freeze: `moved by year-end` or `suspended by …`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub freeze_effect: String,
}

/// A domain in the legend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainKey {
    pub name: String,
    pub colour: String,
}

/// A freeze that touches the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeNote {
    pub name: String,
    /// `None` for every domain.
    pub domain: Option<String>,
    pub reason: String,
    /// First and last frozen day, `2026-11-25`.
    pub first_day: String,
    pub last_day: String,
}

/// A granted break-glass exception: deploys allowed through a freeze in one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionNote {
    pub domain: String,
    pub reason: String,
    /// First and last day it covers (UTC), `2026-11-25`.
    pub first_day: String,
    pub last_day: String,
}

/// A train placed on the day of its cutover.
pub struct DatedTrain {
    pub day: NaiveDate,
    pub chip: TrainChip,
}

/// Lays `trains` and `freezes` out on the grid of `month`.
pub fn build_month(
    month: YearMonth,
    today: NaiveDate,
    trains: Vec<DatedTrain>,
    freezes: Vec<FreezeNote>,
    exceptions: Vec<ExceptionNote>,
    domains: Vec<DomainKey>,
) -> CalendarMonth {
    let (start, end) = month.grid();
    let mut days = Vec::new();
    let mut day = start;
    while day <= end {
        let key = day.format("%Y-%m-%d").to_string();
        days.push(CalendarDay {
            freezes: freezes
                .iter()
                .filter(|f| f.first_day.as_str() <= key.as_str() && key.as_str() <= f.last_day.as_str())
                .map(|f| f.name.clone())
                .collect(),
            exceptions: exceptions
                .iter()
                .filter(|e| e.first_day.as_str() <= key.as_str() && key.as_str() <= e.last_day.as_str())
                .map(|e| e.domain.clone())
                .collect(),
            trains: fold_same_definition(trains.iter().filter(|t| t.day == day).map(|t| &t.chip)),
            in_month: YearMonth::of(day) == month,
            today: day == today,
            day: day.day(),
            date: key,
        });
        day += Duration::days(1);
    }
    CalendarMonth {
        month: month.to_string(),
        title: month.title(),
        previous: month.previous().to_string(),
        next: month.next().to_string(),
        weeks: days.chunks(7).map(<[CalendarDay]>::to_vec).collect(),
        domains,
        freezes,
        exceptions,
        all_domains: Vec::new(),
    }
}

/// One chip per definition and day: the latest train, counting the earlier ones
/// (a definition that runs many times a day would otherwise flood the cell).
fn fold_same_definition<'a>(chips: impl Iterator<Item = &'a TrainChip>) -> Vec<TrainChip> {
    let mut folded: Vec<TrainChip> = Vec::new();
    for chip in chips {
        // Trains of different kinds are never folded together (an emergency into a regular one).
        match folded.iter_mut().find(|c| c.name == chip.name && c.kind == chip.kind) {
            Some(existing) if existing.cutover_at <= chip.cutover_at => {
                let earlier = existing.earlier + 1;
                *existing = TrainChip { earlier, ..chip.clone() };
            }
            Some(existing) => existing.earlier += 1,
            None => folded.push(chip.clone()),
        }
    }
    folded
}

#[cfg(test)]
mod agenda_tests {
    use super::*;

    #[test]
    fn the_agenda_names_a_day_by_weekday_day_and_month() {
        let day = CalendarDay {
            date: "2026-12-07".into(),
            day: 7,
            in_month: true,
            today: false,
            freezes: vec![],
            exceptions: vec![],
            trains: vec![],
        };
        assert_eq!(day.agenda_label(), "Mon 7 Dec");
        assert!(day.is_quiet());
        assert!(!CalendarDay { freezes: vec!["year end".into()], ..day }.is_quiet());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn months_parse_and_step_across_year_ends() {
        let december = YearMonth::parse("2026-12").expect("valid");
        assert_eq!(december.next().to_string(), "2027-01");
        assert_eq!(YearMonth::parse("2027-01").expect("valid").previous(), december);
        assert_eq!(december.title(), "December 2026");
        for bad in ["2026-13", "2026-1", "december", "2026-00", ""] {
            assert!(YearMonth::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn the_grid_covers_whole_weeks_from_monday() {
        // November 2026 starts on a Sunday and ends on a Monday.
        let (start, end) = YearMonth::parse("2026-11").expect("valid").grid();
        assert_eq!((start, end), (date(2026, 10, 26), date(2026, 12, 6)));
    }

    #[test]
    fn trains_and_freezes_land_on_their_days() {
        let chip = TrainChip {
            id: "t1".into(),
            name: "payments-weekly".into(),
            domain: "payments".into(),
            colour: "#0072B2".into(),
            state: "scheduled".into(),
            cutover_at: 0,
            own_time: "03:00".into(),
            time_zone: "Europe/Berlin".into(),
            zone_abbreviation: "CET".into(),
            frozen: false,
            earlier: 0,
            kind: TrainKind::Regular,
            freeze_effect: String::new(),
        };
        let freeze = FreezeNote {
            name: "thanksgiving".into(),
            domain: None,
            reason: String::new(),
            first_day: "2026-11-25".into(),
            last_day: "2026-11-29".into(),
        };
        let month = build_month(
            YearMonth::parse("2026-11").expect("valid"),
            date(2026, 11, 27),
            vec![
                DatedTrain { day: date(2026, 11, 24), chip: chip.clone() },
                DatedTrain { day: date(2026, 11, 26), chip: TrainChip { cutover_at: 1, ..chip.clone() } },
                DatedTrain { day: date(2026, 11, 26), chip: TrainChip { id: "t3".into(), cutover_at: 2, ..chip } },
            ],
            vec![freeze],
            vec![ExceptionNote {
                domain: "payments".into(),
                reason: "hotfix".into(),
                first_day: "2026-11-26".into(),
                last_day: "2026-11-27".into(),
            }],
            vec![],
        );
        let days: Vec<&CalendarDay> = month.weeks.iter().flatten().collect();
        assert_eq!(month.weeks.len(), 6);
        assert!(month.weeks.iter().all(|w| w.len() == 7));
        let find = |key: &str| days.iter().find(|d| d.date == key).expect("day in grid");
        assert_eq!(find("2026-11-24").trains.len(), 1);
        let folded = &find("2026-11-26").trains;
        assert_eq!(
            (folded.len(), folded[0].id.as_str(), folded[0].earlier),
            (1, "t3", 1),
            "the latest train, one earlier"
        );
        assert!(find("2026-11-27").today);
        assert_eq!(find("2026-11-29").freezes, vec!["thanksgiving".to_owned()]);
        assert!(find("2026-11-30").freezes.is_empty());
        assert_eq!(find("2026-11-27").exceptions, vec!["payments".to_owned()]);
        assert!(find("2026-11-28").exceptions.is_empty());
        assert!(!find("2026-10-31").in_month);
    }

    #[test]
    fn the_kind_filter_keeps_only_that_kind_and_emergency_takes_hotfixes() {
        let chip = |id: &str, kind: &str| TrainChip {
            id: id.into(),
            name: format!("train-{id}"),
            domain: "payments".into(),
            colour: "#0072B2".into(),
            state: "scheduled".into(),
            cutover_at: 0,
            own_time: "03:00".into(),
            time_zone: "UTC".into(),
            zone_abbreviation: "UTC".into(),
            frozen: false,
            earlier: 0,
            kind: kind.parse().expect("a kind"),
            freeze_effect: String::new(),
        };
        let day = date(2026, 11, 24);
        let dated = ["regular", "emergency", "hotfix", "rehearsal"]
            .iter()
            .map(|kind| DatedTrain { day, chip: chip(kind, kind) })
            .collect();
        let month = build_month(YearMonth::parse("2026-11").expect("valid"), day, dated, vec![], vec![], vec![]);
        let shown = |kind: &str| -> Vec<String> {
            let filtered = month.clone().only_kind(kind.parse().expect("a kind"));
            filtered.weeks.iter().flatten().flat_map(|d| d.trains.iter().map(|c| c.id.clone())).collect()
        };
        assert_eq!(shown("rehearsal"), vec!["rehearsal".to_owned()]);
        assert_eq!(shown("regular"), vec!["regular".to_owned()]);
        let mut emergencies = shown("emergency");
        emergencies.sort();
        assert_eq!(emergencies, vec!["emergency".to_owned(), "hotfix".to_owned()]);
    }
}
