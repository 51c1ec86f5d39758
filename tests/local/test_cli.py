"""`argoscope run`: exit codes, terminal progress, parameters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.local_runs import workflow_yaml

TEMPLATES = """
- name: main
  dag:
    tasks:
    - {name: first, template: step}
    - {name: second, template: step, dependencies: [first]}
- name: step
  container:
    image: python:3.11
    command: [sh, -c, "exit {{workflow.parameters.code}}"]
"""


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(TEMPLATES, arguments="- {name: code, value: '0'}"))
    return subprocess.run(
        [sys.executable, "-m", "argoscope.cli", "run", str(manifest),
         "--state-dir", str(tmp_path / "state"), *args],
        capture_output=True, text=True, timeout=60, check=False)


def test_success_exits_zero_with_progress_lines(tmp_path: Path) -> None:
    done = run_cli(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert sum("images are not pulled" in line for line in lines) == 1
    assert any(line.endswith("ok   first (0.0s)") or " ok   first" in line for line in lines)
    assert any("workflow t-" in line and "Succeeded" in line for line in lines)
    assert "\r" not in done.stderr  # not a TTY: plain lines only
    written = list((tmp_path / "state" / "workflows").glob("*.json"))
    assert json.loads(written[0].read_text())["status"]["phase"] == "Succeeded"


def test_failed_run_exits_one(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "-p", "code=4", "--namespace", "ml")
    assert done.returncode == 1
    assert "FAIL first" in done.stderr and "Error (exit code 4)" in done.stderr
    written = json.loads(next((tmp_path / "state" / "workflows").glob("*.json")).read_text())
    assert written["metadata"]["namespace"] == "ml"
    assert written["status"]["phase"] == "Failed"


def test_unknown_parameter_and_bad_manifest_exit_two(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "-p", "nope=1")
    assert done.returncode == 2
    assert "-p nope: no such workflow parameter" in done.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(workflow_yaml("- name: main\n  steps: []\n"))
    done = subprocess.run([sys.executable, "-m", "argoscope.cli", "run", str(bad), "--state-dir",
                           str(tmp_path / "s")], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "spec.templates[0].steps: not supported by the local runner" in done.stderr
    assert not (tmp_path / "s").exists()


def test_interrupt_stops_steps_and_records_the_run(tmp_path: Path) -> None:
    import signal

    from tests.support.net import wait_until

    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml("""
- name: main
  dag:
    tasks:
    - {name: long, template: long}
    - {name: after, template: long, dependencies: [long]}
- name: long
  container: {image: a, command: [sleep, "30"]}
"""))
    state = tmp_path / "state"
    process = subprocess.Popen([sys.executable, "-m", "argoscope.cli", "run", str(manifest),
                                "--state-dir", str(state)], stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: any((state / "pods").glob("*.json")) if (state / "pods").is_dir()
                   else False, timeout=20, what="the first pod")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    written = json.loads(next((state / "workflows").glob("*.json")).read_text())
    assert written["status"]["phase"] == "Failed"
    assert written["status"]["message"] == "Stopped by user"
    assert "after" not in {n["displayName"] for n in written["status"]["nodes"].values()}


def test_progress_on_a_terminal_keeps_a_running_line() -> None:
    import io

    from argoscope.local.progress import TerminalProgress
    from argoscope.local.status import Node

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = TerminalProgress(stream)
    node = Node(id="w-1", name="w.train", display_name="train", type="Pod", template_name="t",
                boundary_id="w", phase="Running", started=0.0)
    progress.node_changed(node)
    assert stream.getvalue().endswith("running: train")
    node.phase, node.finished = "Succeeded", 1.5
    progress.node_changed(node)
    assert "\r\033[K" in stream.getvalue()
    assert stream.getvalue().rstrip().endswith("ok   train (1.5s)")
