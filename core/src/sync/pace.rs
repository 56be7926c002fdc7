//! How many photos are in flight at once: a slow start, like TCP's. One at
//! a time leaves a good link idle while the server makes each photo
//! durable; several keep it busy and let the server group its commits. On
//! 2G, though, parallel uploads only split the line until no chunk finishes
//! within its timeout. So a run starts with one photo in flight, adds one
//! for each photo that goes through fast, and drops one for each slow chunk.

use std::time::Duration;

/// Photos in flight at most.
pub const MAX_IN_FLIGHT: usize = 16;
/// A photo that arrives at this rate or faster earns another in flight.
pub const FAST_BYTES_PER_SEC: f64 = 1_000_000.0;
/// A chunk slower than this takes one away, down to one: a 256 KiB chunk
/// then still has four times this before its request times out.
pub const SLOW_CHUNK: Duration = Duration::from_secs(15);

/// How one photo's upload went, as far as pacing cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotoSent {
    /// Bytes the server took.
    pub bytes: u64,
    pub took: Duration,
    pub slowest_chunk: Duration,
    pub succeeded: bool,
}

/// The number of photos the link has earned in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadPace {
    in_flight: usize,
}

impl Default for UploadPace {
    fn default() -> Self {
        UploadPace { in_flight: 1 }
    }
}

impl UploadPace {
    pub fn in_flight(self) -> usize {
        self.in_flight
    }

    /// Takes a finished photo into account; answers the new pace.
    pub fn photo_done(&mut self, sent: PhotoSent) -> usize {
        if sent.slowest_chunk > SLOW_CHUNK {
            self.in_flight = self.in_flight.saturating_sub(1).max(1);
        } else if sent.succeeded && sent.bytes as f64 >= FAST_BYTES_PER_SEC * sent.took.as_secs_f64() {
            self.in_flight = (self.in_flight + 1).min(MAX_IN_FLIGHT);
        }
        self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(bytes: u64, took_ms: u64, slowest_ms: u64, succeeded: bool) -> PhotoSent {
        PhotoSent { bytes, took: Duration::from_millis(took_ms), slowest_chunk: Duration::from_millis(slowest_ms), succeeded }
    }

    #[test]
    fn starts_with_one_and_earns_one_per_fast_photo_up_to_the_most() {
        let mut pace = UploadPace::default();
        assert_eq!(pace.in_flight(), 1);
        // 200 KB in 100 ms: 2 MB/s, fast.
        assert_eq!(pace.photo_done(photo(200_000, 100, 100, true)), 2);
        assert_eq!(pace.photo_done(photo(200_000, 100, 100, true)), 3);
        for _ in 0..100 {
            pace.photo_done(photo(200_000, 100, 100, true));
        }
        assert_eq!(pace.in_flight(), MAX_IN_FLIGHT);
    }

    #[test]
    fn a_slow_but_steady_photo_changes_nothing() {
        let mut pace = UploadPace::default();
        pace.photo_done(photo(200_000, 100, 100, true));
        // 200 KB in 1 s: 200 KB/s, below the fast rate, no slow chunk.
        assert_eq!(pace.photo_done(photo(200_000, 1000, 1000, true)), 2);
    }

    #[test]
    fn each_slow_chunk_takes_one_away_down_to_one() {
        let mut pace = UploadPace::default();
        for _ in 0..5 {
            pace.photo_done(photo(200_000, 100, 100, true));
        }
        assert_eq!(pace.in_flight(), 6);
        assert_eq!(pace.photo_done(photo(262_144, 20_000, 16_000, true)), 5);
        for _ in 0..10 {
            pace.photo_done(photo(262_144, 20_000, 16_000, true));
        }
        assert_eq!(pace.in_flight(), 1);
    }

    #[test]
    fn a_failed_photo_earns_nothing() {
        let mut pace = UploadPace::default();
        assert_eq!(pace.photo_done(photo(200_000, 10, 10, false)), 1);
    }
}
