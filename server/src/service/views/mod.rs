//! Read models: what the API, the pages and exports show, built once.

pub mod train_detail;
