"""The committed `dashboards/*.json` are exactly what the code generates, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from argoscope.dashboards import OUTPUT_DIR, render
from argoscope.generate import outputs

REPO = Path(__file__).resolve().parents[2]


def test_committed_dashboards_equal_the_generated_ones() -> None:
    generated = render()
    committed = {f"{OUTPUT_DIR}/{path.name}": path.read_text(encoding="utf-8")
                 for path in sorted((REPO / OUTPUT_DIR).glob("*.json"))}
    assert sorted(committed) == sorted(generated), "run `argoscope generate` (stale or missing)"
    for relative, text in generated.items():
        assert committed[relative] == text, f"{relative} is out of date: run `argoscope generate`"


def test_argoscope_generate_writes_the_dashboards() -> None:
    assert set(render()) <= set(outputs())


def test_generation_is_deterministic_and_loads_as_json() -> None:
    first, second = render(), render()
    assert first == second
    for relative, text in first.items():
        assert json.loads(text)["uid"] == Path(relative).stem
