//! Release notes: a train's cargo as Markdown, from its candidates' change entries. Pure.

use crate::candidate::CandidateStatus;
use std::fmt::Write;

use crate::artifacts::{Change, ChangeKind};

/// One candidate as the notes need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteEntry {
    pub service: String,
    pub version: String,
    /// `shipped`, `boarded`, `missed` or `rolled_back`.
    pub status: CandidateStatus,
    pub reason: String,
    pub changes: Vec<Change>,
}

/// The notes for train `title` (e.g. "payments-weekly, 1 December 2026").
pub fn render(title: &str, state: &str, entries: &[NoteEntry]) -> String {
    let title = crate::markdown::escape(title);
    let mut notes = format!("# Release notes: {title}\n\nTrain state: {}\n", state.replace('_', " "));
    let (on_board, missed): (Vec<_>, Vec<_>) = entries.iter().partition(|e| e.status != CandidateStatus::Missed);
    if on_board.is_empty() {
        notes.push_str("\nNothing shipped on this train.\n");
    }
    for entry in on_board {
        let _ = write!(notes, "\n## {} {}", entry.service, entry.version);
        if entry.status == CandidateStatus::RolledBack {
            notes.push_str(" (rolled back)");
        }
        notes.push('\n');
        if entry.changes.is_empty() {
            notes.push_str("\n- No change entries were registered.\n");
            continue;
        }
        notes.push('\n');
        for change in &entry.changes {
            let kind = match change.kind {
                ChangeKind::Feature => "Feature",
                ChangeKind::Fix => "Fix",
                ChangeKind::Security => "Security",
                ChangeKind::Chore => "Chore",
            };
            let title = crate::markdown::escape(&change.title);
            match change.link.as_deref().and_then(crate::markdown::safe_link) {
                Some(link) => {
                    let _ = writeln!(notes, "- {kind}: [{title}]({link})");
                }
                None => {
                    let _ = writeln!(notes, "- {kind}: {title}");
                }
            }
        }
    }
    if !missed.is_empty() {
        notes.push_str("\n## Missed the train\n\n");
        for entry in missed {
            let _ =
                writeln!(notes, "- {} {}: {}", entry.service, entry.version, crate::markdown::escape(&entry.reason));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> crate::text::Text {
        crate::text::Text::new(s).expect("printable")
    }

    #[test]
    fn notes_list_shipped_changes_and_what_missed_the_train() {
        let entries = [
            NoteEntry {
                service: "ledger".into(),
                version: "2.0.0".into(),
                status: CandidateStatus::Shipped,
                reason: String::new(),
                changes: vec![
                    Change {
                        title: text("Faster close"),
                        kind: ChangeKind::Feature,
                        link: Some(text("https://t/LED-1")),
                    },
                    Change { title: text("Rounding"), kind: ChangeKind::Fix, link: None },
                ],
            },
            NoteEntry {
                service: "checkout".into(),
                version: "3.1.0".into(),
                status: CandidateStatus::Missed,
                reason: "missed the train: gate security_scan failed".into(),
                changes: vec![],
            },
        ];
        let notes = render("payments-daily, 27 November 2026", "completed", &entries);
        assert!(notes.starts_with("# Release notes: payments-daily, 27 November 2026\n"));
        assert!(notes.contains("## ledger 2.0.0\n\n- Feature: [Faster close](https://t/LED-1)\n- Fix: Rounding\n"));
        assert!(
            notes.contains("## Missed the train\n\n- checkout 3.1.0: missed the train: gate security_scan failed\n")
        );
    }

    #[test]
    fn what_ci_typed_cannot_inject_links_html_or_headings() {
        let entries = [NoteEntry {
            service: "ledger".into(),
            version: "2.0.0".into(),
            status: CandidateStatus::Shipped,
            reason: String::new(),
            changes: vec![
                Change {
                    title: text("Win a prize [here](https://evil.example)\n# <script>alert(1)</script>"),
                    kind: ChangeKind::Feature,
                    link: Some(text("javascript:alert(1)")),
                },
                Change {
                    title: text("Fine"),
                    kind: ChangeKind::Fix,
                    link: Some(text("https://t/x) [y](https://evil")),
                },
            ],
        }];
        let notes = render("payments-daily", "completed", &entries);
        assert!(
            notes.contains(
                "- Feature: Win a prize \\[here\\](https://evil.example) # &lt;script&gt;alert(1)&lt;/script&gt;\n"
            ),
            "{notes}"
        );
        assert!(notes.contains("- Fix: Fine\n"), "an unsafe link is dropped, the title kept: {notes}");
        assert!(!notes.contains("javascript:"), "{notes}");
    }
}
