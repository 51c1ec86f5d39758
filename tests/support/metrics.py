"""Reading exposition text back into numbers, with prometheus_client's parser."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from argoscope.exporter.server import build_registry


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, keyed by (name, labels)."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(text_or_samples: str | dict, name: str, **labels: str) -> float | None:
    """The value of the one sample `name{labels}` (exact label set), or None."""
    table = samples(text_or_samples) if isinstance(text_or_samples, str) else text_or_samples
    return table.get((name, frozenset(labels.items())))


def total(text_or_samples: str | dict, name: str, **labels: str) -> float:
    """Sum of `name` over every sample whose labels include `labels`."""
    table = samples(text_or_samples) if isinstance(text_or_samples, str) else text_or_samples
    wanted = set(labels.items())
    return sum(v for (n, ls), v in table.items() if n == name and wanted <= set(ls))


def expose(*collects: Callable[[], Iterable[Metric]]) -> str:
    """Exposition text of the given collect functions."""
    return generate_latest(build_registry(*collects)).decode()


def families(collect: Iterable[Metric]) -> dict[str, Metric]:
    """Families from a collect() call, by name."""
    return {family.name: family for family in collect}
