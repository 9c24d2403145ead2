//! Calendars of trains and freezes: cadences in IANA time zones, and the
//! windows they produce. Pure: no I/O and no clock reads.

mod ical;
mod local_time;
mod recurrence;
mod window;

pub use ical::{IcalRecurrence, IcalTime};
pub use local_time::resolve_local;
pub use recurrence::{Cadence, CadenceError};
pub use window::{freeze_effect, freeze_windows, parse_soak, parse_window, FreezeEffect, Window};
