"""The README's commands work as written: every `argoscope` command parses (its files exist,
its `-p` parameters are declared), every `make` target and Kustomize path exists, and the
local-runner walkthrough (run, exporter --once, list, get, logs, a failing run) runs for real
with the output the README shows."""

from __future__ import annotations

import itertools
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from argoscope.cli import build_parser
from argoscope.local.manifest import load
from argoscope.local.runner import LocalRun, RunOptions

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
TOOLS = ("argoscope", "make", "kubectl")


def readme_commands() -> list[str]:
    """Shell command lines in the README's shell code blocks (continuations joined)."""
    commands = []
    for language, body in re.findall(r"```(\w*)\n(.*?)```", README, re.S):
        if language not in ("", "sh", "console", "bash"):
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            line = re.sub(r"\s+#.*$", "", line)  # a trailing comment
            if line.split(" ", 1)[0] in TOOLS:
                commands.append(line)
    return commands


def as_argv(synopsis: str) -> list[str]:
    """A runnable argv from a command line or a synopsis: `[optional]` parts and `...`
    dropped, `a|b` choices take the first."""
    text = re.sub(r"\[[^\]]*\](\.\.\.)?", "", synopsis)
    argv = shlex.split(text)
    return [word.split("|")[0] if "|" in word and not word.startswith("-") else word
            for word in argv]


COMMANDS = readme_commands()


def test_the_readme_has_the_commands_this_file_checks() -> None:
    assert sum(c.startswith("argoscope ") for c in COMMANDS) >= 15
    assert "make demo" in COMMANDS and "make test" in COMMANDS


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("argoscope ")])
def test_every_argoscope_command_parses_and_names_real_things(command: str,
                                                              tmp_path: Path) -> None:
    argv = as_argv(command)[1:]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as error:  # argparse's way of refusing
        pytest.fail(f"README command does not parse ({error}): {command}")
    if args.command == "run":
        assert (REPO / args.file).is_file(), f"no such file: {args.file}"
        # Undeclared `-p` names and values outside an enum are refused here, before any run.
        LocalRun(load(REPO / args.file), RunOptions(state_dir=tmp_path,
                                                     parameters=dict(args.parameters)))


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.split()[0] in ("make",
                                                                             "kubectl")])
def test_make_targets_and_kustomize_paths_exist(command: str) -> None:
    argv = as_argv(command)
    if argv[0] == "make":
        done = subprocess.run(["make", "-n", "-C", str(REPO), argv[1],
                               "VENV=/nonexistent-venv"], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
    else:
        for flag, value in itertools.pairwise(argv):
            if flag in ("-k", "--from-file") and "=" not in value:
                assert (REPO / value).exists(), value


def test_make_demo_says_what_it_installs_and_shows_progress() -> None:
    done = subprocess.run(["make", "-n", "-C", str(REPO), "demo", "VENV=/nonexistent-venv"],
                          capture_output=True, text=True, timeout=60, check=True)
    installs = [line for line in done.stdout.splitlines() if "pip install" in line]
    assert any("'.[demo]'" in line for line in installs), installs
    assert not any("[test]" in line or "--quiet" in line or " -q" in line for line in installs)
    note = done.stdout[:done.stdout.index("pip install")]
    assert re.search(r"about \d+ MB to download", note) and "minute" in note


def argoscope(cwd: Path, command: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "argoscope.cli", *as_argv(command)[1:]],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          check=False)


def test_the_local_runner_walkthrough_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "manifests").symlink_to(REPO / "manifests")
    section = README[README.index("## Run a pipeline on this machine"):].replace("\\\n", " ")
    walkthrough = [c for c in COMMANDS if c.startswith("argoscope ") and c in section]
    run, _live, once, listing, get, logs, failing = walkthrough[:7]
    assert "--once" in once and "list" in listing and "crash=transient" in failing

    done = argoscope(tmp_path, run)
    assert done.returncode == 0, done.stderr
    # It ends with the summary the README shows: the verdict first, then where the report is.
    assert re.search(r"^ml-reference-pipeline-\w+  Succeeded — all \d+ checks passed",
                     done.stdout, re.M), done.stdout
    assert re.search(r"^  report: .*/runs/ml-reference-pipeline-\w+/report\.html$", done.stdout,
                     re.M)
    exposition = argoscope(tmp_path, once)
    assert re.search(r'argoscope_workflow_runs_total\{.*phase="Succeeded".*\} 1\.0',
                     exposition.stdout), exposition.stdout[-2000:]
    listed = argoscope(tmp_path, listing)
    assert re.search(r"^ml-reference-pipeline-\w+\s+Succeeded", listed.stdout, re.M)
    shown = argoscope(tmp_path, get)
    assert shown.returncode == 0 and re.search(r"^  preprocessing\s+Succeeded", shown.stdout,
                                               re.M)
    assert re.search(r"^Parameters:.*seed=11", shown.stdout, re.M)
    logged = argoscope(tmp_path, logs)
    assert logged.returncode == 0 and "== preprocessing(0) stdout" in logged.stdout

    failed = argoscope(tmp_path, failing)
    assert failed.returncode == 1
    assert re.search(r"^failed step: preprocessing \(Failed\): preprocessing: critical checks "
                     r"failed: current_not_null:mean radius", failed.stderr, re.M), failed.stderr
    assert re.search(r"^  check failed: current_not_null:mean radius: \d+\.\d\d > 5",
                     failed.stderr, re.M)
    assert "failed step: data-ingestion" not in failed.stderr  # its retry recovered it
    log = re.search(r"^  log: (\S+)$", failed.stderr, re.M)
    assert log and (tmp_path / log.group(1)).is_file()
