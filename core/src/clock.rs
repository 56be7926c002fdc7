//! The device's clock: the system's, shifted by a skew that is zero unless
//! a caller set one for its own thread with [`skewed`]. Phones' clocks are
//! often wrong by minutes or hours; the deterministic simulation of
//! `tests/src/sim` runs each simulated device under its own skew through
//! this seam, so that what the device writes (`created_at`, when an action
//! was taken) and how it judges deadlines follow the device's clock, not
//! the server's. Report and action ids (UUIDv7) keep the system's clock:
//! they only order.

use std::cell::Cell;

use chrono::{DateTime, SecondsFormat, Utc};

thread_local! {
    static SKEW_MS: Cell<i64> = const { Cell::new(0) };
}

/// Now, by this device's clock.
pub fn now() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::milliseconds(SKEW_MS.with(Cell::get))
}

/// Now in milliseconds since the epoch, by this device's clock.
pub fn now_ms() -> i64 {
    now().timestamp_millis()
}

/// Now as the device writes times: RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Runs `f` with this thread's clock `skew_ms` ahead (or behind, if
/// negative) of the system's, then puts the skew back.
pub fn skewed<T>(skew_ms: i64, f: impl FnOnce() -> T) -> T {
    struct Restore(i64);
    impl Drop for Restore {
        fn drop(&mut self) {
            SKEW_MS.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SKEW_MS.with(|s| s.replace(skew_ms)));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skew_moves_this_threads_clock_only_while_it_runs() {
        let hour = 3_600_000;
        let before = now_ms();
        let (inside, other) = skewed(hour, || (now_ms(), std::thread::spawn(now_ms).join().unwrap()));
        assert!(inside - before >= hour && inside - before < hour + 60_000, "{inside} vs {before}");
        assert!(other - before < 60_000, "another thread keeps the system's clock");
        assert!(now_ms() - before < 60_000, "the skew is put back");
    }
}
