"""A fake clock: code under test takes a `clock` callable, the test sets `now` by hand."""

from __future__ import annotations


class Clock:
    """An injected clock the test moves by hand, so retention, ages and staleness are exact."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
