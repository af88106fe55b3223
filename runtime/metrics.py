"""Prometheus metrics shared by every service (one registry per process, served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter("events_published_total", "Events the outbox relay published", ["service", "subject"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events applied by a consumer", ["service", "consumer"])
EVENTS_DUPLICATE = Counter(
    "events_duplicate_total", "Events skipped because the inbox had them already", ["service", "consumer"]
)
EVENTS_REDELIVERED = Counter(
    "events_redelivered_total", "Deliveries that were not the first for their message", ["service", "consumer"]
)
EVENTS_DEAD_LETTERED = Counter(
    "events_dead_lettered_total", "Messages parked in the dead-letter stream", ["service", "consumer"]
)
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row", ["service"])
