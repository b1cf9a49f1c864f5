//! The progress bar of training (iterations, images/s, ETA), drawn on stderr when it is a
//! terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar of `len` steps drawn with indicatif's `template` on stderr, or hidden when `enabled`
/// is false (the training bar, and the sweep's bar over cells).
pub fn styled_bar(len: usize, enabled: bool, template: &str) -> ProgressBar {
    let target = if enabled {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// A progress bar over the iterations.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `total` iterations starting at `start`; hidden when `enabled` is false.
    pub fn new(total: usize, start: usize, enabled: bool) -> Self {
        let bar = styled_bar(
            total,
            enabled,
            "{bar:30} {pos}/{len} it  {per_sec}  ETA {eta}  {msg}",
        );
        bar.set_position(start as u64);
        Self { bar }
    }

    /// Sets the iterations completed.
    pub fn set(&mut self, iteration: usize) {
        self.bar.set_position(iteration as u64);
    }

    /// Shows `msg` (loss, images/s) beside the bar.
    pub fn message(&mut self, msg: &str) {
        self.bar.set_message(msg.to_string());
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}
