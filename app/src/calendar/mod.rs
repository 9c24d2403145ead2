//! The executive calendar (`/`): the dashboard, then a month (or with
//! `?view=quarter` three months, with `?view=year` twelve) of trains across every domain or one
//! (`?domain=payments`) and of every kind or one (`?kind=rehearsal`), with freezes shaded and break-glass exceptions
//! marked, navigated with `?month=2026-12` links that work with and without
//! JavaScript.

use railyard_views::calendar as model;

pub use model::{
    build_month, CalendarDay, CalendarMonth, DatedTrain, DomainKey, ExceptionNote, FreezeNote, TrainChip, YearMonth,
    KINDS,
};

use leptos::prelude::*;
use railyard_domain::train_kind::TrainKind;

use crate::error_text;
use leptos_router::hooks::use_query_map;

use crate::viewer_time::{clock_time, provide_viewer_zone, ViewerZone};

/// The calendar for `month` (`YYYY-MM`), or for the current month; one domain's, or every domain's.
#[server(prefix = "/rpc", endpoint = "calendar_month")]
pub async fn load_calendar(month: Option<String>, domain: Option<String>) -> Result<CalendarMonth, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let month = match month.as_deref().filter(|m| !m.is_empty()) {
        Some(text) => YearMonth::parse(text).map_err(|message| {
            crate::status::respond_with(400);
            ServerFnError::new(message)
        })?,
        None => backend.current_month(),
    };
    let domain = domain.filter(|d| !d.is_empty());
    backend.calendar_month(&caller, month, domain).await.map_err(crate::backend::BackendError::into_server_error)
}

/// `count` months from `month` on, for the quarter and year views.
async fn load_months(
    month: Option<String>,
    domain: Option<String>,
    count: usize,
) -> Result<Vec<CalendarMonth>, ServerFnError> {
    let mut months = vec![load_calendar(month, domain.clone()).await?];
    while months.len() < count {
        let next = months.last().map(|m| m.next.clone());
        months.push(load_calendar(next, domain.clone()).await?);
    }
    Ok(months)
}

/// How much of the calendar the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Month,
    Quarter,
    Year,
}

impl Span {
    fn parse(view: Option<&str>) -> Self {
        match view {
            Some("quarter") => Self::Quarter,
            Some("year") => Self::Year,
            _ => Self::Month,
        }
    }

    fn months(self) -> usize {
        match self {
            Self::Month => 1,
            Self::Quarter => 3,
            Self::Year => 12,
        }
    }

    /// Its `view=` value.
    fn param(self) -> Option<&'static str> {
        match self {
            Self::Month => None,
            Self::Quarter => Some("quarter"),
            Self::Year => Some("year"),
        }
    }
}

/// What the page's query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selection {
    month: Option<String>,
    domain: Option<String>,
    /// Only trains of this kind.
    kind: Option<TrainKind>,
    span: Span,
}

impl Selection {
    /// The page's address for another month, domain or view.
    fn href(&self, month: Option<&str>, domain: Option<&str>, span: Span) -> String {
        let mut pairs = Vec::new();
        if let Some(month) = month {
            pairs.push(format!("month={month}"));
        }
        if let Some(domain) = domain {
            pairs.push(format!("domain={domain}"));
        }
        if let Some(kind) = &self.kind {
            pairs.push(format!("kind={kind}"));
        }
        if let Some(view) = span.param() {
            pairs.push(format!("view={view}"));
        }
        if pairs.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", pairs.join("&"))
        }
    }
}

/// The page.
#[component]
pub fn CalendarPage() -> impl IntoView {
    let query = use_query_map();
    let selection = move || {
        let query = query.read();
        Selection {
            month: query.get("month").filter(|m| !m.is_empty()),
            domain: query.get("domain").filter(|d| !d.is_empty()),
            kind: query.get("kind").and_then(|k| k.parse::<TrainKind>().ok()),
            span: Span::parse(query.get("view").as_deref()),
        }
    };
    let months = Resource::new(selection, |s| async move {
        match s.span {
            Span::Month => load_calendar(s.month, s.domain).await.map(|m| vec![m]),
            span => load_months(s.month, s.domain, span.months()).await,
        }
    });
    let dashboard = Resource::new(move || selection().domain, crate::dashboard::load_dashboard);
    let zone = provide_viewer_zone();
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading the dashboard…"</p> }>
            {move || {
                dashboard
                    .get()
                    .map(|result| match result {
                        Ok(dashboard) => view! { <crate::dashboard::DashboardView dashboard zone/> }.into_any(),
                        Err(error) => view! { <p class="notice error" role="alert">{error_text(&error)}</p> }.into_any(),
                    })
            }}
        </Transition>
        <Transition fallback=|| view! { <p class="loading">"Loading the calendar…"</p> }>
            {move || {
                months
                    .get()
                    .map(|result| match result {
                        Ok(months) => view! { <CalendarView months selection=selection() zone/> }.into_any(),
                        Err(error) => {
                            view! {
                                <div class="error" role="alert">
                                    <p>{error_text(&error)}</p>
                                    <a href="/">"Go to the current month"</a>
                                </div>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

/// The filter, the view switch and the month, quarter or year.
#[component]
fn CalendarView(months: Vec<CalendarMonth>, selection: Selection, zone: ViewerZone) -> impl IntoView {
    let span = selection.span;
    let several = span != Span::Month;
    let (Some(first), Some(last)) = (months.first().cloned(), months.last().cloned()) else {
        return view! { <p class="empty">"Nothing to show."</p> }.into_any();
    };
    // A quarter (a year) steps three (twelve) months at a time.
    let previous = YearMonth::parse(&first.month)
        .map(|mut m| {
            for _ in 0..span.months() {
                m = m.previous();
            }
            m.to_string()
        })
        .unwrap_or_default();
    let title = if several { format!("{} – {}", first.title, last.title) } else { first.title.clone() };
    let href = {
        let selection = selection.clone();
        move |month: Option<&str>, span: Span| selection.href(month, selection.domain.as_deref(), span)
    };
    let (previous_label, next_label) = match span {
        Span::Month => ("‹ Previous", "Next ›"),
        Span::Quarter => ("‹ Previous quarter", "Next quarter ›"),
        Span::Year => ("‹ Previous year", "Next year ›"),
    };
    let domains = first.domains.clone();
    let months: Vec<CalendarMonth> = match &selection.kind {
        Some(kind) => months.into_iter().map(|m| m.only_kind(*kind)).collect(),
        None => months,
    };
    view! {
        <section class=if several { "calendar quarter" } else { "calendar" } aria-labelledby="month-title">
            <nav class="month-nav" aria-label="Months">
                <a class="nav-previous" rel="prev" href=href(Some(&previous), span)>
                    {previous_label}
                </a>
                <h1 id="month-title">{title}</h1>
                <a class="nav-next" rel="next" href=href(Some(&last.next), span)>
                    {next_label}
                </a>
                <a class="nav-today" href=href(None, span)>"Today"</a>
                <span class="view-switch" role="group" aria-label="View">
                    <a href=href(Some(&first.month), Span::Month) aria-current=(span == Span::Month).then_some("page")>
                        "Month"
                    </a>
                    <a href=href(Some(&first.month), Span::Quarter) aria-current=(span == Span::Quarter).then_some("page")>
                        "Quarter"
                    </a>
                    <a href=href(Some(&first.month), Span::Year) aria-current=(span == Span::Year).then_some("page")>
                        "Year"
                    </a>
                </span>
            </nav>
            <DomainFilter selection=selection.clone() domains=first.all_domains.clone()/>
            <p class="zone-note">
                "Cutover times in your time zone (" <span class="viewer-zone">{move || zone.0.get().unwrap_or_else(|| "UTC".to_owned())}</span>
                "); each train's own time beside it."
            </p>
            <Legend domains/>
            {months
                .into_iter()
                .map(|month| {
                    view! { <MonthGrid month zone linked=true titled=several/> }
                })
                .collect_view()}
        </section>
    }
    .into_any()
}

/// A plain GET form: works before (and without) the wasm.
#[component]
fn DomainFilter(selection: Selection, domains: Vec<String>) -> impl IntoView {
    let chosen = selection.domain.clone().unwrap_or_default();
    let kind = selection.kind;
    view! {
        <form class="domain-filter" method="get" action="/">
            {selection.month.clone().map(|m| view! { <input type="hidden" name="month" value=m/> })}
            {selection.span.param().map(|view| view! { <input type="hidden" name="view" value=view/> })}
            <label for="domain-select">"Domain"</label>
            <select id="domain-select" name="domain">
                <option value="" selected=chosen.is_empty()>"All domains"</option>
                {domains
                    .into_iter()
                    .map(|d| {
                        let selected = d == chosen;
                        let value = d.clone();
                        view! { <option value=value selected=selected>{d}</option> }
                    })
                    .collect_view()}
            </select>
            <label for="kind-select">"Kind"</label>
            <select id="kind-select" name="kind">
                <option value="" selected=kind.is_none()>"All kinds"</option>
                {KINDS
                    .iter()
                    .map(|(name, label)| view! { <option value=name.as_str() selected=kind == Some(*name)>{*label}</option> })
                    .collect_view()}
            </select>
            <button type="submit">"Show"</button>
        </form>
    }
}

/// `/embed/calendar`: the current month, read-only, for a wiki iframe (the server checked the signed link).
#[component]
pub fn EmbeddedCalendar() -> impl IntoView {
    let calendar = Resource::new(|| (), |()| load_calendar(None, None));
    let zone = provide_viewer_zone();
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading the calendar…"</p> }>
            {move || {
                calendar
                    .get()
                    .map(|result| match result {
                        Ok(month) => {
                            view! {
                                <section class="calendar embedded" aria-labelledby="month-title">
                                    <h1 id="month-title">{month.title.clone()}</h1>
                                    <Legend domains=month.domains.clone()/>
                                    <MonthGrid month zone linked=false titled=false/>
                                </section>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <p class="error" role="alert">{error_text(&error)}</p> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn Legend(domains: Vec<DomainKey>) -> impl IntoView {
    view! {
        <ul class="legend" aria-label="Domains">
            {domains
                .into_iter()
                .map(|d| {
                    view! {
                        <li style=format!("--domain: {}", d.colour)>
                            <span class="swatch"></span>
                            {d.name}
                        </li>
                    }
                })
                .collect_view()}
            <li class="legend-freeze">
                <span class="swatch"></span>
                "❄ freeze"
            </li>
            <li class="legend-exception">"⚡ break-glass exception"</li>
            <li class="legend-projected">
                <span class="swatch"></span>
                "projected: from the cadence, no train yet"
            </li>
        </ul>
    }
}

/// One month's grid; `titled` names the month above it (the quarter view shows three).
#[component]
fn MonthGrid(month: CalendarMonth, zone: ViewerZone, linked: bool, titled: bool) -> impl IntoView {
    let freezes = month.freezes.clone();
    let exceptions = month.exceptions.clone();
    let caption = titled.then(|| view! { <caption>{month.title.clone()}</caption> });
    view! {
        <table class="month-grid" data-month=month.month.clone()>
            {caption}
            <thead>
                <tr>
                    {["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
                        .map(|d| view! { <th scope="col">{d}</th> })
                        .collect_view()}
                </tr>
            </thead>
            <tbody>
                {month
                    .weeks
                    .into_iter()
                    .map(|week| {
                        view! {
                            <tr>{week.into_iter().map(|day| view! { <DayCell day zone linked/> }).collect_view()}</tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <FreezeList freezes exceptions/>
    }
    .into_any()
}

#[component]
fn DayCell(day: CalendarDay, zone: ViewerZone, linked: bool) -> impl IntoView {
    let mut class = vec!["day"];
    if !day.in_month {
        class.push("other-month");
    }
    if day.today {
        class.push("today");
    }
    if !day.freezes.is_empty() {
        class.push("frozen");
    }
    if day.is_quiet() {
        class.push("quiet");
    }
    let agenda_label = day.agenda_label();
    let frozen_title = (!day.freezes.is_empty()).then(|| format!("Freeze: {}", day.freezes.join(", ")));
    view! {
        <td class=class.join(" ") data-date=day.date.clone() title=frozen_title>
            <div class="day-head">
                <span class="day-number">{day.day}</span>
                <span class="agenda-date">{agenda_label}</span>
                {day.today.then(|| view! { <span class="today-mark">"today"</span> })}
                {(!day.freezes.is_empty())
                    .then(|| view! { <span class="freeze-mark">{format!("❄ {}", day.freezes.join(", "))}</span> })}
                {(!day.exceptions.is_empty())
                    .then(|| {
                        view! {
                            <span class="exception-mark">{format!("⚡ break-glass: {}", day.exceptions.join(", "))}</span>
                        }
                    })}
            </div>
            <ul class="trains">
                {day.trains.into_iter().map(|train| view! { <TrainItem train zone linked/> }).collect_view()}
            </ul>
        </td>
    }
}

#[component]
/// A train on its day; `linked` makes its name open the train page (not in embeds, which never navigate out).
fn TrainItem(train: TrainChip, zone: ViewerZone, linked: bool) -> impl IntoView {
    let ViewerZone(zone_name) = zone;
    let at = train.cutover_at;
    let viewer_time = move || clock_time(at, zone_name.get().is_some());
    let title = format!(
        "{}{} ({}) cuts over at {} {} ({}); state: {}{}",
        if train.kind == TrainKind::Regular {
            String::new()
        } else {
            format!("{} ", train.kind.as_str().to_uppercase())
        },
        train.name,
        train.domain,
        train.own_time,
        train.zone_abbreviation,
        train.time_zone,
        if train.id.is_empty() { "projected from its cadence (no train created yet)" } else { &train.state },
        if !train.freeze_effect.is_empty() {
            format!("; {}", train.freeze_effect)
        } else if train.frozen {
            "; inside a freeze".to_owned()
        } else {
            String::new()
        }
    );
    let class = format!(
        "train state-{}{}{}",
        train.state,
        if train.frozen { " in-freeze" } else { "" },
        crate::kind_class(train.kind)
    );
    view! {
        <li
            class=class
            style=format!("--domain: {}", train.colour)
            title=title
            data-train=train.id.clone()
            data-cutover-at=at
        >
            <span class="train-time viewer-time">{viewer_time}</span>
            <crate::KindMark kind=train.kind/>
            {if linked && !train.id.is_empty() {
                view! { <a class="train-name" href=format!("/trains/{}", train.id)>{train.name}</a> }.into_any()
            } else {
                view! { <span class="train-name">{train.name}</span> }.into_any()
            }}
            <span class="train-own-time">{format!("{} {}", train.own_time, train.zone_abbreviation)}</span>
            <span class="train-state">
                {train.state.replace('_', " ")}
                {(!train.freeze_effect.is_empty()).then(|| format!(" · {}", train.freeze_effect))}
                {(train.earlier > 0).then(|| format!(" · {} earlier today", train.earlier))}
            </span>
        </li>
    }
}

#[component]
fn FreezeList(freezes: Vec<FreezeNote>, exceptions: Vec<ExceptionNote>) -> impl IntoView {
    (!freezes.is_empty() || !exceptions.is_empty()).then(|| {
        view! {
            <section class="freeze-list" aria-label="Freezes and exceptions">
                <ul>
                    {freezes
                        .into_iter()
                        .map(|f| {
                            let scope = f.domain.clone().unwrap_or_else(|| "all domains".to_owned());
                            view! {
                                <li>
                                    "❄ " <strong>{f.name}</strong>
                                    {format!(" — {scope}, {} to {}", f.first_day, f.last_day)}
                                    {(!f.reason.is_empty()).then(|| format!(": {}", f.reason))}
                                </li>
                            }
                        })
                        .collect_view()}
                    {exceptions
                        .into_iter()
                        .map(|e| {
                            view! {
                                <li class="exception">
                                    "⚡ " <strong>{format!("break-glass in {}", e.domain)}</strong>
                                    {format!(", {} to {}: {}", e.first_day, e.last_day, e.reason)}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    })
}
