"""Check results from step outputs: the `argoscope-checks` parameter of each finished node.

Steps that use `argoscope.checks` declare the document as an output parameter; Argo copies it
into the Workflow's status, where this observer reads it and serves the check families. A
malformed or oversized document is counted in `argoscope_exporter_objects_skipped_total` and
logged once, never fatal; features beyond the per-check cap are counted as dropped series.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client.core import Metric

from argoscope.checks.schema import SCHEMA, STATUSES
from argoscope.exporter import families as f
from argoscope.exporter.model import StepRef
from argoscope.exporter.objects import cap_label
from argoscope.exporter.series import CounterTable
from argoscope.exporter.stats import ExporterStats

PARAMETER = "argoscope-checks"
RESOURCE = "argoscope-checks"
DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_MAX_FEATURES = 50

Labels = tuple[str, ...]


class MalformedDocument(ValueError):
    """A document that does not follow the argoscope.checks/v1 schema."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def find_document(node: Mapping[str, Any]) -> str | None:
    """The raw `argoscope-checks` output parameter of a node, if it has one."""
    outputs = node.get("outputs")
    parameters = outputs.get("parameters") if isinstance(outputs, Mapping) else None
    if not isinstance(parameters, list):
        return None
    for parameter in parameters:
        if isinstance(parameter, Mapping) and parameter.get("name") == PARAMETER:
            value = parameter.get("value")
            return value if isinstance(value, str) else None
    return None


def parse_document(raw: str, max_bytes: int) -> list[Mapping[str, Any]]:
    """The results of a document; MalformedDocument says what is wrong."""
    if len(raw.encode("utf-8", "replace")) > max_bytes:
        raise MalformedDocument(f"document larger than {max_bytes} bytes")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise MalformedDocument(f"not JSON ({exc})") from None
    if not isinstance(body, dict) or body.get("schema") != SCHEMA:
        raise MalformedDocument(f"schema is not {SCHEMA}")
    results = body.get("results")
    if not isinstance(results, list):
        raise MalformedDocument("'results' is not a list")
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            raise MalformedDocument(f"results[{index}] is not an object")
        if not isinstance(result.get("check"), str) or not result["check"]:
            raise MalformedDocument(f"results[{index}] has no check name")
        if result.get("status") not in STATUSES:
            raise MalformedDocument(f"results[{index}] has an unknown status")
    return results


class CheckDocuments:
    """A NodeObserver serving the `argoscope_check_*` and feature-drift families."""

    def __init__(self, stats: ExporterStats, *, max_series: int = 10_000,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 max_features_per_check: int = DEFAULT_MAX_FEATURES) -> None:
        self._stats = stats
        self._lock = threading.Lock()
        self._max_series = max_series
        self._max_bytes = max_bytes
        self._max_features = max_features_per_check
        self.results = CounterTable(f.CHECK_RESULTS, max_series, stats.drop)
        # Latest (status, value, threshold) per check, and latest scores per check's features.
        self._latest: dict[Labels, tuple[float, float | None, float | None]] = {}
        self._features: dict[Labels, dict[str, float]] = {}

    def on_node_finished(self, step: StepRef, node: Mapping[str, Any], count: bool) -> None:
        """Read the node's document; count results only when `count` (not for replays)."""
        raw = find_document(node)
        if raw is None:
            return
        try:
            results = parse_document(raw, self._max_bytes)
        except MalformedDocument as exc:
            self._stats.skip(RESOURCE, "malformed",
                             f"{step.namespace}/{step.workflow} node {step.node_id}: {exc}")
            return
        with self._lock:
            for result in results:
                self._record(step, result, count)

    def _record(self, step: StepRef, result: Mapping[str, Any], count: bool) -> None:
        check = cap_label(str(result["check"]))
        kind = cap_label(str(result.get("kind") or "check"))
        status = str(result["status"])
        labels = (step.namespace, step.pipeline, step.step, check, kind)
        if count:
            self.results.inc((*labels, status))
        if labels not in self._latest and len(self._latest) >= self._max_series:
            self._stats.drop(f.CHECK_STATUS.name)
            return
        ok = 1.0 if status in ("passed", "warning") else 0.0
        self._latest[labels] = (ok, _number(result.get("value")), _number(result.get("threshold")))
        features = result.get("features")
        if not isinstance(features, list):
            return
        key = (step.namespace, step.pipeline, step.step, check)
        scores: dict[str, float] = {}
        for feature in features:
            if not isinstance(feature, Mapping) or not isinstance(feature.get("feature"), str):
                continue
            score = _number(feature.get("score"))
            if score is None:
                continue
            if len(scores) >= self._max_features:
                self._stats.drop(f.FEATURE_DRIFT_SCORE.name)
                continue
            scores[cap_label(feature["feature"])] = score
        if key not in self._features and len(self._features) * self._max_features >= \
                self._max_series:
            self._stats.drop(f.FEATURE_DRIFT_SCORE.name)
            return
        self._features[key] = scores

    def collect(self) -> Iterable[Metric]:
        """The check families, fresh for one scrape."""
        status, value, threshold = f.CHECK_STATUS.new(), f.CHECK_VALUE.new(), \
            f.CHECK_THRESHOLD.new()
        drift = f.FEATURE_DRIFT_SCORE.new()
        with self._lock:
            results = self.results.metric()
            for labels, (ok, measured, limit) in self._latest.items():
                status.add_metric(labels, ok)  # type: ignore[attr-defined]
                if measured is not None:
                    value.add_metric(labels, measured)  # type: ignore[attr-defined]
                if limit is not None:
                    threshold.add_metric(labels, limit)  # type: ignore[attr-defined]
            for key, scores in self._features.items():
                for feature, score in scores.items():
                    drift.add_metric((*key, feature), score)  # type: ignore[attr-defined]
        return [results, status, value, threshold, drift]
