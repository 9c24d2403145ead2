//! A box for tables wider than a phone: the table scrolls inside it, never the page.

use leptos::prelude::*;

/// Wraps a table so that it scrolls sideways on its own when the screen is
/// narrower than it. The box is a labelled region that takes keyboard focus,
/// so people who do not use a pointer can scroll it with the arrow keys.
#[component]
pub fn WideTable(
    /// What the table holds, read out when the box takes focus.
    #[prop(into)]
    label: String,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="wide-table" role="region" aria-label=label tabindex="0">
            {children()}
        </div>
    }
}
