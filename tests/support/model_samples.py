"""Reading the model's families as {labels: value} for assertions."""

from __future__ import annotations

from argoscope.exporter.model import Model


def samples(model: Model, sample_name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called `sample_name` (e.g. `argoscope_step_runs_total`), by sorted labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in model.collect():
        for sample in family.samples:
            if sample.name == sample_name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def step_counts(model: Model) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The step-level counters two equivalent runs must agree on."""
    return {name: samples(model, name) for name in (
        "argoscope_step_runs_total", "argoscope_step_retries_total",
        "argoscope_step_failures_total")}
