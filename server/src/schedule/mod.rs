//! Calendars of trains and freezes: cadences in IANA time zones, and the
//! windows they produce. Pure: no I/O and no clock reads.

mod cadence;
mod local_time;
mod window;

pub use cadence::{Cadence, CadenceError};
pub use local_time::resolve_local;
pub use window::{freeze_windows, parse_soak, parse_window, Window};
