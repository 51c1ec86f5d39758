"""The step report's data document (`argoscope.step-report/v1`): a step's results and the
distributions its drift checks captured, written beside the report page.

It is the check library's own output: written with the base install, whether or not the HTML
page can be rendered (the page needs the `reports` extra and is found through
`argoscope.checks.report_hook`). A run report reads this document, never the page's markup.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argoscope.atomic import write_text
from argoscope.checks.results import CheckResult

if TYPE_CHECKING:  # numpy and pandas: imported only when a drift check captures data
    from argoscope.checks.distributions import Distribution

STEP_DOCUMENT_SCHEMA = "argoscope.step-report/v1"
REPORT_PATH_ENV = "ARGOSCOPE_REPORT_PATH"


def report_path_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """`$ARGOSCOPE_REPORT_PATH` as a path, or None when it is unset or empty."""
    value = (os.environ if env is None else env).get(REPORT_PATH_ENV, "")
    return Path(value) if value.strip() else None


def data_path(page: Path) -> Path:
    """Where the data document of the report page `page` goes: beside it, as `.json`
    (`.data.json` for a page that is itself named `.json`, which would otherwise overwrite
    it)."""
    if page.suffix == ".json":
        return page.with_name(f"{page.stem}.data.json")
    return page.with_suffix(".json")


def distribution_dict(item: Distribution) -> dict[str, Any]:
    """A distribution as the data document holds it."""
    return {"feature": item.feature, "kind": item.kind, "labels": item.labels,
            "reference": item.reference, "current": item.current,
            "reference_summary": item.reference_summary.to_dict(),
            "current_summary": item.current_summary.to_dict(), "edges": item.edges,
            "sampled": item.sampled}


def step_document(results: Sequence[CheckResult | Mapping[str, Any]],
                  distributions: Mapping[str, Sequence[Distribution]]) -> dict[str, Any]:
    """The step report's data document: its results and each drift check's distributions."""
    return {"schema": STEP_DOCUMENT_SCHEMA,
            "results": [r.to_dict() if isinstance(r, CheckResult) else dict(r) for r in results],
            "distributions": {name: [distribution_dict(d) for d in items]
                              for name, items in distributions.items()}}


def write_step_document(page: Path, results: Sequence[CheckResult | Mapping[str, Any]],
                        distributions: Mapping[str, Sequence[Distribution]] | None = None
                        ) -> Path:
    """Write the data document of the report page `page` atomically; returns its path.

    Raises OSError when it cannot be written (the caller decides whether that matters).
    """
    document = step_document(results, distributions or {})
    return write_text(data_path(page),
                      json.dumps(document, separators=(",", ":"), allow_nan=False))
