"""Prometheus metrics of one server (its own registry, so tests can run several apps)."""

from __future__ import annotations

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

        disable_created_metrics()  # no *_created series beside each counter

        r = self.registry = CollectorRegistry()
        self.requests = Counter("nescio_requests", "HTTP requests by endpoint and status", ["endpoint", "status"],
                                registry=r)
        self.decisions = Counter("nescio_decisions", "Decisions shown, by action (raw = raw mode or no guard)",
                                 ["action"], registry=r)
        self.queue_depth = Gauge("nescio_queue_depth", "Requests waiting for the model worker", registry=r)
        self.running = Gauge("nescio_batch_running", "Requests in the batch being computed", registry=r)
        self.latency = Histogram("nescio_request_latency_seconds", "Request latency (accepted requests)",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.queue_wait = Histogram("nescio_queue_wait_seconds", "Time from acceptance to the start of its batch",
                                    buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("nescio_batch_size", "Requests per model batch",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)
        self.batch_seconds = Histogram("nescio_batch_seconds", "Model time per batch", buckets=LATENCY_BUCKETS,
                                       registry=r)
        self.completion_tokens = Counter("nescio_completion_tokens", "Tokens generated for responses", registry=r)
        self.prompt_tokens = Counter("nescio_prompt_tokens", "Prompt tokens of answered requests", registry=r)

    def bind(self, engine) -> None:
        self.queue_depth.set_function(lambda: engine.depth)
        self.running.set_function(lambda: engine.running)

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
