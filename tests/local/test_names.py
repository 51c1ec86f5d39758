"""Names and paths the runner accepts, and what it prints of a step's output.

Generated hostile names (`../`, absolute paths, quotes, control characters, upper case, too
long) are refused with exit 2 and write nothing; generated hostile output paths and claim
names never write outside the state directory; step output never reaches a terminal with its
escape sequences live.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.cli import main
from argoscope.local.manifest import load
from argoscope.local.names import printable, workflow_name_problem
from argoscope.local.runner import LocalRun, RunOptions
from tests.support.local_runs import workflow_yaml

STEP = """
- name: main
  container:
    image: busybox
    command: [sh, -c, "true"]
"""
HOSTILE_PIECES = ["../", "/", "..", '"', "'", "\x1b[31m", "\n", " ", "A", "é", "$(id)", "\\",
                  "-", ".", "a"]
hostile_names = st.lists(st.sampled_from(HOSTILE_PIECES), min_size=1, max_size=6).map("".join) \
    | st.text(min_size=64, max_size=80, alphabet="abc")


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@settings(max_examples=60, deadline=None)
@given(name=hostile_names, generated=st.booleans())
def test_names_argo_refuses_are_refused_with_exit_2_and_write_nothing(
        name: str, generated: bool) -> None:
    problem = workflow_name_problem(name + ("xxxxx" if generated else ""))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        manifest = root / "wf.yaml"
        text = workflow_yaml(STEP).replace("generateName: t-", "generateName: PLACEHOLDER")
        field = "generateName" if generated else "name"
        manifest.write_text(text.replace("generateName: PLACEHOLDER", f"{field}: {json.dumps(name)}"))
        state = root / "sub" / "state"
        code = main(["run", str(manifest), "--state-dir", str(state)])
        if problem is None:  # a valid name: it runs (nothing hostile about it)
            assert code == 0
            assert _files(root) >= {"wf.yaml"}
            return
        assert code == 2
        assert _files(root) == {"wf.yaml"}  # nothing written, inside or outside the state dir


@settings(max_examples=40, deadline=None)
@given(name=st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\.[a-z0-9]{1,5}){0,2}",
                          fullmatch=True))
def test_every_dns_1123_name_within_63_characters_is_accepted(name: str) -> None:
    assert workflow_name_problem(name) is None


def test_a_bad_namespace_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(STEP))
    assert main(["run", str(manifest), "--state-dir", str(tmp_path / "s"),
                 "--namespace", "../etc"]) == 2
    assert "DNS-1123" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


OUTPUT_PATH_STEP = """
- name: main
  outputs:
    parameters:
    - name: out
      valueFrom: {{path: {path}, default: "none"}}
  container:
    image: busybox
    command: [sh, -c, "true"]
"""
CLAIM_STEP = """
- name: main
  container:
    image: busybox
    command: [sh, -c, "touch /data/escaped"]
    volumeMounts: [{{name: work, mountPath: /data}}]
"""


@settings(max_examples=25, deadline=None)
@given(depth=st.integers(1, 6), tail=st.sampled_from(["x", "etc/passwd-copy", "a/b/../c"]),
       claim=st.booleans())
def test_no_output_path_or_claim_name_writes_outside_the_state_directory(
        depth: int, tail: str, claim: bool) -> None:
    hostile = "/" + "../" * depth + tail
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        state = root / "state"
        if claim:
            templates = CLAIM_STEP.format()
            extra = (f"  volumes:\n  - name: work\n    persistentVolumeClaim:\n"
                     f"      claimName: {json.dumps('../' * depth + tail)}\n")
            text = workflow_yaml(templates).replace("spec:\n", "spec:\n" + extra, 1)
        else:
            text = workflow_yaml(OUTPUT_PATH_STEP.format(path=json.dumps(hostile)))
        manifest = root / "wf.yaml"
        manifest.write_text(text)
        run = LocalRun(load(manifest), RunOptions(state_dir=state))
        phase = run.run()
        outside = {p for p in _files(root) if not p.startswith("state") and p != "wf.yaml"}
        assert outside == set()
        # Refused exactly when the path would have landed outside; inside, it runs.
        if claim:
            escapes = not (state / "volumes" / ("../" * depth + tail)).resolve().is_relative_to(
                state.resolve())
        else:
            escapes = not (state / "runs" / run.name / "nodes" / "n" / "fs" /
                           hostile.lstrip("/")).resolve().is_relative_to(state.resolve())
        node = next(iter(run.graph.workflow_object()["status"]["nodes"].values()))
        assert (phase == "Error" and "outside the state directory" in node["message"]) == escapes


def test_a_path_that_needs_quoting_is_never_spliced_into_a_script(tmp_path: Path) -> None:
    templates = """
- name: main
  script:
    image: python:3.11
    command: [sh]
    source: |
      echo hi > /data/out
    volumeMounts: [{name: work, mountPath: /data}]
"""
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(templates).replace(
        "spec:\n", "spec:\n  volumes:\n  - name: work\n    emptyDir: {}\n", 1))
    state = tmp_path / 'it"s $(touch pwned)'
    run = LocalRun(load(manifest), RunOptions(state_dir=state))
    assert run.run() == "Error"
    node = next(iter(run.graph.workflow_object()["status"]["nodes"].values()))
    assert "would need quoting" in node["message"]
    assert not list(tmp_path.rglob("pwned"))
    # A plain state directory runs the same script.
    assert LocalRun(load(manifest), RunOptions(state_dir=tmp_path / "plain")).run() == "Succeeded"
    # A path inside a shell command is refused as well; a whole argument is passed as it is.
    for command, phase in (('[sh, -c, "echo hi > /data/out"]', "Error"),
                           ("[cp, /dev/null, /data/out]", "Succeeded")):
        container = (f"- name: main\n  container:\n    image: busybox\n    command: {command}\n"
                     "    volumeMounts: [{name: work, mountPath: /data}]\n")
        manifest.write_text(workflow_yaml(container).replace(
            "spec:\n", "spec:\n  volumes:\n  - name: work\n    emptyDir: {}\n", 1))
        assert LocalRun(load(manifest), RunOptions(state_dir=state)).run() == phase
    assert not list(tmp_path.rglob("pwned"))


@settings(max_examples=100)
@given(text=st.text(alphabet=st.characters(max_codepoint=0x200), max_size=40))
def test_printable_leaves_no_control_character(text: str) -> None:
    shown = printable(text)
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", shown)
    kept = printable(text, keep_newlines=True)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", kept)
    assert kept.count("\n") == text.count("\n")


ESCAPING_STEP = r"""
- name: main
  dag:
    tasks:
    - {name: noisy, template: noisy}
- name: noisy
  container:
    image: busybox
    command: [sh, -c, 'printf "boom \033]0;owned\007\033[2J\033[31mred\n" >&2; exit 4']
"""


def test_escape_sequences_from_a_step_are_shown_never_obeyed(tmp_path: Path) -> None:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(ESCAPING_STEP))
    state = tmp_path / "state"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "argoscope.cli", *args],
                              capture_output=True, text=True, timeout=60, check=False)

    ran = cli("run", str(manifest), "--state-dir", str(state))
    assert ran.returncode == 1
    got = cli("get", "@latest", "--state-dir", str(state))
    logs = cli("logs", "@latest", "--state-dir", str(state))
    for shown in (ran.stdout, ran.stderr, got.stdout, logs.stdout):
        assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b[31mred" in ran.stdout and "\\x1b[31mred" in got.stdout
    assert "\\x1b]0;owned\\x07" in logs.stdout


@pytest.mark.parametrize("field", ["name", "id"])
def test_names_in_a_recorded_run_never_lead_readers_outside_the_state_directory(
        tmp_path: Path, field: str, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret" / "nodes" / "n1"
    secret.mkdir(parents=True)
    (secret / "stdout.log").write_text("SECRET-OUTSIDE\n")
    (secret / "stderr.log").write_text("SECRET-OUTSIDE\n")
    state = tmp_path / "state"
    (state / "workflows").mkdir(parents=True)
    (state / "runs" / "wf" / "nodes").mkdir(parents=True)  # as a real state directory has
    # state/runs/<name>/nodes/<id>: either may climb to tmp/secret/nodes/n1.
    name, node_id = (("../../secret", "n1") if field == "name"
                     else ("wf", "../../../../secret/nodes/n1"))
    node = {"id": node_id, "name": "wf.step", "displayName": "step", "type": "Pod",
            "phase": "Failed", "boundaryID": name, "message": "Error (exit code 1)"}
    (state / "workflows" / "wf.json").write_text(json.dumps({
        "kind": "Workflow", "metadata": {"name": name, "namespace": "argo"},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "dag": {"tasks": [
            {"name": "step", "template": "step"}]}}]},
        "status": {"phase": "Failed", "startedAt": "2026-01-01T00:00:00Z", "nodes": {
            name: {"id": name, "name": name, "displayName": name, "type": "DAG",
                   "phase": "Failed", "children": [node_id]}, node_id: node}}}))
    for command in (["logs", "@latest"], ["get", "@latest"], ["report", "wf"]):
        main([*command, "--state-dir", str(state)])
    shown = capsys.readouterr()
    assert "SECRET-OUTSIDE" not in shown.out + shown.err
    assert "SECRET-OUTSIDE" not in (state / "runs" / "wf" / "report.html").read_text()
