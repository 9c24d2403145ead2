//! Read models: what the API, the pages and exports show, built once. Each
//! checks what it needs of the caller, reads the store and fills a view
//! model (`railyard_views`) or an API record.

pub mod budgets;
pub mod calendar;
pub mod calendar_feed;
pub mod console;
pub mod dashboard;
pub mod gate_board;
pub mod leadership_panels;
pub mod next_train;
pub mod oncall;
pub mod plan;
pub mod postmortem;
pub mod train_detail;
pub mod train_list;
pub mod train_page;
