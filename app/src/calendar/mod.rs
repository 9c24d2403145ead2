//! The executive calendar (`/`): a month of trains across every domain, with
//! freezes shaded, navigated with `?month=2026-12` links that work with and
//! without JavaScript.

mod model;

pub use model::{build_month, CalendarDay, CalendarMonth, DatedTrain, DomainKey, FreezeNote, TrainChip, YearMonth};

use leptos::prelude::*;

use crate::error_text;
use leptos_router::hooks::use_query_map;

use crate::viewer_time::{clock_time, provide_viewer_zone, ViewerZone};

/// The calendar for `month` (`YYYY-MM`), or for the current month.
#[server(prefix = "/rpc", endpoint = "calendar_month")]
pub async fn load_calendar(month: Option<String>) -> Result<CalendarMonth, ServerFnError> {
    let (backend, caller) = crate::backend::backend_and_caller()?;
    let month = match month.as_deref().filter(|m| !m.is_empty()) {
        Some(text) => YearMonth::parse(text).map_err(|message| {
            crate::status::respond_with(400);
            ServerFnError::new(message)
        })?,
        None => backend.current_month(),
    };
    backend.calendar_month(&caller, month).await.map_err(crate::backend::BackendError::into_server_error)
}

/// The page.
#[component]
pub fn CalendarPage() -> impl IntoView {
    let query = use_query_map();
    let month = move || query.read().get("month");
    let calendar = Resource::new(month, load_calendar);
    let zone = provide_viewer_zone();
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading the calendar…"</p> }>
            {move || {
                calendar
                    .get()
                    .map(|result| match result {
                        Ok(month) => view! { <MonthView month zone embedded=false/> }.into_any(),
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

/// `/embed/calendar`: the current month, read-only, for a wiki iframe (the server checked the signed link).
#[component]
pub fn EmbeddedCalendar() -> impl IntoView {
    let calendar = Resource::new(|| None, load_calendar);
    let zone = provide_viewer_zone();
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading the calendar…"</p> }>
            {move || {
                calendar
                    .get()
                    .map(|result| match result {
                        Ok(month) => view! { <MonthView month zone embedded=true/> }.into_any(),
                        Err(error) => view! { <p class="error" role="alert">{error_text(&error)}</p> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn MonthView(month: CalendarMonth, zone: ViewerZone, embedded: bool) -> impl IntoView {
    let ViewerZone(zone_name) = zone;
    let zone_label = move || zone_name.get().unwrap_or_else(|| "UTC".to_owned());
    let freezes = month.freezes.clone();
    view! {
        <section class="calendar" aria-labelledby="month-title">
            <nav class="month-nav" aria-label="Months">
                <Show when=move || !embedded>
                    <a class="nav-previous" rel="prev" href=format!("/?month={}", month.previous)>
                        "‹ Previous"
                    </a>
                </Show>
                <h1 id="month-title">{month.title.clone()}</h1>
                <Show when=move || !embedded>
                    <a class="nav-next" rel="next" href=format!("/?month={}", month.next)>
                        "Next ›"
                    </a>
                    <a class="nav-today" href="/">"Today"</a>
                </Show>
            </nav>
            <p class="zone-note">
                "Cutover times in your time zone (" <span class="viewer-zone">{zone_label}</span>
                "); each train's own time beside it."
            </p>
            <ul class="legend" aria-label="Domains">
                {month
                    .domains
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
                    "freeze"
                </li>
            </ul>
            <table class="month-grid">
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
                                <tr>
                                    {week.into_iter().map(|day| view! { <DayCell day zone linked=!embedded/> }).collect_view()}
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <FreezeList freezes/>
        </section>
    }
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
    let frozen_title = (!day.freezes.is_empty()).then(|| format!("Freeze: {}", day.freezes.join(", ")));
    view! {
        <td class=class.join(" ") data-date=day.date.clone() title=frozen_title>
            <div class="day-head">
                <span class="day-number">{day.day}</span>
                {day.today.then(|| view! { <span class="today-mark">"today"</span> })}
                {(!day.freezes.is_empty())
                    .then(|| view! { <span class="freeze-mark">{format!("❄ {}", day.freezes.join(", "))}</span> })}
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
        if train.emergency { "EMERGENCY " } else { "" },
        train.name,
        train.domain,
        train.own_time,
        train.zone_abbreviation,
        train.time_zone,
        train.state,
        if train.frozen { "; inside a freeze" } else { "" }
    );
    let class = format!(
        "train state-{}{}{}",
        train.state,
        if train.frozen { " in-freeze" } else { "" },
        if train.emergency { " emergency" } else { "" }
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
            {train.emergency.then(|| view! { <span class="emergency-mark">"EMERGENCY"</span> })}
            {if linked {
                view! { <a class="train-name" href=format!("/trains/{}", train.id)>{train.name}</a> }.into_any()
            } else {
                view! { <span class="train-name">{train.name}</span> }.into_any()
            }}
            <span class="train-own-time">{format!("{} {}", train.own_time, train.zone_abbreviation)}</span>
            <span class="train-state">
                {train.state.replace('_', " ")}
                {(train.earlier > 0).then(|| format!(" · {} earlier today", train.earlier))}
            </span>
        </li>
    }
}

#[component]
fn FreezeList(freezes: Vec<FreezeNote>) -> impl IntoView {
    (!freezes.is_empty()).then(|| {
        view! {
            <section class="freeze-list" aria-label="Freezes this month">
                <h2>"Freezes"</h2>
                <ul>
                    {freezes
                        .into_iter()
                        .map(|f| {
                            let scope = f.domain.clone().unwrap_or_else(|| "all domains".to_owned());
                            view! {
                                <li>
                                    <strong>{f.name}</strong>
                                    {format!(" — {scope}, {} to {}", f.first_day, f.last_day)}
                                    {(!f.reason.is_empty()).then(|| format!(": {}", f.reason))}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    })
}
