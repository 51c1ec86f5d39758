"""Prometheus durations (`5m`, `26h`, `28d`, `1h30m`) read from SLO specs and written into rules."""

from __future__ import annotations

import re

# Prometheus' duration units, largest first; a duration is written in the largest unit that
# divides it, so `28d` stays `28d` and `90m` becomes `90m`, not `1h30m`.
UNITS: tuple[tuple[str, int], ...] = (
    ("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1),
)
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> int:
    """Seconds in a Prometheus duration; ValueError (saying what is expected) otherwise."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None or not text.strip() or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration such as 30m, 26h or 28d")
    return sum(int(amount) * seconds
               for amount, (_, seconds) in zip(match.groups(), UNITS, strict=True) if amount)


def format_duration(seconds: int) -> str:
    """A Prometheus duration for `seconds`, in the largest unit that divides it exactly."""
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, not {seconds}")
    for unit, size in UNITS:
        if seconds % size == 0 and unit not in {"y", "w"}:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable: every positive integer is a number of seconds")
