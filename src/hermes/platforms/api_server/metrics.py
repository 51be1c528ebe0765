"""Prometheus metrics of the API server, in a registry of its own (two servers in one process, as in
tests, do not collide, and nothing global leaks in)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from hermes.agent.contract import Usage

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class ApiMetrics:
    def __init__(self, runs_in_flight: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._requests = Counter(
            "hermes_api_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "hermes_api_request_duration_seconds",
            "Time from request to the end of the response (the whole stream for SSE), by route.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        runs = Gauge("hermes_api_runs_in_flight", "Agent runs in progress.", registry=self.registry)
        runs.set_function(runs_in_flight)
        self._provider_errors = Counter(
            "hermes_api_provider_errors",
            "Runs that failed because the model provider refused or failed, by the provider's status.",
            ["status"],
            registry=self.registry,
        )
        self._tokens = Counter(
            "hermes_api_tokens", "Tokens used by completed runs.", ["kind"], registry=self.registry
        )
        self._prompt_tokens = self._tokens.labels("prompt")
        self._completion_tokens = self._tokens.labels("completion")
        # Label lookups take a lock and build a tuple; the few combinations a server sees are kept.
        self._children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        children = self._children.get((route, status))
        if children is None:
            children = (self._requests.labels(route, str(status)), self._latency.labels(route))
            self._children[(route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def provider_error(self, status: int | None) -> None:
        self._provider_errors.labels(str(status) if status is not None else "none").inc()

    def tokens(self, usage: Usage) -> None:
        if usage.prompt_tokens:
            self._prompt_tokens.inc(usage.prompt_tokens)
        if usage.completion_tokens:
            self._completion_tokens.inc(usage.completion_tokens)

    def render(self) -> bytes:
        return generate_latest(self.registry)
