//! Progress of long work, reported to whoever asked for it: the command line
//! draws bars on stderr ([`Bars`]), library users and the Python bindings
//! stay silent ([`Quiet`]) unless they ask for bars too.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Receives the stages of long work and how far each has come.
pub trait Progress: Sync {
    /// A stage of `total` steps begins (`"embedding"`, `"graph"`).
    fn start(&self, stage: &str, total: u64);
    /// `steps` more steps of the current stage are done.
    fn advance(&self, steps: u64);
    /// The current stage is over.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _stage: &str, _total: u64) {}
    fn advance(&self, _steps: u64) {}
    fn finish(&self) {}
}

/// Progress bars on stderr, one per stage; drawn only when stderr is a
/// terminal (indicatif's rule), cleared when the stage is over.
#[derive(Debug, Default)]
pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
}

/// [`Bars`] when `show` is true, else [`Quiet`].
pub fn bars(show: bool) -> Box<dyn Progress> {
    if show {
        Box::new(Bars::default())
    } else {
        Box::new(Quiet)
    }
}

impl Bars {
    fn with_current(&self, action: impl FnOnce(&mut Option<ProgressBar>)) {
        // A poisoned lock only means another thread panicked mid-update: the
        // bar is still fine to draw.
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        action(&mut current);
    }
}

impl Progress for Bars {
    fn start(&self, stage: &str, total: u64) {
        self.with_current(|current| {
            if let Some(old) = current.take() {
                old.finish_and_clear();
            }
            *current = Some(bar(total, stage));
        });
    }

    fn advance(&self, steps: u64) {
        self.with_current(|current| {
            if let Some(bar) = current {
                bar.inc(steps);
            }
        });
    }

    fn finish(&self) {
        self.with_current(|current| {
            if let Some(bar) = current.take() {
                bar.finish_and_clear();
            }
        });
    }
}

/// A bar of `len` steps labelled `message` on stderr.
fn bar(len: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_string());
    bar
}
