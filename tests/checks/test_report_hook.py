"""The check library finds the HTML page writer by name, and works without it.

A step's image may hold the check library without the reports (the package or its extra):
the checks still run and emit, the step report's data document is still written, and the page
is skipped with one note naming what is missing and the install command.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from argoscope.checks import report_hook
from argoscope.checks.step_document import STEP_DOCUMENT_SCHEMA

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter whose imports of the blocked modules fail as if not installed.
STEP = textwrap.dedent("""
    import importlib.abc, json, sys

    BLOCKED = tuple(sys.argv[1].split(","))

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())

    import numpy as np
    import pandas as pd
    from argoscope.checks import Checks

    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 300), "c": rng.choice(["a", "b"], 300)})
    current = pd.DataFrame({"x": rng.normal(3, 1, 300), "c": rng.choice(["a", "b"], 300)})
    with Checks("validate", path="out/checks.json", env={}, report="out/report.html") as checks:
        checks.drift(reference, current, severity="warning")
        checks.gate("accuracy", 0.91, ">", 0.85)
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("jinja2", "leather")
                            or m.startswith("argoscope.reports"))))
""")


def _step_without(blocked: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ARGO"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    return subprocess.run([sys.executable, "-c", STEP, ",".join(blocked)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("blocked", "named"), [
    (["argoscope.reports"], "argoscope.reports"),  # a step image with the check library only
    (["jinja2", "leather"], "jinja2"),              # the package without its `reports` extra
])
def test_without_the_reports_a_step_emits_its_data_document_and_skips_the_page(
        tmp_path: Path, blocked: list[str], named: str) -> None:
    proc = _step_without(blocked, tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    results = json.loads((out / "checks.json").read_text())["results"]
    assert [r["check"] for r in results] == ["drift", "accuracy"]
    data = json.loads((out / "report.json").read_text())
    assert data["schema"] == STEP_DOCUMENT_SCHEMA and data["results"] == results
    assert {d["feature"] for d in data["distributions"]["drift"]} == {"x", "c"}
    assert not (out / "report.html").exists()
    notes = [line for line in proc.stderr.splitlines() if "skipped" in line]
    assert len(notes) == 1, proc.stderr
    assert "report.html" in notes[0] and named in notes[0]
    assert "pip install 'argoscope[reports]'" in notes[0] and "report.json" in notes[0]
    # Nothing of the rendering was loaded (the blocked modules could not be).
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not [m for m in loaded if any(m == b or m.startswith(b + ".") for b in blocked)]


def test_the_named_writer_is_the_reports_page_writer_and_keeps_the_contract() -> None:
    from argoscope.reports.step import write_step_page

    writer = report_hook.page_writer()
    assert writer is write_step_page
    contract = inspect.signature(report_hook.PageWriter.__call__).parameters
    assert list(inspect.signature(writer).parameters) == [p for p in contract if p != "self"]


@pytest.mark.parametrize("reference", ["argoscope.no_such_reports:write", "nowhere_at_all:write"])
def test_a_writer_that_is_not_installed_is_unavailable_with_the_install_command(
        reference: str) -> None:
    with pytest.raises(report_hook.ReportsUnavailable,
                       match=r"HTML reports need (argoscope\.no_such_reports|nowhere_at_all).*"
                             r"pip install 'argoscope\[reports\]'"):
        report_hook.page_writer(reference)
