"""Errors a newcomer meets first: a missing optional dependency, `generate` outside the
repository, a rollback of a registry that does not exist, and options without help."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.cli import build_parser
from argoscope.pipeline.cli import build_parser as pipeline_parser
from tests.support.local_runs import workflow_yaml

REPO = Path(__file__).resolve().parents[1]

# Runs `argoscope ARGS` with one top-level module made unimportable, as in an install
# without the extra that provides it.
WITHOUT_MODULE = textwrap.dedent("""
    import importlib.abc, sys
    blocked = sys.argv[1]

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == blocked or name.startswith(blocked + "."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    from argoscope.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def without(module: str, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_MODULE, module, *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


@pytest.mark.parametrize(("module", "args", "extra"), [
    ("prometheus_client", ("exporter", "--source", "file:nothing.json", "--once"), "exporter"),
    ("kubernetes", ("exporter", "--source", "kubernetes", "--once"), "exporter"),
    ("prometheus_client", ("demo",), "demo"),
    ("sklearn", ("demo",), "demo"),
    ("grafana_foundation_sdk", ("generate", "--check"), "exporter,dashboards"),
    ("prometheus_client", ("slo", "generate", "alerts/slo/reference-pipeline.yaml"), "exporter"),
])
def test_a_missing_optional_dependency_exits_2_naming_the_extra(
        module: str, args: tuple[str, ...], extra: str, tmp_path: Path) -> None:
    if args[0] == "demo":
        args = (*args, "--state-dir", str(tmp_path / "state"))
    done = without(module, *args)
    assert done.returncode == 2, done.stderr
    assert f"pip install 'argoscope[{extra}]'" in done.stderr
    assert f"'{module}' is not installed" in done.stderr
    assert "Traceback" not in done.stderr


def test_generate_refuses_outside_a_checkout_unless_given_a_target(tmp_path: Path) -> None:
    def generate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "argoscope.cli", "generate", *args],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120,
                              check=False)

    refused = generate()
    assert refused.returncode == 2
    assert "not an argoscope checkout" in refused.stderr and "--root" in refused.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
    target = tmp_path / "out"
    written = generate("--root", str(target))
    assert written.returncode == 0, written.stderr
    assert (target / "docs" / "metrics.md").is_file()


def test_rollback_of_a_missing_registry_says_so(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "argoscope.pipeline", "rollback",
                           "--registry-dir", str(tmp_path / "nope")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "nope: no such directory" in done.stderr
    assert "history" not in done.stderr


def _undocumented(parser: argparse.ArgumentParser, path: str) -> set[str]:
    missing: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if not helps.get(name):
                    missing.add(f"{path} {name}")
                missing |= _undocumented(sub, f"{path} {name}")
        elif not action.help and not isinstance(action, argparse._HelpAction):
            missing.add(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_has_help_text() -> None:
    missing = _undocumented(build_parser(), "argoscope") | _undocumented(
        pipeline_parser(), "python -m argoscope.pipeline")
    assert not missing, sorted(missing)


# --- One error shape for every command (argoscope.cli_errors) ---------------------------------

# 9 levels of 9 references: 710 bytes of YAML that expand to 9**9 strings when loaded naively.
ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]"
       for prev, name in zip("abcdefgh", "bcdefghi", strict=True)]) + "\n"
WORKFLOW = workflow_yaml("""
    - name: main
      script: {image: python, command: [python], source: "print(1)"}
""")


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, str]:
    """Every kind of bad input, by name: paths as strings."""
    files = {"bad.json": "{not json", "bad.yaml": "a: [unclosed\n", "bomb.yaml": ALIAS_BOMB,
             "wrong.json": "[1, 2]", "wrong.yaml": "- 1\n- 2\n", "file.txt": "x\n",
             "good.json": '{"kind": "List", "items": []}', "wf.yaml": WORKFLOW,
             "data.csv": "a,b\n1,2\n3,4\n",
             "workflow.json": json.dumps({"kind": "Workflow", "metadata": {"name": "r"},
                                          "status": {"phase": "Succeeded", "nodes": {}}})}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "dir").mkdir()
    paths = {name.replace(".", "_"): str(tmp_path / name) for name in files}
    return {**paths, "missing": str(tmp_path / "missing.json"), "dir": str(tmp_path / "dir")}


# (command as the error names it, argv with {placeholders} from `inputs`)
BAD_CALLS: list[tuple[str, str]] = [
    ("exporter", "exporter --once --source file:{missing}"),
    ("exporter", "exporter --once --source file:{bad_json}"),
    ("exporter", "exporter --once --source file:{bad_yaml}"),
    ("exporter", "exporter --once --source file:{bomb_yaml}"),
    ("exporter", "exporter --once --source local:{file_txt}"),
    ("exporter", "exporter --once --source local:{missing}"),
    ("run", "run {missing}"),
    ("run", "run {dir}"),
    ("run", "run {bad_yaml}"),
    ("run", "run {bomb_yaml}"),
    ("run", "run {wrong_yaml}"),
    ("run", "run {wf_yaml} --state-dir {file_txt}"),
    ("list", "list --state-dir {missing}"),
    ("list", "list --state-dir {file_txt}"),
    ("get", "get r --state-dir {missing}"),
    ("get", "get r --state-dir {file_txt}"),
    ("logs", "logs r --state-dir {file_txt}"),
    ("check expect", "check expect --suite {missing} {data_csv}"),
    ("check expect", "check expect --suite {dir} {data_csv}"),
    ("check expect", "check expect --suite {bad_json} {data_csv}"),
    ("check expect", "check expect --suite {wrong_json} {data_csv}"),
    ("check expect", "check expect --suite {good_json} {dir}"),
    ("check drift", "check drift --reference {missing} --current {data_csv}"),
    ("check drift", "check drift --reference {dir} --current {data_csv}"),
    ("check drift", "check drift --reference {bad_json} --current {data_csv}"),
    ("check drift", "check drift --reference {data_csv} --current {data_csv} --out {dir}"),
    ("report", "report r --dump {missing}"),
    ("report", "report r --dump {dir}"),
    ("report", "report r --dump {bad_json}"),
    ("report", "report r --dump {bomb_yaml}"),
    ("report", "report r --dump {wrong_json}"),
    ("report", "report r --state-dir {file_txt}"),
    ("report", "report r --dump {workflow_json} -o {dir}"),
    ("demo", "demo --keep-state --state-dir {file_txt}"),
    ("generate", "generate --check --root {file_txt}"),
]


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str]:
    from argoscope.cli import main

    try:
        code: object = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("command", "call"), BAD_CALLS)
def test_every_command_refuses_bad_input_in_one_line_with_exit_2(
        command: str, call: str, inputs: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    # In-process: an exception that is not turned into the error line fails the test itself.
    code, err = _cli(call.format(**inputs).split(), capsys)
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith(f"argoscope {command}: "), err
    assert not list(Path(inputs["dir"]).parent.glob("*.partial"))  # nothing half-written


def test_a_taken_port_is_an_input_error_naming_the_option(
        inputs: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = _cli(["exporter", "--source", f"file:{inputs['good_json']}",
                          "--listen", f"127.0.0.1:{port}"], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"argoscope exporter: --listen 127.0.0.1:{port}")


@pytest.mark.parametrize("argv", [
    "check drift --reference a --current b --bogus 1",
    "check expect --suite s data --enigne ge",
    "report r --dumpp x",
    "list --state-dri x",
])
def test_a_misspelled_option_prints_the_usage_of_its_own_sub_command(
        argv: str, capsys: pytest.CaptureFixture[str]) -> None:
    words = argv.split()
    command = " ".join(words[:2] if words[0] == "check" else words[:1])
    code, err = _cli(words, capsys)
    assert code == 2
    assert err.startswith(f"usage: argoscope {command} "), err
    assert err.strip().splitlines()[-1].startswith(f"argoscope {command}: unrecognized")


def _commands() -> dict[str, list[str]]:
    """Every (sub-)command as its words, with its option strings."""
    found: dict[str, list[str]] = {}

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
                return
        found[" ".join(words)] = [o for a in parser._actions for o in a.option_strings
                                  if o.startswith("--") and o != "--help"]

    walk(build_parser(), [])
    return found


COMMANDS = _commands()


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_misspelled_option_of_any_command_shows_that_command_s_usage(
        data: st.DataObject) -> None:
    import contextlib
    import io

    command = data.draw(st.sampled_from(sorted(c for c in COMMANDS if COMMANDS[c])))
    option = data.draw(st.sampled_from(COMMANDS[command]))
    # A letter swapped in the middle: never a prefix argparse would accept as an abbreviation.
    at = data.draw(st.integers(2, len(option) - 1))
    wrong = option[:at] + "Q" + option[at:]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exited:
        from argoscope.cli import main

        main([*command.split(), wrong, "x"])
    assert exited.value.code == 2
    text = err.getvalue()
    assert text.startswith(f"usage: argoscope {command}"), text
    assert text.strip().splitlines()[-1].startswith(f"argoscope {command}: "), text
