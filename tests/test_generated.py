"""Golden test: every committed generated file equals what the code generates now."""

from __future__ import annotations

from pathlib import Path

import pytest

from argoscope.generate import outputs

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("relative", sorted(outputs()))
def test_committed_copy_matches_generator(relative: str) -> None:
    committed = REPO / relative
    assert committed.exists(), f"{relative} is missing: run `make generate`"
    assert committed.read_text(encoding="utf-8") == outputs()[relative], (
        f"{relative} is out of date: run `make generate` and commit the result")
