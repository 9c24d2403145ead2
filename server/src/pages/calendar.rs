//! The executive calendar: reads trains, freezes and domains from the
//! store and lays them out with the app's view model.

use std::collections::HashMap;
use std::str::FromStr;

use app::calendar::{build_month, CalendarMonth, DatedTrain, DomainKey, FreezeNote, TrainChip, YearMonth};
use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;

use crate::schedule::Window;
use crate::store::{self, freezes::Freeze, Db};
use crate::time::{from_ms, to_ms};

/// The calendar of `month`, with `today` marked.
pub async fn month(db: &Db, today: NaiveDate, month: YearMonth) -> anyhow::Result<CalendarMonth> {
    let (first, last) = month.grid();
    // Wider than the grid by a day on each side: a train's local date can differ from its UTC date.
    let from = to_ms((first - Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    let to = to_ms((last + Duration::days(2)).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    let mut conn = db.acquire().await?;
    let domains = store::domains::list(&mut conn).await?;
    let trains = store::trains::cutting_over_between(&mut conn, from, to, None).await?;
    let freezes = store::freezes::list(&mut conn).await?;
    drop(conn);

    let domain_names: HashMap<&str, &str> = domains.iter().map(|d| (d.id.as_str(), d.name.as_str())).collect();
    let windows: Vec<(&Freeze, Option<&str>, Window)> = freezes
        .iter()
        .flat_map(|freeze| {
            let domain = freeze.domain_id.as_deref().and_then(|id| domain_names.get(id).copied());
            freeze.windows(from, to).into_iter().map(move |w| (freeze, domain, w))
        })
        .collect();

    let dated = trains
        .into_iter()
        .filter_map(|train| {
            let tz = Tz::from_str(&train.time_zone).ok()?;
            let local = from_ms(train.cutover_at).with_timezone(&tz);
            let day = local.date_naive();
            let frozen = windows.iter().any(|(_, domain, w)| {
                domain.is_none_or(|d| d == train.domain) && w.overlaps(train.cutover_at, train.cutover_at + 1)
            });
            (first..=last).contains(&day).then(|| DatedTrain {
                day,
                chip: TrainChip {
                    own_time: local.format("%H:%M").to_string(),
                    zone_abbreviation: local.format("%Z").to_string(),
                    id: train.id,
                    name: train.definition,
                    domain: train.domain,
                    colour: train.domain_colour,
                    state: train.state,
                    cutover_at: train.cutover_at,
                    time_zone: train.time_zone,
                    frozen,
                    earlier: 0,
                    emergency: train.kind == "emergency",
                },
            })
        })
        .collect();

    let notes = windows
        .iter()
        .filter_map(|(freeze, domain, w)| {
            let tz = Tz::from_str(&freeze.time_zone).ok()?;
            let first_day = from_ms(w.start).with_timezone(&tz).date_naive();
            let last_day = from_ms(w.end - 1).with_timezone(&tz).date_naive();
            (first_day <= last && last_day >= first).then(|| FreezeNote {
                name: freeze.name.clone(),
                domain: domain.map(str::to_owned),
                reason: freeze.reason.clone(),
                first_day: first_day.format("%Y-%m-%d").to_string(),
                last_day: last_day.format("%Y-%m-%d").to_string(),
            })
        })
        .collect();

    let keys = domains.into_iter().map(|d| DomainKey { name: d.name, colour: d.colour }).collect();
    Ok(build_month(month, today, dated, notes, keys))
}
