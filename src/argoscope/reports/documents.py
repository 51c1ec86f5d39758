"""What a report reads, read with size limits and validated before anything is rendered.

A report renders only argoscope's own documents, never markup a step left behind: the
Workflow object (its check documents), and the step report's data document (`<page>.json`,
written beside each step report page by `argoscope.checks.step_document`: its results and
distributions). Each is read up to a size limit, checked field by field (strings are strings,
numbers are finite numbers, lists are bounded) and dropped, with a note, when it is not what
it claims to be.
Every string then reaches the page through the template's escaping.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from argoscope.boundedio import read_at_most
from argoscope.checks.distributions import Distribution, Summary
from argoscope.checks.schema import SEVERITIES, STATUSES
from argoscope.checks.step_document import STEP_DOCUMENT_SCHEMA
from argoscope.local.runs import MAX_WORKFLOW_BYTES as MAX_RUN_BYTES
from argoscope.local.stepfiles import read_tail_text

# Size limits: a Workflow object (Argo's own objects stay under etcd's 1.5 MiB; a local run
# with many steps is larger), a dump of many Workflows, one step's data document, a log tail.
MAX_WORKFLOW_BYTES = MAX_RUN_BYTES
MAX_DUMP_BYTES = 256 * 1024 * 1024
MAX_STEP_DOCUMENT_BYTES = 8 * 1024 * 1024
MAX_LOG_TAIL_BYTES = 64 * 1024
# Bounds on what one document may hold; beyond them the rest is dropped and counted.
MAX_RESULTS = 2000
MAX_FEATURES = 100_000
MAX_BARS = 64
MAX_TEXT = 500


class DocumentTooLarge(ValueError):
    """An input is larger than its limit (the message names the file and the limit)."""


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of `path`, refusing (DocumentTooLarge) a file over `limit` bytes."""
    # Allocates what the file holds, not `limit`; a dump may be a pipe a person named.
    data = read_at_most(path, limit, regular_only=False)
    if len(data) > limit:
        raise DocumentTooLarge(f"{path}: larger than {limit // (1024 * 1024)} MiB; not read")
    return data


def read_tail(path: Path, limit: int = MAX_LOG_TAIL_BYTES) -> str:
    """The last `limit` bytes of a text file (a log), decoded leniently from its first whole
    character; only a regular file is read (a FIFO a step left would block the report)."""
    return read_tail_text(path, limit)


def text(value: Any, limit: int = MAX_TEXT) -> str:
    """A string for the page: non-strings become '', long ones are cut with an ellipsis."""
    if not isinstance(value, str):
        return ""
    return value if len(value) <= limit else value[:limit] + "…"


def number(value: Any) -> float | None:
    """A finite number, or None (booleans, strings, NaN and infinities are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def _feature(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("feature"), str):
        return None
    return {"feature": text(entry["feature"], 200), "method": text(entry.get("method"), 40),
            "score": number(entry.get("score")), "threshold": number(entry.get("threshold")),
            "drifted": entry.get("drifted") is True}


def result(entry: Any) -> dict[str, Any] | None:
    """One check result, validated; None when it is not one."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("check"), str):
        return None
    features = entry.get("features")
    details = entry.get("details")
    checked: dict[str, Any] = {
        "check": text(entry["check"], 200), "kind": text(entry.get("kind"), 40) or "check",
        # Outside the contract's vocabulary: the status an unreadable result has (error), the
        # severity a result without one has (critical), as `checks.schema.well_typed` reads.
        "status": entry.get("status") if entry.get("status") in STATUSES else "error",
        "value": number(entry.get("value")), "threshold": number(entry.get("threshold")),
        "severity": entry.get("severity") if entry.get("severity") in SEVERITIES
        else "critical",
        "message": text(entry.get("message")), "op": text(entry.get("op"), 4) or None,
        "details": {text(k, 40): number(v) for k, v in list(details.items())[:20]
                    if isinstance(k, str)} if isinstance(details, Mapping) else {}}
    if isinstance(features, list):
        kept = [f for f in map(_feature, features[:MAX_FEATURES]) if f is not None]
        checked["features"] = kept
        checked["features_dropped"] = max(0, len(features) - MAX_FEATURES)
    return checked


def results(document: Any) -> list[dict[str, Any]]:
    """The validated results of an `argoscope.checks/v1` document (parsed JSON)."""
    entries = document.get("results") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        return []
    return [r for r in map(result, entries[:MAX_RESULTS]) if r is not None]


def _summary(value: Any) -> Summary:
    entry = value if isinstance(value, Mapping) else {}
    count, missing = number(entry.get("count")), number(entry.get("missing"))
    return Summary(count=int(count or 0), missing=int(missing or 0),
                   mean=number(entry.get("mean")), minimum=number(entry.get("min")),
                   maximum=number(entry.get("max")))


def _shares(value: Any) -> list[float] | None:
    if not isinstance(value, list) or len(value) > MAX_BARS:
        return None
    shares = [number(v) for v in value]
    if any(s is None or not 0.0 <= s <= 1.0 for s in shares):
        return None
    return [float(s) for s in shares if s is not None]


def distribution(entry: Any) -> Distribution | None:
    """One feature's distributions, validated; None when it is not one."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("feature"), str) \
            or entry.get("kind") not in ("numerical", "categorical"):
        return None
    labels = entry.get("labels")
    reference, current = _shares(entry.get("reference")), _shares(entry.get("current"))
    if not isinstance(labels, list) or reference is None or current is None \
            or not len(labels) == len(reference) == len(current):
        return None
    edges_raw = entry.get("edges") or []
    edges = [number(e) for e in edges_raw] if isinstance(edges_raw, list) else [None]
    if entry["kind"] == "numerical" and (len(edges) != len(labels) + 1 or None in edges):
        return None
    sampled = number(entry.get("sampled"))
    return Distribution(
        feature=text(entry["feature"], 200), kind=str(entry["kind"]),
        labels=[text(label, 100) for label in labels], reference=reference, current=current,
        reference_summary=_summary(entry.get("reference_summary")),
        current_summary=_summary(entry.get("current_summary")),
        edges=[float(e) for e in edges if e is not None],
        sampled=int(sampled) if sampled else None)


def read_step_document(path: Path) -> dict[str, list[Distribution]] | None:
    """The distributions of a step's data document, validated; None when there is none or it
    is not one (too large, not JSON, another schema)."""
    try:
        loaded = json.loads(read_limited(path, MAX_STEP_DOCUMENT_BYTES))
    except (OSError, ValueError):
        return None
    if not isinstance(loaded, Mapping) or loaded.get("schema") != STEP_DOCUMENT_SCHEMA:
        return None
    found = loaded.get("distributions")
    if not isinstance(found, Mapping):
        return None
    kept: dict[str, list[Distribution]] = {}
    for name, items in list(found.items())[:MAX_RESULTS]:
        if isinstance(name, str) and isinstance(items, list):
            valid = [d for d in map(distribution, items[:MAX_FEATURES]) if d is not None]
            kept[text(name, 200)] = valid
    return kept
