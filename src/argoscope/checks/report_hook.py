"""How the check library finds the writer of the HTML step report page, without importing it.

The check library runs in every pipeline step and must stay importable and light there; the
page is drawn by `argoscope.reports` (Jinja2 and leather, the `reports` extra). So the
dependency points the other way: this module names the writer (`PAGE_WRITER`, a
`module:function` reference) and the contract it keeps (`PageWriter`), and imports it by name
only when a page is asked for. Where the writer's module is not installed, or the extra it
needs is missing, the writer is unavailable (:class:`ReportsUnavailable`): the step skips the
page with one note and keeps its data document (`argoscope.checks.step_document`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from argoscope.checks.identity import RunIdentity
from argoscope.checks.results import CheckResult

if TYPE_CHECKING:  # numpy and pandas: imported only when a drift check captures data
    from argoscope.checks.distributions import Distribution

# The only place the check library names the reports package: as text, resolved at run time.
PAGE_WRITER = "argoscope.reports.step:write_step_page"
INSTALL_HINT = "pip install 'argoscope[reports]'"


class ReportsUnavailable(RuntimeError):
    """Rendering a report needs libraries that are not installed (the `reports` extra)."""


class PageWriter(Protocol):
    """Writes the HTML page of a step's checks to `path`; returns the page's path.

    Raises ReportsUnavailable when it cannot render at all, OSError when it cannot write.
    """

    def __call__(self, path: Path, results: Sequence[CheckResult],
                 distributions: Mapping[str, Sequence[Distribution]],
                 identity: RunIdentity) -> Path: ...


def page_writer(reference: str = PAGE_WRITER) -> PageWriter:
    """The writer `reference` (`module:function`) names, imported now.

    Raises ReportsUnavailable, naming what is missing and the install command, when the
    module (or a module it imports) is not installed.
    """
    module_name, _, function = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ReportsUnavailable(f"HTML reports need {exc.name or module_name}, which is not "
                                 f"installed (the reports extra): {INSTALL_HINT}") from exc
    return cast(PageWriter, getattr(module, function))
