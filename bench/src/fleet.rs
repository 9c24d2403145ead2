//! Synthetic fleets: `domains` domains with one service each and
//! `definitions` weekly train definitions, applied through the ordinary
//! trains-as-code path, and trains spread over a year.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use server::fleet::{apply, parse};
use server::store::{self, trains::NewTrain, Db};
use server::time::Instant;
use server::train_state::TrainState;

const DAYS: [&str; 5] = ["MO", "TU", "WE", "TH", "FR"];

/// How often the synthetic definitions run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Weekly, on weekdays and hours spread over the definitions.
    Weekly,
    /// Every day at noon UTC, planning opening a day before: every train opens at once.
    Daily,
}

/// A trains-as-code file with `domains` domains and `definitions` definitions.
pub fn file(domains: usize, definitions: usize, cadence: Cadence) -> String {
    let mut text = String::new();
    for d in 0..domains {
        text.push_str(&format!(
            "[[domain]]\nname = \"d{d:03}\"\n\n[[service]]\nname = \"svc-{d:03}\"\ndomain = \"d{d:03}\"\n\n"
        ));
    }
    for n in 0..definitions {
        let d = n % domains.max(1);
        let (rule, planning) = match cadence {
            Cadence::Weekly => (format!("FREQ=WEEKLY;BYDAY={};BYHOUR={}", DAYS[n % DAYS.len()], n % 24), "2d"),
            Cadence::Daily => ("FREQ=DAILY;BYHOUR=12".to_owned(), "1d"),
        };
        text.push_str(&format!(
            "[[train]]\nname = \"train-{n:05}\"\ndomain = \"d{d:03}\"\nservices = [\"svc-{d:03}\"]\n\
             cadence = \"{rule}\"\ntime_zone = \"UTC\"\nstarts = \"2026-01-05\"\n\
             planning_window = \"{planning}\"\ncutover_window = \"2h\"\ngates = [\"tests\"]\n\n"
        ));
    }
    text
}

/// Connects, migrates and applies a fleet of `domains` and `definitions`.
pub async fn fleet(database_url: &str, domains: usize, definitions: usize, cadence: Cadence) -> anyhow::Result<Db> {
    let db = Db::connect(database_url).await?;
    db.migrate().await?;
    let parsed = parse("bench fleet", &file(domains, definitions, cadence))
        .map_err(|problems| anyhow::anyhow!("the bench fleet is invalid: {}", problems[0]))?;
    apply(&db, &parsed, Utc::now()).await.map_err(|e| anyhow::anyhow!("applying the bench fleet: {e}"))?;
    Ok(db)
}

/// The store for the HTTP figures: the fleet, `trains` trains (past ones
/// completed, the rest scheduled) and a read token.
pub async fn seed(database_url: &str, domains: usize, trains: usize) -> anyhow::Result<Value> {
    let db = fleet(database_url, domains, domains, Cadence::Weekly).await?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let definitions = store::definitions::list(&mut tx).await?;
    let year = Duration::days(365).num_milliseconds();
    let first = Instant::from_utc(now) - year / 2;
    let spacing = year / i64::try_from(trains.div_ceil(definitions.len().max(1))).unwrap_or(1).max(1);
    for n in 0..trains {
        let definition = &definitions[n % definitions.len()];
        let round = i64::try_from(n / definitions.len())?;
        let cutover_at = first + round * spacing + i64::try_from(n % definitions.len())? * 60_000;
        let past = cutover_at < Instant::from_utc(now);
        let train = NewTrain {
            definition_id: definition.id.clone(),
            state: if past { TrainState::Completed } else { TrainState::Scheduled },
            planning_opens_at: cutover_at - definition.planning_window_ms,
            cutover_at,
            cutover_closes_at: cutover_at + definition.cutover_window_ms,
        };
        store::trains::insert_if_absent(&mut tx, &train, Instant::from_utc(now)).await?;
    }
    let secret = server::auth::secret::random_token(32);
    let token = store::tokens::ApiToken {
        id: store::new_id(),
        name: "bench".into(),
        scopes: "read".into(),
        domains: String::new(),
        created_by: "bench".into(),
        created_at: Instant::from_utc(now),
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    };
    store::tokens::insert(&mut tx, &token, &server::auth::secret::digest(&secret)).await?;
    tx.commit().await?;
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM trains").fetch_one(&mut *db.acquire().await?).await?;
    Ok(json!({ "trains": count, "domains": domains, "token": secret, "from": first, "to": first + year }))
}
