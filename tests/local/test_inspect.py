"""What a person reads about a run: the runner's failure output (the failing step by name,
its reason, stderr tail and log path), a Ctrl-C stop, and `argoscope list/get/logs`."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.local_runs import workflow_yaml
from tests.support.net import wait_until

CHECKS = {"schema": "argoscope.checks/v1", "results": [
    {"check": "rows", "kind": "expectation", "status": "passed", "value": 10, "threshold": 1},
    {"check": "accuracy", "kind": "gate", "status": "failed", "value": 0.7412,
     "threshold": 0.85, "op": ">", "message": "accuracy 0.7412 > 0.85: not met"},
    {"check": "input_drift", "kind": "drift", "status": "failed", "value": 0.5,
     "threshold": 0.25, "features": [
         {"feature": "age", "method": "ks", "score": 0.001, "threshold": 0.05, "drifted": True},
         {"feature": "income", "method": "ks", "score": 0.4, "threshold": 0.05,
          "drifted": False}]}]}

# `ingest` fails on its first attempt and its retry recovers it; `prep` then fails for good,
# saying why on stderr after some routine output; `validate` reports checks and succeeds.
TEMPLATES = """
- name: main
  dag:
    tasks:
    - {name: validate, template: validate}
    - {name: ingest, template: ingest}
    - {name: prep, template: prep, dependencies: [ingest]}
- name: ingest
  retryStrategy: {limit: 2, retryPolicy: Always}
  container:
    image: python:3.11
    command: [sh, -c, "echo 'ingest: flaky source' >&2; test {{retries}} -ge 1"]
- name: prep
  container:
    image: python:3.11
    command: [sh, -c, "echo line one >&2; echo line two >&2;
      echo 'prep: critical checks failed: not_null:age' >&2; exit 3"]
- name: validate
  outputs:
    parameters:
    - name: argoscope-checks
      valueFrom: {path: /tmp/argoscope/checks.json}
  container:
    image: python:3.11
    command: [sh, -c, "mkdir -p /tmp/argoscope && cp CHECKS /tmp/argoscope/checks.json"]
"""


def argoscope(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "argoscope.cli", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def failing_run(tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    manifest = tmp_path / "wf.yaml"
    checks = tmp_path / "checks.json"
    checks.write_text(json.dumps(CHECKS))
    manifest.write_text(workflow_yaml(TEMPLATES.replace("CHECKS", str(checks)), name="flow-"))
    state = tmp_path / "state"
    return state, argoscope("run", str(manifest), "--state-dir", str(state))


def test_failure_names_the_failing_step_its_reason_and_log(tmp_path: Path) -> None:
    state, done = failing_run(tmp_path)
    assert done.returncode == 1
    err = done.stderr
    assert re.search(r"^failed step: prep \(Failed\): prep: critical checks failed: "
                     r"not_null:age$", err, re.M), err
    assert "failed step: ingest" not in err  # its retry recovered it
    assert "line two" in err  # the tail of its stderr
    log = Path(re.search(r"^  log: (.+)$", err, re.M).group(1))  # type: ignore[union-attr]
    assert log.is_file() and "critical checks failed" in log.read_text()
    assert re.search(r"^more: \S*argoscope get flow-\w+ --state-dir ", err, re.M)
    # No node id in what the person reads.
    workflow_line = next(line for line in err.splitlines() if line.startswith("workflow flow-"))
    assert workflow_line.endswith(" Failed"), workflow_line
    # The Argo-shaped message blames prep's node, not the attempt the retry recovered.
    written = json.loads(next((state / "workflows").glob("*.json")).read_text())
    nodes = written["status"]["nodes"]
    blamed = re.fullmatch(r"child '(.+)' failed", written["status"]["message"])
    assert blamed and nodes[blamed.group(1)]["displayName"] == "prep"


def test_list_get_and_logs_read_the_state(tmp_path: Path) -> None:
    state, _ = failing_run(tmp_path)
    listing = argoscope("list", "--state-dir", str(state))
    assert listing.returncode == 0
    name = re.search(r"^(flow-\w+)\s+Failed\s", listing.stdout, re.M)
    assert name, listing.stdout
    run = name.group(1)

    got = argoscope("get", run[:7], "--state-dir", str(state))  # a unique prefix
    assert got.returncode == 0, got.stderr
    out = got.stdout
    assert re.search(rf"^Name:\s+{run}$", out, re.M) and re.search(r"^Status:\s+Failed$", out,
                                                                    re.M)
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")
            and not line.strip().startswith(("checks:", "failed", "passed"))}
    assert re.search(r"Succeeded\s+\d+s\s+1\s*$", rows["ingest"])  # one retry, recovered
    assert "Failed" in rows["prep"] and "prep: critical checks failed" in rows["prep"]
    assert "checks: 1 of 3 passed" in out
    assert "failed accuracy: 0.74 < 0.85 (needs > 0.85)" in out
    assert "failed input_drift: 1 of 2 features drifted (share 0.50, limit 0.25): age" in out

    logs = argoscope("logs", run, "ingest", "--state-dir", str(state))
    assert logs.returncode == 0
    assert re.findall(r"^== (ingest\(\d\)) stderr \(", logs.stdout, re.M) == [
        "ingest(0)", "ingest(1)"]
    assert "prep:" not in logs.stdout
    everything = argoscope("logs", run, "--state-dir", str(state))
    assert "prep: critical checks failed" in everything.stdout

    missing = argoscope("get", "nope", "--state-dir", str(state))
    assert missing.returncode == 2 and "'nope' matches no run" in missing.stderr
    assert run in missing.stderr  # it lists what exists
    no_step = argoscope("logs", run, "nope", "--state-dir", str(state))
    assert no_step.returncode == 2 and "no step 'nope'" in no_step.stderr
    absent = argoscope("list", "--state-dir", str(tmp_path / "none"))  # as get and logs do
    assert absent.returncode == 2 and "none: no such directory" in absent.stderr
    (tmp_path / "empty").mkdir()
    empty = argoscope("list", "--state-dir", str(tmp_path / "empty"))
    assert empty.returncode == 0 and "no runs in" in empty.stderr


def test_ctrl_c_shows_the_step_as_stopped_not_failed(tmp_path: Path) -> None:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml("""
- name: main
  dag:
    tasks:
    - {name: long, template: long}
    - {name: queued, template: long}
- name: long
  container: {image: a, command: [sleep, "30"]}
"""))
    state = tmp_path / "state"
    # One slot: `queued` waits for it, so the stop reaches it before its process starts.
    process = subprocess.Popen([sys.executable, "-m", "argoscope.cli", "run", str(manifest),
                                "--state-dir", str(state), "--parallelism", "1"],
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: any((state / "pods").glob("*.json")) if (state / "pods").is_dir()
                   else False, timeout=20, what="the first pod")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
        assert process.returncode == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "exit code 143" not in err and "FAIL" not in err and "ERR" not in err, err
    assert "failed step" not in err and "stopped before start" not in err, err
    first, second = sorted(re.findall(r"stop (long|queued) \(\d+\.\ds\): stopped by user",
                                      err))
    assert (first, second) == ("long", "queued"), err
    assert "stopped: long (stopped by user)" in err
    got = argoscope("get", "@latest", "--state-dir", str(state))
    assert re.search(r"^  long\s+Stopped\s", got.stdout, re.M), got.stdout
    assert re.search(r"^  queued\s+Stopped\s", got.stdout, re.M), got.stdout


def test_get_shows_checks_in_the_base_install_too(tmp_path: Path) -> None:
    """Without the exporter extra (no prometheus_client) `get` still reads check results."""
    from tests.test_cli_errors import without

    state, _ = failing_run(tmp_path)
    got = without("prometheus_client", "get", "@latest", "--state-dir", str(state))
    assert got.returncode == 0, got.stderr
    assert "failed accuracy: 0.74 < 0.85 (needs > 0.85)" in got.stdout
