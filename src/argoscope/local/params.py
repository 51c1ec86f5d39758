"""`{{...}}` substitution, as Argo's simple template tags (not `{{= expr }}` expressions)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# A tag's inside is stripped in Python: the pattern `\{\{\s*(=?[^{}]*?)\s*\}\}` that did it in
# the regex backtracks cubically over whitespace after an unclosed `{{` (8,000 spaces in a
# manifest or a step's output took minutes), where this one scans once.
_TAG = re.compile(r"\{\{([^{}]*)\}\}")


class ParameterError(ValueError):
    """A `{{...}}` reference that cannot be resolved (Argo fails the node the same way)."""


def substitute(text: str, scope: Mapping[str, str], *, partial: bool = False) -> str:
    """Replace every `{{name}}` in `text` from `scope`.

    Unknown names raise `ParameterError`, unless `partial`, which leaves them for a later
    pass (a DAG task's `{{item}}` is resolved after its fan-out is known).
    """
    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.startswith("="):
            raise ParameterError(f"expression tag {match.group(0)!r} is not supported by the "
                                 "local runner")
        if name in scope:
            return scope[name]
        if partial:
            return match.group(0)
        raise ParameterError(f"failed to resolve {match.group(0)}")

    return _TAG.sub(replace, text)


def substitute_all(value: Any, scope: Mapping[str, str], *, partial: bool = False) -> Any:
    """`substitute` applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return substitute(value, scope, partial=partial)
    if isinstance(value, list):
        return [substitute_all(item, scope, partial=partial) for item in value]
    if isinstance(value, Mapping):
        return {key: substitute_all(item, scope, partial=partial) for key, item in value.items()}
    return value


def as_text(value: Any) -> str:
    """A parameter value as Argo passes it: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def item_scope(item: Any) -> dict[str, str]:
    """`{{item}}` and, for an object item, `{{item.KEY}}`."""
    scope = {"item": as_text(item)}
    if isinstance(item, Mapping):
        for key, value in item.items():
            scope[f"item.{key}"] = as_text(value)
    return scope


def item_label(item: Any) -> str:
    """How Argo names a fan-out child: `task(0:value)`, objects as `k:v,k:v` sorted by key."""
    if isinstance(item, Mapping):
        return ",".join(f"{key}:{as_text(item[key])}" for key in sorted(item))
    return as_text(item)
