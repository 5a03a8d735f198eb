"""Engine-specific Prometheus metrics, registered beside the request metrics of create_app."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
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
