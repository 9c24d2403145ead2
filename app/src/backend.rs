//! The port through which server functions reach the backend. The server
//! crate implements [`Backend`] and provides it as Leptos context.

#[cfg(feature = "ssr")]
pub use port::*;

#[cfg(feature = "ssr")]
mod port {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use crate::calendar::{CalendarMonth, YearMonth};

    /// A boxed future, so the port stays object-safe.
    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// What the pages need from the backend.
    pub trait Backend: Send + Sync + 'static {
        /// The executive calendar for one month.
        fn calendar_month(&self, month: YearMonth) -> BoxFuture<'_, Result<CalendarMonth, String>>;
        /// Today's month, by the backend's clock.
        fn current_month(&self) -> YearMonth;
    }

    /// The backend as stored in Leptos context.
    pub type SharedBackend = Arc<dyn Backend>;
}
