//! Showing instants in the viewer's time zone. The server does not know the
//! viewer's zone, so server-rendered HTML shows UTC; once hydrated, the
//! browser re-renders the same instants in its own zone.

use leptos::prelude::*;

/// The viewer's time zone, once known (after hydration).
#[derive(Clone, Copy)]
pub struct ViewerZone(pub ReadSignal<Option<String>>);

/// Provides [`ViewerZone`], filled in by the browser after hydration.
pub fn provide_viewer_zone() -> ViewerZone {
    let (zone, set_zone) = signal(None::<String>);
    Effect::new(move |_| set_zone.set(browser::zone_name()));
    let zone = ViewerZone(zone);
    provide_context(zone);
    zone
}

/// `HH:MM` of `at_ms` in the viewer's zone, or in UTC before it is known.
pub fn clock_time(at_ms: i64, zone_known: bool) -> String {
    if zone_known {
        if let Some(local) = browser::local_clock_time(at_ms) {
            return local;
        }
    }
    let at = chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    at.format("%H:%M").to_string()
}

/// The current instant (epoch ms): `server_now` until hydrated, then the browser's clock, every second.
pub fn ticking_now(server_now: i64) -> ReadSignal<i64> {
    let (now, set_now) = signal(server_now);
    Effect::new(move |_| {
        if let Some(at) = browser::now_ms() {
            set_now.set(at);
        }
        let _ = set_interval_with_handle(
            move || {
                if let Some(at) = browser::now_ms() {
                    set_now.set(at);
                }
            },
            std::time::Duration::from_secs(1),
        );
    });
    now
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsValue;

    pub fn zone_name() -> Option<String> {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new()).resolved_options();
        js_sys::Reflect::get(&options, &JsValue::from_str("timeZone")).ok()?.as_string()
    }

    pub fn local_clock_time(at_ms: i64) -> Option<String> {
        #[expect(clippy::cast_precision_loss, reason = "epoch milliseconds fit in an f64 exactly until year 287396")]
        let date = js_sys::Date::new(&JsValue::from_f64(at_ms as f64));
        Some(format!("{:02}:{:02}", date.get_hours(), date.get_minutes()))
    }

    pub fn now_ms() -> Option<i64> {
        // Date.now() is a whole number of milliseconds.
        Some(js_sys::Date::now() as i64)
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    pub fn zone_name() -> Option<String> {
        None
    }

    pub fn local_clock_time(_at_ms: i64) -> Option<String> {
        None
    }

    pub fn now_ms() -> Option<i64> {
        None
    }
}
