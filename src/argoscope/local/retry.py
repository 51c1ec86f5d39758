"""A template's `retryStrategy`, read into numbers: how often, how long apart, on what."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from argoscope.local.params import as_text, substitute
from argoscope.local.status import FAILED

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# The attempt phases each `retryPolicy` retries (Argo's default is OnFailure).
_RETRIED = {"Always": FAILED, "OnFailure": frozenset({"Failed"}),
            "OnError": frozenset({"Error"}), "OnTransientError": frozenset()}


def parse_duration(value: Any) -> float:
    """A Go duration (`500ms`, `1m30s`) or a number of seconds, in seconds."""
    text = str(value).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ValueError(f"bad duration {value!r}")
    return sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in parts)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try again: at most `limit` retries, `delay * factor**n` apart, within
    `max_duration` of the first attempt, for attempts that ended in a `retried` phase."""

    limit: int | None
    delay: float
    factor: float
    max_duration: float | None
    retried: frozenset[str]

    def wait(self, attempt: int) -> float:
        """Seconds to wait after attempt number `attempt` (from 0) before the next one."""
        return self.delay * (self.factor ** attempt)


def retry_policy(retry: Mapping[str, Any], scope: Mapping[str, str]) -> RetryPolicy:
    """Read a `retryStrategy` whose values may hold `{{...}}` references to `scope`.

    Raises ValueError or ParameterError for a bad limit or backoff, and KeyError for a
    `retryPolicy` Argo does not know (the manifest check refuses those before a run).
    """
    limit_value = retry.get("limit")
    limit = None if limit_value is None else int(substitute(as_text(limit_value), scope))
    backoff = retry.get("backoff") or {}
    delay = parse_duration(substitute(as_text(backoff["duration"]), scope)) \
        if "duration" in backoff else 0.0
    factor = float(substitute(as_text(backoff.get("factor", 1)), scope))
    max_duration = parse_duration(substitute(as_text(backoff["maxDuration"]), scope)) \
        if "maxDuration" in backoff else None
    retried = _RETRIED[str(retry.get("retryPolicy") or "OnFailure")]
    return RetryPolicy(limit, delay, factor, max_duration, retried)
