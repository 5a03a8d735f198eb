"""Engine-specific Prometheus metrics, registered beside the request metrics of create_app."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# (campaign ARN, (hits, misses, bytes)) of every deployed model's score cache.
ScoreCacheStats = Callable[[], Iterable[tuple[str, tuple[int, int, int]]]]


class ScoreCacheCollector(Collector):
    """The runtime's score caches, read at scrape time: the hot path only bumps two ints."""

    def __init__(self, stats: ScoreCacheStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Any]:
        hits = CounterMetricFamily(
            "engine_score_cache_hits",
            "Recommendations answered from kept scores (SCORE_CACHE_MB)",
            labels=["campaign"],
        )
        misses = CounterMetricFamily(
            "engine_score_cache_misses",
            "Recommendations whose scores were computed",
            labels=["campaign"],
        )
        held = GaugeMetricFamily(
            "engine_score_cache_bytes", "Memory held by kept scores", labels=["campaign"]
        )
        for campaign, (n_hits, n_misses, n_bytes) in self.stats():
            hits.add_metric([campaign], n_hits)
            misses.add_metric([campaign], n_misses)
            held.add_metric([campaign], n_bytes)
        yield from (hits, misses, held)


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.trainings = Counter(
            "engine_trainings_total",
            "Solution version trainings by recipe and outcome",
            ["recipe", "status"],
            registry=registry,
        )
        self.training_seconds = Histogram(
            "engine_training_seconds",
            "Wall-clock training time of a solution version",
            ["recipe"],
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
            registry=registry,
        )
        self.inferences = Counter(
            "engine_inferences_total",
            "Runtime model calls by operation and recipe type",
            ["operation", "recipe_type"],
            registry=registry,
        )
        self.inference_seconds = Histogram(
            "engine_inference_seconds",
            "Time spent in the model (and filters) per runtime call",
            ["operation"],
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
            registry=registry,
        )
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.events = Counter(
            "engine_events_total", "Events received by PutEvents", registry=registry
        )
        self.imported_rows = Counter(
            "engine_imported_rows_total",
            "Rows imported by dataset import jobs",
            ["dataset_type"],
            registry=registry,
        )

    def watch_score_caches(self, stats: ScoreCacheStats) -> None:
        self.registry.register(ScoreCacheCollector(stats))

    def observe_inference(self, operation: str, recipe_type: str, seconds: float) -> None:
        """Hot path: label children are looked up once and kept."""
        key = (operation, recipe_type)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.inference_seconds.labels(operation),
                self.inferences.labels(operation, recipe_type),
            )
        children[0].observe(seconds)
        children[1].inc()
