//! The plan: every cutover in a span, real trains and, beyond what the
//! scheduler has created, the cutovers each definition's cadence will bring
//! (projected: computed by the scheduler's own `cutovers`, never stored),
//! each with the freeze in its way as the freeze preview would treat it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::train_list::{self, Audience};
use crate::cadence::{freeze_effect, FreezeEffect};
use crate::ids::TrainId;
use crate::scheduler;
use crate::service::{Ctx, ServiceError};
use crate::store::{self, definitions::Definition, domains::Domain, freezes::Freeze};
use crate::time::Instant;
use crate::train_kind::TrainKind;
use crate::train_state::TrainState;

/// One cutover, real or projected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutover {
    pub definition: String,
    pub domain: String,
    pub time_zone: String,
    pub cutover_at: Instant,
    pub cutover_closes_at: Instant,
    /// The train, once the scheduler (or a person) has created it; `None`: projected.
    pub train: Option<RealTrain>,
    pub freeze: Option<FreezeHold>,
}

/// A created train's identity and standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealTrain {
    pub id: TrainId,
    pub state: TrainState,
    pub kind: TrainKind,
}

/// The freeze that holds a cutover, and what it does to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeHold {
    pub name: String,
    pub effect: FreezeEffect,
    /// When the freeze ends.
    pub until: Instant,
}

/// The cutovers of `domain` (or every domain `audience` may read) in `[from, to)`,
/// by time: the trains that exist, and from now on the cadences' projections
/// of the ones that do not exist yet.
pub async fn between(
    ctx: Ctx<'_>,
    audience: &Audience,
    from: Instant,
    to: Instant,
    domain: Option<&str>,
) -> Result<Vec<Cutover>, ServiceError> {
    let real = train_list::between(ctx, audience, from, to, domain).await?;
    let mut conn = ctx.db.acquire().await?;
    let definitions = store::definitions::list(&mut conn).await?;
    let domains = store::domains::list(&mut conn).await?;
    let freezes = store::freezes::list(&mut conn).await?;
    drop(conn);
    let domain_id = |name: &str| domains.iter().find(|d| d.name == name).map(|d| d.id.clone()).unwrap_or_default();
    let visible = |name: &str| {
        domain.is_none_or(|asked| asked == name)
            && match audience {
                Audience::Everyone => true,
                Audience::Domains(limits) => limits.iter().any(|l| l == name),
            }
    };
    let created: BTreeSet<(String, Instant)> = real.iter().map(|t| (t.definition.clone(), t.cutover_at)).collect();
    let mut plan: Vec<Cutover> = real
        .iter()
        .map(|t| Cutover {
            definition: t.definition.clone(),
            domain: t.domain.clone(),
            time_zone: t.time_zone.clone(),
            cutover_at: t.cutover_at,
            cutover_closes_at: t.cutover_closes_at,
            train: Some(RealTrain { id: t.id.clone(), state: t.state, kind: t.kind }),
            freeze: t
                .state
                .freezable()
                .then(|| {
                    hold(&freezes, &domain_id(&t.domain), t.cutover_at, t.cutover_closes_at, t.state.rolling_out())
                })
                .flatten(),
        })
        .collect();
    // Only cutovers still to come are projected: the scheduler never creates a past one.
    let known = Known { definitions: &definitions, domains: &domains, freezes: &freezes };
    plan.extend(projected(&known, &created, (from.max(ctx.now()), to), visible));
    plan.sort_by(|a, b| (a.cutover_at, &a.definition).cmp(&(b.cutover_at, &b.definition)));
    Ok(plan)
}

/// What projections are made from, as loaded from the store.
pub struct Known<'a> {
    pub definitions: &'a [Definition],
    pub domains: &'a [Domain],
    pub freezes: &'a [Freeze],
}

/// The cutovers the definitions' cadences bring in `[from, to)` (of the
/// domains `shown` lets through) that no train in `created` (definition name,
/// cutover) has yet, each with the freeze in its way.
pub fn projected(
    known: &Known<'_>,
    created: &BTreeSet<(String, Instant)>,
    (from, to): (Instant, Instant),
    shown: impl Fn(&str) -> bool,
) -> Vec<Cutover> {
    let mut found = Vec::new();
    for definition in known.definitions {
        let Some(owner) = known.domains.iter().find(|d| d.id == definition.domain_id) else { continue };
        if !shown(&owner.name) {
            continue;
        }
        let Ok(cadence) = scheduler::parse_cadence(definition) else { continue };
        for train in scheduler::cutovers(definition, &cadence, from.to_utc(), to.to_utc()) {
            if created.contains(&(definition.name.clone(), train.cutover_at)) {
                continue;
            }
            found.push(Cutover {
                definition: definition.name.clone(),
                domain: owner.name.clone(),
                time_zone: definition.time_zone.clone(),
                cutover_at: train.cutover_at,
                cutover_closes_at: train.cutover_closes_at,
                train: None,
                freeze: hold(known.freezes, &owner.id, train.cutover_at, train.cutover_closes_at, false),
            });
        }
    }
    found
}

/// The first freeze of `domain_id` meeting the cutover window, as the freeze preview treats it.
fn hold(
    freezes: &[Freeze],
    domain_id: &str,
    cutover_at: Instant,
    closes_at: Instant,
    in_flight: bool,
) -> Option<FreezeHold> {
    freezes.iter().filter(|f| f.domain_id.as_deref().is_none_or(|d| d == domain_id)).find_map(|freeze| {
        let windows = freeze.windows(cutover_at, closes_at);
        freeze_effect(&windows, cutover_at, closes_at, in_flight).map(|(effect, window)| FreezeHold {
            name: freeze.name.clone(),
            effect,
            until: window.end,
        })
    })
}

/// How far ahead a plan reaches (and the longest range it is asked for).
pub const MAX_DAYS: i64 = 400;

/// One cutover as the API answers it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CutoverJson {
    pub definition: String,
    pub domain: String,
    /// The definition's own time zone.
    pub time_zone: String,
    pub cutover_at: String,
    pub cutover_closes_at: String,
    /// `true`: computed from the cadence beyond the trains created so far; nothing is stored.
    pub projected: bool,
    /// The real train's state, or `projected`.
    pub state: String,
    /// `regular`, `emergency`, `hotfix` or `rehearsal`; projected cutovers are regular.
    pub kind: TrainKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_id: Option<String>,
    /// The freeze in the way: its name, `suspended` or `moved`, and when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze: Option<FreezeJson>,
}

/// A freeze in a cutover's way.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FreezeJson {
    pub name: String,
    pub effect: String,
    pub until: String,
}

impl From<&Cutover> for CutoverJson {
    fn from(cutover: &Cutover) -> Self {
        Self {
            definition: cutover.definition.clone(),
            domain: cutover.domain.clone(),
            time_zone: cutover.time_zone.clone(),
            cutover_at: cutover.cutover_at.rfc3339(),
            cutover_closes_at: cutover.cutover_closes_at.rfc3339(),
            projected: cutover.train.is_none(),
            state: cutover.train.as_ref().map_or_else(|| "projected".to_owned(), |t| t.state.to_string()),
            kind: cutover.train.as_ref().map_or(TrainKind::Regular, |t| t.kind),
            train_id: cutover.train.as_ref().map(|t| t.id.to_string()),
            freeze: cutover.freeze.as_ref().map(|f| FreezeJson {
                name: f.name.clone(),
                effect: f.effect.as_str().to_owned(),
                until: f.until.rfc3339(),
            }),
        }
    }
}
