//! The view models: what each page shows, as plain serialisable data. The
//! core's read models fill them, the server sends them, and the app (on the
//! server and in the browser) draws them. Nothing here renders or reads.

pub mod admin;
pub mod approval_link;
pub mod budgets;
pub mod calendar;
pub mod chart;
pub mod console;
pub mod dashboard;
pub mod gates;
pub mod oncall;
pub mod session;
pub mod train;
