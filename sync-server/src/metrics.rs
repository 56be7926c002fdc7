//! What `GET /metrics` tells an operator, in the Prometheus (OpenMetrics)
//! text format, through `prometheus-client`: counters that the HTTP layer
//! and the push handler move as requests pass, and gauges read from
//! storage at scrape time (see [`crate::services::metrics`]), so that a
//! restart or a sweep never leaves them drifting.
//!
//! Labels are bounded: a route is its template (`/v1/reports/{id}`, never
//! an id), a status a number, an outcome one of a few words. No label
//! holds anything a user sent.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The label set of a request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// What became of one report of a push.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum PushFate {
    /// Stored now.
    stored,
    /// Stored by an earlier identical push (a retry).
    already_had,
    /// Waits for photos the server does not have.
    missing_photos,
    /// Refused for good: another report holds its id.
    conflict,
    /// Refused for good: it breaks a rule.
    invalid,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PushLabels {
    outcome: PushFate,
}

type DurationFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: DurationFamily,
    pushed: Family<PushLabels, Counter>,
    upload_bytes: Counter,
    open_uploads: Gauge,
    overdue_cases: Gauge,
}

/// 1 ms to about 16 s.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("suishoupai");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations: DurationFamily = Family::new_with_constructor(duration_histogram);
        let pushed = Family::<PushLabels, Counter>::default();
        let upload_bytes = Counter::default();
        let open_uploads = Gauge::default();
        let overdue_cases = Gauge::default();
        registry.register("http_requests", "HTTP requests answered, by method, route template and status", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer's head, by method and route template",
            durations.clone(),
        );
        registry.register("push_reports", "Reports in pushes, by what became of them", pushed.clone());
        registry.register("upload_bytes", "Photo bytes taken in upload chunks", upload_bytes.clone());
        registry.register("open_uploads", "Uploads begun and not yet complete (read from storage at scrape time)", open_uploads.clone());
        registry.register(
            "overdue_cases",
            "Cases dispatched or in progress past their deadline (read from storage at scrape time)",
            overdue_cases.clone(),
        );
        Metrics { registry, requests, durations, pushed, upload_bytes, open_uploads, overdue_cases }
    }
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { method: method.to_owned(), route: route.to_owned(), status }).inc();
        self.durations.get_or_create(&RouteLabels { method: method.to_owned(), route: route.to_owned() }).observe(seconds);
    }

    pub fn pushed(&self, outcome: PushFate) {
        self.pushed.get_or_create(&PushLabels { outcome }).inc();
    }

    pub fn uploaded(&self, bytes: u64) {
        self.upload_bytes.inc_by(bytes);
    }

    /// Sets the gauges read at scrape time, then answers the text.
    pub fn render(&self, open_uploads: u64, overdue_cases: u64) -> String {
        self.open_uploads.set(open_uploads as i64);
        self.overdue_cases.set(overdue_cases as i64);
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String does not fail");
        text
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}
