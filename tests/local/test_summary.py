"""Verdict first: `argoscope run` ends with the demo's per-run summary and writes the run
report; `get` shows the verdict and the failed checks; every command a summary suggests runs
as printed, from another directory, even when the state directory's path needs quoting."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from argoscope.local.verdict import Verdict
from tests.support.local_runs import workflow_yaml

CHECKS = {"schema": "argoscope.checks/v1", "results": [
    {"check": "rows", "kind": "expectation", "status": "passed", "value": 10, "threshold": 1},
    {"check": "accuracy", "kind": "gate", "status": "failed", "value": 0.7412,
     "threshold": 0.85, "op": ">", "severity": "critical"},
    {"check": "label_noise", "kind": "gate", "status": "failed", "value": 0.2,
     "threshold": 0.1, "op": "<", "severity": "warning"}]}
# The step reports a failed critical gate and still exits 0, as the reference pipeline's
# validation does (the DAG's `when:` decides): the run Succeeds.
TEMPLATES = """
- name: main
  dag:
    tasks:
    - {name: validate, template: validate}
- name: validate
  outputs:
    parameters:
    - name: argoscope-checks
      valueFrom: {path: /tmp/argoscope/checks.json}
  container:
    image: python:3.11
    command: [cp, CHECKS, /tmp/argoscope/checks.json]
"""


def argoscope(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "argoscope.cli", *args], capture_output=True,
                          text=True, timeout=120, check=False, cwd=cwd)


def as_printed(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A suggested command run as a person pastes it: through a shell whose PATH lacks the
    virtualenv (a fresh shell), from `cwd`."""
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    return subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120,
                          check=False, cwd=cwd, env=env)


def test_run_says_succeeded_but_checks_failed_and_every_suggestion_runs(tmp_path: Path) -> None:
    checks = tmp_path / "checks.json"
    checks.write_text(json.dumps(CHECKS))
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(TEMPLATES.replace("CHECKS", str(checks))))
    state = tmp_path / "my state's dir"  # a path a shell must quote
    ran = argoscope("run", str(manifest), "--state-dir", str(state))
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    assert re.search(r"^t-\w+  Succeeded — 1 critical check failed, 1 warning", out, re.M), out
    assert "failed: validate/accuracy: 0.74 < 0.85 (needs > 0.85)" in out
    page = Path(re.search(r"report: (.+)$", out, re.M).group(1))  # type: ignore[union-attr]
    html = page.read_text()
    # The page opens with the same verdict, coloured as a failure.
    body = html.split("<body>", 1)[1]
    assert body.lstrip().startswith('<p class="verdict bad"')
    assert "Succeeded</span> — 1 critical check failed, 1 warning" in body.split("</p>", 1)[0]
    # The suggested command runs as printed, pasted into a fresh shell in the same directory
    # (the virtualenv not on PATH: it names the script).
    suggested = re.search(r"^next: (\S+ get \S+ --state-dir '[^']*'\"'\"'[^']*')",
                          out, re.M).group(1)  # type: ignore[union-attr]
    got = as_printed(suggested, Path.cwd())
    assert got.returncode == 0, got.stderr
    assert re.search(r"^Verdict: +Succeeded — 1 critical check failed, 1 warning$", got.stdout,
                     re.M), got.stdout
    assert "failed accuracy: 0.74 < 0.85 (needs > 0.85)" in got.stdout
    # Before a report exists, `get` names the command that writes it; it runs as printed.
    page.unlink()
    got = argoscope("get", "@latest", "--state-dir", str(state))
    hint = re.search(r"none yet \((\S+ report .+) writes", got.stdout)
    assert hint, got.stdout
    written = as_printed(hint.group(1), Path.cwd())
    assert written.returncode == 0, written.stderr
    assert Path(written.stdout.strip()) == page and page.is_file()


def test_the_verdict_names_what_the_phase_hides() -> None:
    assert Verdict.of("Succeeded", [("passed", "critical")] * 3).line == \
        "Succeeded — all 3 checks passed"
    assert Verdict.of("Succeeded", [("failed", "critical"), ("error", "critical"),
                                    ("failed", "warning")]).tone == "bad"
    assert Verdict.of("Succeeded", [("failed", "warning")]).tone == "warn"
    assert Verdict.of("Failed", [], "ingest").line == "Failed — ingest failed"
    assert Verdict.of("Succeeded", []).line == "Succeeded — no checks reported"
