//! Progress reporting: indicatif bars (bytes, rate, ETA) on stderr, or nothing in tests.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress goes: bars and status lines on stderr, or nowhere.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    /// Bars and status lines on stderr (bars are drawn only when stderr is a terminal).
    pub fn stderr() -> Self {
        Self { visible: true }
    }

    /// No output at all.
    pub fn hidden() -> Self {
        Self { visible: false }
    }

    /// Prints a status line to stderr.
    pub fn say(&self, line: &str) {
        if self.visible {
            eprintln!("{line}");
        }
    }

    /// A byte-counting bar showing bytes done, total, rate and ETA (a spinner without total).
    pub fn bytes(&self, label: &str, total: Option<u64>) -> ProgressBar {
        let target = if self.visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let (bar, template) = match total {
            Some(total) => (
                ProgressBar::with_draw_target(Some(total), target),
                "{msg:32!} [{bar:25}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            ),
            None => (
                ProgressBar::with_draw_target(None, target),
                "{msg:32!} {spinner} {bytes} {binary_bytes_per_sec} {elapsed}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_string());
        bar
    }
}
