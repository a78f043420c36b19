//! What the runtime tells about its streams: metrics through the [`metrics`] facade and
//! one `tracing` record per stream. The library installs no exporter: an app that wants
//! the metrics installs a recorder (e.g. `metrics-exporter-prometheus`) at start-up, and
//! may call [`describe_metrics`] for their help texts. `docs/observability.md` documents
//! every metric, its labels and the end-of-stream log line.
//!
//! Every name starts with `sse_`. Labels stay bounded: `route` is the route's path
//! pattern (`/rooms/{room}/events`, never the requested path), `reason` one of five
//! words, and `topic` a broadcast topic's name for the first [`TOPIC_LABELS`] topics a
//! hub sees, `other` for the rest.
//!
//! The streaming hot path stays cheap: a stream registers its metric handles once, when it
//! is bound, counts in plain fields, and adds to the counters once per frame (a frame
//! holds every event that was ready at the same time).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{Counter, Gauge};
use tokio::time::Instant;

/// Gauge: open connections (TCP, before TLS and HTTP; the refused ones excluded).
pub const CONNECTIONS_OPEN: &str = "sse_connections_open";
/// Gauge, label `route`: open event and JSON Lines streams.
pub const STREAMS_OPEN: &str = "sse_streams_open";
/// Counter, label `route`: events (JSON Lines: lines) sent.
pub const STREAM_EVENTS: &str = "sse_stream_events_total";
/// Counter, label `route`: bytes of stream bodies handed to the connection (events,
/// keep-alives, `retry:`, farewell, the failure record); compressed bytes for a compressed
/// stream.
pub const STREAM_BYTES: &str = "sse_stream_bytes_total";
/// Counter, label `route`: keep-alive comments sent.
pub const STREAM_KEEPALIVES: &str = "sse_stream_keepalives_total";
/// Counter, labels `route` and `reason`: streams that ended, by why: `reason` is `completed`, `error`, `client_gone`, `shutdown` or `send_timeout`.
pub const STREAMS_ENDED: &str = "sse_streams_ended_total";
/// Histogram, label `route`: how long streams lasted, in seconds.
pub const STREAM_DURATION: &str = "sse_stream_duration_seconds";
/// Gauge, label `topic`: open broadcast subscriptions.
pub const BROADCAST_SUBSCRIBERS: &str = "sse_broadcast_subscribers";
/// Counter, label `topic`: times a subscriber fell further behind than its queue.
pub const BROADCAST_LAGGED: &str = "sse_broadcast_lagged_total";
/// Counter, label `topic`: events a lagging subscriber's queue lost.
pub const BROADCAST_DROPPED: &str = "sse_broadcast_events_dropped_total";
/// Counter, labels `topic` and `cause` (`resume`: a `Last-Event-ID` or
/// [`Resume`](crate::broadcast::Resume) start; `overflow`: a lagging subscriber caught up
/// under [`Overflow::Resume`](crate::broadcast::Overflow::Resume)): events delivered from
/// the replay buffer.
pub const BROADCAST_REPLAYED: &str = "sse_broadcast_events_replayed_total";
/// Counter: reconnections of a Redis hub's pub/sub connection.
pub const REDIS_RECONNECTS: &str = "sse_broadcast_redis_reconnects_total";

/// Every metric name above, in the order `docs/observability.md` lists them.
pub const METRICS: &[&str] = &[
    CONNECTIONS_OPEN,
    STREAMS_OPEN,
    STREAM_EVENTS,
    STREAM_BYTES,
    STREAM_KEEPALIVES,
    STREAMS_ENDED,
    STREAM_DURATION,
    BROADCAST_SUBSCRIBERS,
    BROADCAST_LAGGED,
    BROADCAST_DROPPED,
    BROADCAST_REPLAYED,
    REDIS_RECONNECTS,
];

/// How many topics of one broadcast hub get their own `topic` label; the topics after
/// them are counted under `other`. A topic keeps its label once it has one.
pub const TOPIC_LABELS: usize = 64;

/// The `topic` label of the topics past [`TOPIC_LABELS`].
pub const OTHER_TOPIC: &str = "other";

/// Describes every metric (help text and unit) to the installed recorder, and registers
/// the unlabeled ones, so that an exporter lists them from the start (at zero). Call it
/// once, after installing the recorder.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(CONNECTIONS_OPEN, "Open connections.");
    describe_gauge!(STREAMS_OPEN, "Open event and JSON Lines streams.");
    describe_counter!(STREAM_EVENTS, "Events (JSON Lines: lines) sent.");
    describe_counter!(STREAM_BYTES, Unit::Bytes, "Bytes of stream bodies sent.");
    describe_counter!(STREAM_KEEPALIVES, "Keep-alive comments sent.");
    describe_counter!(
        STREAMS_ENDED,
        "Streams ended, by reason: completed, client_gone, send_timeout, error, shutdown."
    );
    describe_histogram!(STREAM_DURATION, Unit::Seconds, "How long streams lasted.");
    describe_gauge!(BROADCAST_SUBSCRIBERS, "Open broadcast subscriptions.");
    describe_counter!(
        BROADCAST_LAGGED,
        "Times a broadcast subscriber fell further behind than its queue."
    );
    describe_counter!(
        BROADCAST_DROPPED,
        "Events a lagging broadcast subscriber's queue lost."
    );
    describe_counter!(
        BROADCAST_REPLAYED,
        "Events delivered from a topic's replay buffer, by cause: resume, overflow."
    );
    describe_counter!(
        REDIS_RECONNECTS,
        "Reconnections of a Redis broadcast hub's pub/sub connection."
    );
    metrics::gauge!(CONNECTIONS_OPEN).increment(0.0);
    metrics::counter!(REDIS_RECONNECTS).increment(0);
}

/// Why a stream ended: the `reason` label of [`STREAMS_ENDED`] and the end-of-stream log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// The handler's stream ended.
    Completed,
    /// The client went away (the body was dropped before the stream ended).
    ClientGone,
    /// The client stopped reading: the connection's send timeout dropped it.
    SendTimeout,
    /// The stream yielded an error (or panicked): its failure record was the last thing.
    Error,
    /// The server shut down.
    Shutdown,
}

impl StreamEnd {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StreamEnd::Completed => "completed",
            StreamEnd::ClientGone => "client_gone",
            StreamEnd::SendTimeout => "send_timeout",
            StreamEnd::Error => "error",
            StreamEnd::Shutdown => "shutdown",
        }
    }
}

/// Set once a connection's send timeout fired; shared by the connection and its streams,
/// so a stream dropped with its connection knows it was the timeout.
#[derive(Clone, Debug, Default)]
pub(crate) struct SendTimedOut(Arc<AtomicBool>);

impl SendTimedOut {
    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// One open connection in [`CONNECTIONS_OPEN`], until dropped.
pub(crate) struct OpenConnection(Gauge);

impl OpenConnection {
    pub(crate) fn new() -> Self {
        let gauge = metrics::gauge!(CONNECTIONS_OPEN);
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// One stream's counts and metric handles, from the moment it is bound to an app until
/// it is dropped, when it records how it ended: [`STREAMS_ENDED`], [`STREAM_DURATION`],
/// and one `info` log line.
pub(crate) struct StreamStats {
    route: Arc<str>,
    span: tracing::Span,
    started: Instant,
    events: u64,
    /// Events already added to the counter.
    events_counted: u64,
    bytes: u64,
    keep_alives: u64,
    end: Option<StreamEnd>,
    send_timed_out: Option<SendTimedOut>,
    open: Gauge,
    events_total: Counter,
    bytes_total: Counter,
    keep_alives_total: Counter,
}

impl StreamStats {
    /// A stream of `route` (its path pattern) opens, in the request's `span`.
    pub(crate) fn open(route: Arc<str>, span: tracing::Span) -> Self {
        let label = [("route", Arc::clone(&route))];
        let open = metrics::gauge!(STREAMS_OPEN, &label);
        open.increment(1.0);
        tracing::debug!(parent: &span, route = %route, "stream opened");
        Self {
            events_total: metrics::counter!(STREAM_EVENTS, &label),
            bytes_total: metrics::counter!(STREAM_BYTES, &label),
            keep_alives_total: metrics::counter!(STREAM_KEEPALIVES, &label),
            open,
            route,
            span,
            started: Instant::now(),
            events: 0,
            events_counted: 0,
            bytes: 0,
            keep_alives: 0,
            end: None,
            send_timed_out: None,
        }
    }

    /// The request's span, the parent of the stream's log records.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The route pattern.
    pub(crate) fn route(&self) -> &str {
        &self.route
    }

    /// One more event encoded.
    #[inline]
    pub(crate) fn event(&mut self) {
        self.events += 1;
    }

    /// One more keep-alive comment written.
    pub(crate) fn keep_alive(&mut self) {
        self.keep_alives += 1;
        self.keep_alives_total.increment(1);
    }

    /// A frame of `len` bytes goes out: the counters catch up.
    #[inline]
    pub(crate) fn frame(&mut self, len: usize) {
        let len = len as u64;
        self.bytes += len;
        self.bytes_total.increment(len);
        if self.events != self.events_counted {
            self.events_total
                .increment(self.events - self.events_counted);
            self.events_counted = self.events;
        }
    }

    /// The stream ended for `reason` (the first reason given stands).
    pub(crate) fn end(&mut self, reason: StreamEnd) {
        self.end.get_or_insert(reason);
    }

    /// The connection's send-timeout flag.
    pub(crate) fn set_send_timed_out(&mut self, flag: SendTimedOut) {
        self.send_timed_out = Some(flag);
    }
}

impl Drop for StreamStats {
    fn drop(&mut self) {
        let reason = self.end.unwrap_or_else(|| {
            if self.send_timed_out.as_ref().is_some_and(SendTimedOut::get) {
                StreamEnd::SendTimeout
            } else {
                StreamEnd::ClientGone
            }
        });
        self.open.decrement(1.0);
        let duration = self.started.elapsed();
        let route = [("route", Arc::clone(&self.route))];
        metrics::histogram!(STREAM_DURATION, &route).record(duration.as_secs_f64());
        let labels = [
            (
                "route",
                metrics::SharedString::from(Arc::clone(&self.route)),
            ),
            ("reason", metrics::SharedString::const_str(reason.as_str())),
        ];
        metrics::counter!(STREAMS_ENDED, &labels).increment(1);
        tracing::info!(
            parent: &self.span,
            route = %self.route,
            reason = reason.as_str(),
            // Handed to the connection: events still in the buffer when dropped are not.
            events = self.events_counted,
            bytes = self.bytes,
            keep_alives = self.keep_alives,
            duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            "stream ended"
        );
    }
}

/// The `topic` labels of one broadcast hub: the first [`TOPIC_LABELS`] topic names it
/// sees, then [`OTHER_TOPIC`].
#[derive(Debug, Default)]
pub(crate) struct TopicLabels {
    names: Mutex<HashSet<Arc<str>>>,
}

impl TopicLabels {
    /// The label of `topic`.
    pub(crate) fn label(&self, topic: &str) -> Arc<str> {
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(name) = names.get(topic) {
            return Arc::clone(name);
        }
        if names.len() < TOPIC_LABELS {
            let name: Arc<str> = Arc::from(topic);
            names.insert(Arc::clone(&name));
            return name;
        }
        Arc::from(OTHER_TOPIC)
    }
}

/// One broadcast subscription's metrics: counted in [`BROADCAST_SUBSCRIBERS`] until
/// dropped.
pub(crate) struct SubscriberStats {
    topic: Arc<str>,
    open: Gauge,
}

impl SubscriberStats {
    pub(crate) fn open(topic: Arc<str>) -> Self {
        let open = metrics::gauge!(BROADCAST_SUBSCRIBERS, "topic" => Arc::clone(&topic));
        open.increment(1.0);
        Self { topic, open }
    }

    /// The subscriber fell behind its queue and lost `dropped` events from it.
    pub(crate) fn lagged(&self, dropped: u64) {
        metrics::counter!(BROADCAST_LAGGED, "topic" => Arc::clone(&self.topic)).increment(1);
        metrics::counter!(BROADCAST_DROPPED, "topic" => Arc::clone(&self.topic)).increment(dropped);
    }

    /// `count` events were delivered from the replay buffer; `overflow`: to catch up
    /// after lagging (else to resume from an id).
    pub(crate) fn replayed(&self, count: usize, overflow: bool) {
        if count == 0 {
            return;
        }
        let cause = if overflow { "overflow" } else { "resume" };
        metrics::counter!(
            BROADCAST_REPLAYED,
            "topic" => Arc::clone(&self.topic),
            "cause" => cause
        )
        .increment(count as u64);
    }
}

impl Drop for SubscriberStats {
    fn drop(&mut self) {
        self.open.decrement(1.0);
    }
}

/// A Redis hub reconnected.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn redis_reconnected() {
    metrics::counter!(REDIS_RECONNECTS).increment(1);
}
