//! Recent ingest and sync activity for the web console's admin chart: a bounded
//! ring of per-10-second counters (records accepted, records refused, sync rounds
//! completed), kept in memory only (a restart starts a new chart).
//!
//! Fed by [`ActivityObserver`] (the ingest [`RecordObserver`] hook: every newly
//! stored record), by ingest's refusal path and by the sync loop when a round
//! with a peer completes. Served as `GET /admin/v1/activity`.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::{json, Value};

use techmesh_protocol::record::Record;
use techmesh_protocol::time::Timestamp;

use crate::ingest::RecordObserver;

/// Width of one bucket, in seconds.
pub const BUCKET_SECS: i64 = 10;
/// Buckets kept: one hour of history.
pub const MAX_BUCKETS: usize = 360;
/// Buckets answered by default: the last ten minutes.
pub const DEFAULT_WINDOW: usize = 60;

/// Counters of one 10-second bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Unix seconds at which the bucket starts (a multiple of [`BUCKET_SECS`]).
    pub start: i64,
    pub accepted: u64,
    pub refused: u64,
    pub sync_rounds: u64,
}

/// What happened.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    Accepted,
    Refused,
    SyncRound,
}

/// The ring of buckets, oldest first.
pub struct Activity {
    ring: Mutex<VecDeque<Bucket>>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity::new()
    }
}

static GLOBAL: Activity = Activity::new();

/// The activity of this process (one node per process).
pub fn global() -> &'static Activity {
    &GLOBAL
}

fn bucket_start(at: Timestamp) -> i64 {
    at.0.div_euclid(BUCKET_SECS) * BUCKET_SECS
}

impl Activity {
    pub const fn new() -> Activity {
        Activity {
            ring: Mutex::new(VecDeque::new()),
        }
    }

    /// Count one event now.
    pub fn count(&self, e: Event) {
        self.count_at(e, crate::ingest::now());
    }

    /// Count one event at `at` (a clock going backwards counts into the newest
    /// bucket, never reorders the ring).
    pub fn count_at(&self, e: Event, at: Timestamp) {
        let start = bucket_start(at);
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let newest = ring.back().map(|b| b.start);
        if newest.is_none_or(|n| start > n) {
            ring.push_back(Bucket {
                start,
                ..Bucket::default()
            });
            while ring.len() > MAX_BUCKETS {
                ring.pop_front();
            }
        }
        let b = ring.back_mut().expect("a bucket was just ensured");
        match e {
            Event::Accepted => b.accepted += 1,
            Event::Refused => b.refused += 1,
            Event::SyncRound => b.sync_rounds += 1,
        }
    }

    /// The last `window` buckets up to `now`, oldest first, empty ones included.
    pub fn window(&self, window: usize, now: Timestamp) -> Vec<Bucket> {
        let window = window.clamp(1, MAX_BUCKETS) as i64;
        let last = bucket_start(now);
        let first = last - (window - 1) * BUCKET_SECS;
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        (0..window)
            .map(|i| {
                let start = first + i * BUCKET_SECS;
                ring.iter()
                    .find(|b| b.start == start)
                    .copied()
                    .unwrap_or(Bucket {
                        start,
                        ..Bucket::default()
                    })
            })
            .collect()
    }

    /// The JSON answer of `GET /admin/v1/activity`.
    pub fn json(&self, window: usize, now: Timestamp) -> Value {
        let buckets = self.window(window, now);
        let total = |f: fn(&Bucket) -> u64| buckets.iter().map(f).sum::<u64>();
        json!({
            "bucket_secs": BUCKET_SECS,
            "now": now.to_string(),
            "totals": {
                "accepted": total(|b| b.accepted),
                "refused": total(|b| b.refused),
                "sync_rounds": total(|b| b.sync_rounds),
            },
            "buckets": buckets.iter().map(|b| json!({
                "start": Timestamp(b.start).to_string(),
                "accepted": b.accepted,
                "refused": b.refused,
                "sync_rounds": b.sync_rounds,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The ingest hook: counts every newly stored record into [`global`].
pub struct ActivityObserver;

impl RecordObserver for ActivityObserver {
    fn on_new(&self, _record: &Record) {
        global().count(Event::Accepted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_ten_second_buckets() {
        let a = Activity::new();
        a.count_at(Event::Accepted, Timestamp(1_000_001));
        a.count_at(Event::Accepted, Timestamp(1_000_009));
        a.count_at(Event::Refused, Timestamp(1_000_012));
        a.count_at(Event::SyncRound, Timestamp(1_000_035));
        let w = a.window(5, Timestamp(1_000_039));
        let starts: Vec<i64> = w.iter().map(|b| b.start).collect();
        assert_eq!(
            starts,
            vec![990_000 + 9_990, 1_000_000, 1_000_010, 1_000_020, 1_000_030]
        );
        assert_eq!(
            w.iter()
                .map(|b| (b.accepted, b.refused, b.sync_rounds))
                .collect::<Vec<_>>(),
            vec![(0, 0, 0), (2, 0, 0), (0, 1, 0), (0, 0, 0), (0, 0, 1)]
        );
        let j = a.json(5, Timestamp(1_000_039));
        assert_eq!(j["totals"]["accepted"], 2);
        assert_eq!(j["buckets"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn the_ring_is_bounded_and_a_backward_clock_keeps_order() {
        let a = Activity::new();
        for i in 0..(MAX_BUCKETS as i64 + 50) {
            a.count_at(Event::Accepted, Timestamp(i * BUCKET_SECS));
        }
        assert_eq!(a.ring.lock().unwrap().len(), MAX_BUCKETS);
        let newest = a.ring.lock().unwrap().back().unwrap().start;
        a.count_at(Event::Refused, Timestamp(newest - 100));
        let ring = a.ring.lock().unwrap();
        assert_eq!(ring.len(), MAX_BUCKETS);
        assert_eq!(ring.back().unwrap().refused, 1);
        assert!(ring
            .iter()
            .zip(ring.iter().skip(1))
            .all(|(x, y)| x.start < y.start));
    }
}
