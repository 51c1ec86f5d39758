"""Argo's timestamps as Unix seconds: one reading of `startedAt`, `finishedAt` and the like.

Argo's API server and the local runner write RFC 3339 (`2026-01-01T00:00:00Z`); YAML loaders
turn such a scalar into a `datetime`. This module imports nothing of argoscope, so any layer
(the local runner's readers, the reports, the exporter) can read a time the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["parse_time"]


def parse_time(value: Any) -> float | None:
    """An RFC 3339 timestamp (string, or `datetime`) as Unix seconds; None when it is unset.

    Unset means None, "" or Go's zero time (year 1), which Argo v2 wrote for times not yet
    set. A time without a zone is UTC, as Kubernetes writes them. Anything else that is not a
    timestamp raises ValueError naming the value.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as error:
            raise ValueError(f"bad timestamp {value!r}") from error
    else:
        raise ValueError(f"bad timestamp {value!r}: not a string")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year <= 1:
        return None
    return moment.timestamp()
