"""The rendering environment: Jinja2 templates and one stylesheet, inlined into every page.

Jinja2 and leather come with the `reports` extra; :func:`environment` says clearly how to get
them when they are missing.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

from argoscope.atomic import write_text

# Defined by the check library (which must not import this package), re-exported here.
from argoscope.checks.report_hook import INSTALL_HINT as INSTALL_HINT
from argoscope.checks.report_hook import ReportsUnavailable as ReportsUnavailable
from argoscope.checks.step_document import REPORT_PATH_ENV as REPORT_PATH_ENV
from argoscope.checks.step_document import report_path_from_env as report_path_from_env

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Every page carries this policy: nothing is fetched, run, framed or submitted, whatever a
# value on the page holds; only the inline stylesheet, style attributes and data: images.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                           "base-uri 'none'; form-action 'none'")


def require() -> None:
    """Raise ReportsUnavailable, naming the install command, when a renderer is missing."""
    missing = []
    for module in ("jinja2", "leather"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ReportsUnavailable(f"HTML reports need {' and '.join(missing)} (the reports "
                                 f"extra): {INSTALL_HINT}")


@functools.cache
def environment() -> Any:
    """The Jinja2 environment (autoescaping on) with the report filters."""
    require()
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["num"] = number
    env.filters["pct"] = percent
    env.filters["seconds"] = seconds
    env.filters["duration"] = duration
    env.globals["csp"] = CONTENT_SECURITY_POLICY
    env.globals["stylesheet"] = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return env


def render(template: str, **context: Any) -> str:
    """Render one page template."""
    return str(environment().get_template(template).render(**context))


def markup(html: str) -> Any:
    """Trusted markup: only an SVG argoscope's chart code drew (its text escaped by leather)."""
    require()
    from markupsafe import Markup

    return Markup(html)


def number(value: Any, digits: int = 4) -> str:
    """A number for a table cell: `—` when absent, else up to `digits` significant digits."""
    if value is None:
        return "—"
    try:
        return f"{float(value):.{digits}g}"
    except (TypeError, ValueError):
        return str(value)


def percent(value: Any, digits: int = 1) -> str:
    """A share (0..1) as a percentage."""
    if value is None:
        return "—"
    return f"{100.0 * float(value):.{digits}f} %"


def seconds(value: Any) -> str:
    """A duration for people: `850 ms`, `12.4 s`, `3 min 5 s`."""
    if value is None:
        return "—"
    amount = float(value)
    if amount == 0:
        return "0 s"
    if amount < 1:
        return f"{amount * 1000:.0f} ms"
    if amount < 60:
        return f"{amount:.1f} s"
    return f"{int(amount // 60)} min {amount % 60:.0f} s"


def duration(value: Any) -> str:
    """A duration measured between Argo's whole-second timestamps: under a second is `< 1 s`
    (never `0 ms`, which those timestamps cannot tell), else as `seconds` says it."""
    if value is None:
        return "—"
    amount = float(value)
    if amount < 1:
        return "< 1 s"
    if amount < 60:
        return f"{amount:.0f} s"
    return seconds(amount)


def write_page(path: Path, html: str) -> Path:
    """Write a page atomically (readers never see half of it); returns the path."""
    return write_text(path, html)
