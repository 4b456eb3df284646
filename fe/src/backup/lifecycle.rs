//! What every job shares: its states move one step forward or to CANCELLED, the move
//! stamps the time upstream shows for it, a cancel keeps its reason, and a job not done
//! past its timeout is timed out. Written once here for both kinds; a record only says
//! where its fields are ([`job_lifecycle!`]) and which time each state stamps.

use super::admission::JobKind;
use super::state::JobStatus;
use crate::error::{FeError, Result};

/// A job kind's states, in the order a job passes through them (CANCELLED last).
pub trait JobState: Copy + Eq + std::fmt::Display + 'static {
    const ALL: &'static [Self];
    const CANCELLED: Self;
    const FINISHED: Self;

    fn is_done(self) -> bool {
        self == Self::FINISHED || self == Self::CANCELLED
    }

    /// The state that follows on success, `None` once done.
    fn next(self) -> Option<Self> {
        if self.is_done() {
            return None;
        }
        let i = Self::ALL.iter().position(|s| *s == self).expect("listed");
        Some(Self::ALL[i + 1])
    }

    /// A job moves one step forward, or to CANCELLED from any unfinished state.
    fn can_move_to(self, to: Self) -> bool {
        (to == Self::CANCELLED && !self.is_done()) || self.next() == Some(to)
    }
}

/// The state machine of a stored job record.
pub trait JobLifecycle {
    type State: JobState;
    const KIND: JobKind;

    fn job_id(&self) -> i64;
    fn state(&self) -> Self::State;
    fn set_state(&mut self, to: Self::State);
    /// Record `now_ms` in the time field that reaching `to` sets (SHOW BACKUP/RESTORE).
    fn stamp(&mut self, to: Self::State, now_ms: i64);
    fn set_status(&mut self, status: JobStatus);
    fn create_time_ms(&self) -> i64;
    fn timeout_ms(&self) -> i64;

    /// Move to `to`, stamping the matching time; refuses skipped or backward moves.
    fn move_to(&mut self, to: Self::State, now_ms: i64) -> Result<()> {
        let from = self.state();
        if !from.can_move_to(to) {
            return Err(FeError::IllegalState(format!(
                "{} job {} cannot move from {from} to {to}",
                Self::KIND.name(),
                self.job_id()
            )));
        }
        self.stamp(to, now_ms);
        self.set_state(to);
        Ok(())
    }

    /// Cancel with a reason (kept in the job's status).
    fn cancel(&mut self, status: JobStatus, now_ms: i64) -> Result<()> {
        self.move_to(Self::State::CANCELLED, now_ms)?;
        self.set_status(status);
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.state().is_done()
    }

    fn is_timed_out(&self, now_ms: i64) -> bool {
        !self.is_done() && now_ms - self.create_time_ms() > self.timeout_ms()
    }
}

/// A state enum with upstream's names (`as_str`, `Display`, `FromStr`) and [`JobState`].
#[macro_export]
macro_rules! job_state {
    ($(#[$m:meta])* $name:ident { $($v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $s)] $v),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            pub fn is_done(self) -> bool {
                $crate::backup::lifecycle::JobState::is_done(self)
            }
        }

        impl $crate::backup::lifecycle::JobState for $name {
            const ALL: &'static [$name] = &[$($name::$v),+];
            const CANCELLED: $name = $name::Cancelled;
            const FINISHED: $name = $name::Finished;
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::FeError;
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                <Self as $crate::backup::lifecycle::JobState>::ALL
                    .iter()
                    .copied()
                    .find(|st| st.as_str().eq_ignore_ascii_case(s))
                    .ok_or_else(|| $crate::error::FeError::InvalidArgument(format!("unknown {} '{s}'", stringify!($name))))
            }
        }
    };
}


/// [`JobLifecycle`] for a record with `job_id`, `state`, `status`, `create_time_ms` and
/// `timeout_ms` fields; `$stamp` sets the time field a state stamps.
#[macro_export]
macro_rules! job_lifecycle {
    ($record:ty, $state:ty, $kind:expr, |$r:ident, $to:ident, $now:ident| $stamp:expr) => {
        impl $crate::backup::lifecycle::JobLifecycle for $record {
            type State = $state;
            const KIND: $crate::backup::JobKind = $kind;

            fn job_id(&self) -> i64 {
                self.job_id
            }
            fn state(&self) -> $state {
                self.state
            }
            fn set_state(&mut self, to: $state) {
                self.state = to;
            }
            fn stamp(&mut self, $to: $state, $now: i64) {
                let $r = self;
                $stamp
            }
            fn set_status(&mut self, status: $crate::backup::JobStatus) {
                self.status = status;
            }
            fn create_time_ms(&self) -> i64 {
                self.create_time_ms
            }
            fn timeout_ms(&self) -> i64 {
                self.timeout_ms
            }
        }
    };
}
