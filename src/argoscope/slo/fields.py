"""Reading one SLO's fields with errors that name the file, the SLO and the field.

Both spec forms (argoscope's short form, OpenSLO) read their fields through `Fields`, so the
same mistake gets the same one-line error whichever form it is written in, and a misspelt
field is refused (with the nearest known name) instead of being silently ignored.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Mapping
from typing import Any

from argoscope.slo.durations import format_duration, parse_duration
from argoscope.slo.model import SpecError

# OpenSLO's `metadata.name` rule (DNS-1123 label): also safe in a rule group name and a
# PromQL string without escaping.
NAME = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")
TEAM = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
# Label values of the exporter are length-capped; a longer one can never match a series.
MAX_LABEL_VALUE = 253


class Fields:
    """The fields of one mapping of a spec, read by name, each error naming where it is."""

    def __init__(self, data: Mapping[str, Any], file: str, slo: str, prefix: str = "") -> None:
        self.data, self.file, self.slo, self.prefix = data, file, slo, prefix

    def error(self, key: str, message: str) -> SpecError:
        """A SpecError for `key` of this mapping."""
        return SpecError(self.file, self.slo, self.prefix + key, message)

    def only(self, known: Collection[str]) -> None:
        """Refuse any key not in `known`, suggesting the nearest known one."""
        for key in self.data:
            if key in known:
                continue
            if not isinstance(key, str):
                raise self.error(str(key), "field names are strings")
            near = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(sorted(known))})"
            raise self.error(key, f"unknown field{hint}")

    def has(self, key: str) -> bool:
        """Whether `key` is present (and not null)."""
        return self.data.get(key) is not None

    def mapping(self, key: str) -> Fields:
        """A required sub-mapping, read with its own prefix."""
        value = self.data.get(key)
        if not isinstance(value, Mapping):
            raise self.error(key, "required, a mapping" if value is None else "must be a mapping")
        return Fields(value, self.file, self.slo, f"{self.prefix}{key}.")

    def text(self, key: str, default: str | None = None, pattern: re.Pattern[str] | None = None,
             what: str = "a non-empty string") -> str:
        """A required string (or `default` when absent), optionally matching `pattern`."""
        value = self.data.get(key)
        if value is None:
            if default is not None:
                return default
            raise self.error(key, f"required, {what}")
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be {what}, not {value!r}")
        if "\n" in value or len(value) > MAX_LABEL_VALUE:
            raise self.error(key, f"must be one line of at most {MAX_LABEL_VALUE} characters")
        if pattern is not None and not pattern.match(value):
            raise self.error(key, f"must be {what}, not {value!r}")
        return value

    def optional_text(self, key: str) -> str | None:
        """An optional string: None when absent."""
        return self.text(key) if self.has(key) else None

    def ratio(self, key: str, default: float | None = None) -> float:
        """A number strictly between 0 and 1 (an objective, a slice target)."""
        value = self.data.get(key)
        if value is None:
            if default is not None:
                return default
            raise self.error(key, "required, a number between 0 and 1 (0.99 for 99%)")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise self.error(key, f"must be a number between 0 and 1 (0.99 for 99%), not {value!r}")
        if not 0 < value < 1:
            raise self.error(key, f"{value!r} is out of range: must be above 0 and below 1 "
                                  "(0.99 for 99%)")
        return float(value)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        """An integer within [low, high], `default` when absent."""
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be a whole number, not {value!r}")
        if not low <= value <= high:
            raise self.error(key, f"{value} is out of range: must be from {low} to {high}")
        return int(value)

    def duration(self, key: str, low: int, high: int, default: int | None = None) -> int:
        """A duration in seconds within [low, high], `default` when absent."""
        value = self.data.get(key)
        if value is None:
            if default is not None:
                return default
            raise self.error(key, "required, a duration such as 30m, 26h or 28d")
        try:
            seconds = parse_duration(value) if isinstance(value, str) else parse_duration("")
        except ValueError:
            raise self.error(key, f"{value!r} is not a duration such as 30m, 26h or 28d") from None
        if not low <= seconds <= high:
            raise self.error(key, f"{value} is out of range: must be from {format_duration(low)} "
                                  f"to {format_duration(high)}")
        return seconds

    def choice(self, key: str, choices: Collection[str], default: str | None = None) -> str:
        """One of `choices` (suggesting the nearest on a misspelling)."""
        value = self.data.get(key, default)
        if value is None:
            raise self.error(key, f"required, one of {', '.join(choices)}")
        if value not in choices:
            near = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise self.error(key, f"{value!r} is not one of {', '.join(choices)}{hint}")
        return str(value)
