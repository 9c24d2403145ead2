//! Planned-work silences: for each train whose definition expects alerts,
//! one Alertmanager silence per `[[train.expected_alerts]]` from cutover to
//! the end of its window (extended while a rollback runs), its comment
//! naming the train; expired as soon as the train ends or the window passes.
//! A silence always ends by itself at the window's end, so a Railyard that
//! stops never leaves alerts muted for long.

use std::collections::BTreeSet;

use super::alertmanager::Alertmanagers;
use super::AlerterSettings;
use crate::alerting::silence::silenced_until;
use crate::store::alerts::TrainSilence;
use crate::store::{self, Db};
use crate::time::Instant;

/// Creates, extends and expires silences so they match the trains' state at `now`.
pub(super) async fn keep(
    db: &Db,
    alertmanagers: &Alertmanagers,
    settings: &AlerterSettings,
    now: Instant,
) -> anyhow::Result<()> {
    let mut conn = db.acquire().await?;
    let held = store::alerts::silences(&mut conn).await?;
    let mut trains: BTreeSet<String> = held.iter().map(|s| s.train_id.clone()).collect();
    trains.extend(super::opened_trains(&mut conn).await?);
    let extend_ms = super::lapse_ms(settings);
    let mut failures = Vec::new();
    for train_id in trains {
        let mine: Vec<&TrainSilence> = held.iter().filter(|s| s.train_id == train_id).collect();
        let wanted = wanted(db, &mut conn, &train_id, now, extend_ms).await?;
        let outcome = match wanted {
            Some((expected, until, definition)) => {
                let plan = Plan { train_id: &train_id, definition: &definition, expected: &expected, until };
                hold(&mut conn, alertmanagers, &plan, &mine, now).await
            }
            None => lift(&mut conn, alertmanagers, &mine).await,
        };
        if let Err(error) = outcome {
            failures.push(format!("train {train_id}: {error:#}"));
        }
    }
    if !failures.is_empty() {
        anyhow::bail!(failures.join("; "));
    }
    Ok(())
}

type Expected = Vec<crate::alerting::silence::ExpectedAlerts>;

/// The train's expected alerts and until when they are silenced, or `None` when they should not be.
async fn wanted(
    db: &Db,
    conn: &mut store::Conn,
    train_id: &str,
    now: Instant,
    extend_ms: i64,
) -> anyhow::Result<Option<(Expected, Instant, String)>> {
    let Some(definition_id) = store::trains::definition_id_of(conn, train_id).await? else { return Ok(None) };
    let Some(definition) = store::definitions::by_id(conn, &definition_id).await? else { return Ok(None) };
    if definition.alerting.expected_alerts.is_empty() {
        return Ok(None);
    }
    let Some(run) = super::watched_run(db, conn, train_id).await? else { return Ok(None) };
    Ok(silenced_until(&run, definition.cutover_window_ms, now, extend_ms)
        .map(|until| (definition.alerting.0.expected_alerts, until, definition.name)))
}

/// The silences one train should hold, and until when.
struct Plan<'a> {
    train_id: &'a str,
    definition: &'a str,
    expected: &'a Expected,
    until: Instant,
}

/// Creates the silences a train lacks and extends those ending before the plan's end.
async fn hold(
    conn: &mut store::Conn,
    alertmanagers: &Alertmanagers,
    plan: &Plan<'_>,
    mine: &[&TrainSilence],
    now: Instant,
) -> anyhow::Result<()> {
    let Plan { train_id, definition, expected, until } = *plan;
    for (position, alerts) in expected.iter().enumerate() {
        let position = i64::try_from(position)?;
        let known = mine.iter().find(|s| s.position == position);
        if known.is_some_and(|s| s.ends_at >= until) {
            continue;
        }
        let why = if alerts.comment.is_empty() { "expected while it rolls out" } else { alerts.comment.as_str() };
        let comment = format!("railyard train {train_id} ({definition}): planned work, {why}");
        let id = known.map(|s| s.silence_id.as_str());
        let silence_id = alertmanagers.silence(id, &alerts.matchers, now, until, &comment).await?;
        let silence = TrainSilence { train_id: train_id.to_owned(), position, silence_id, ends_at: until };
        store::alerts::keep_silence(conn, &silence).await?;
        tracing::info!(train = %train_id, until = %until.rfc3339(), "planned-work silence held");
    }
    Ok(())
}

/// Expires a train's silences.
async fn lift(conn: &mut store::Conn, alertmanagers: &Alertmanagers, mine: &[&TrainSilence]) -> anyhow::Result<()> {
    for silence in mine {
        alertmanagers.expire(&silence.silence_id).await?;
        store::alerts::forget_silence(conn, &silence.train_id, silence.position).await?;
        tracing::info!(train = %silence.train_id, "planned-work silence expired");
    }
    Ok(())
}
