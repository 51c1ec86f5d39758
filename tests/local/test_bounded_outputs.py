"""What a step writes is read bounded: output parameters capped as Argo caps them (the last
256 kB, said on the node), logs read as a tail by `get` and in fixed chunks by `logs`.

Through a run and the CLI for what a person sees; generated over the output reader for sizes
around the cap, characters cut by it and trailing newlines.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from argoscope.boundedio import read_at_most
from argoscope.cli import main as cli_main
from argoscope.local.runs import load_run
from argoscope.local.stepfiles import (
    OUTPUT_LIMIT,
    read_output,
    read_tail_text,
    stream_text,
)
from tests.support.local_runs import RunYaml, workflow_yaml

ARGO_SAYS = "is larger than the maximum allowed size of 256 kB, only the last 256 kB were saved"
BIG_BYTES = 3 * 1024 * 1024

# `big` writes 3 MiB ending in a multi-byte character and a marker, `small` a few bytes.
OUTPUTS = f"""
- name: main
  dag:
    tasks:
    - {{name: produce, template: produce}}
- name: produce
  outputs:
    parameters:
    - {{name: big, valueFrom: {{path: /tmp/out/big.txt}}}}
    - {{name: small, valueFrom: {{path: /tmp/out/small.txt}}}}
  script:
    image: python:3.11
    command: [python]
    source: |
      import os
      os.makedirs("/tmp/out", exist_ok=True)
      with open("/tmp/out/big.txt", "w", encoding="utf-8") as f:
          f.write("x" * {BIG_BYTES} + "\\u20ac" * 3 + "END\\n")
      with open("/tmp/out/small.txt", "w", encoding="utf-8") as f:
          f.write("0.93\\n")
"""


def expected_value(content: bytes, limit: int) -> tuple[str, bool]:
    """The rule, from the whole content: trailing newlines trimmed, then the last `limit`
    bytes from the first whole character."""
    whole = content.rstrip(b"\n")
    if len(whole) <= limit:
        return whole.decode("utf-8"), False
    tail = whole[-limit:]
    while tail and 0x80 <= tail[0] <= 0xBF:
        tail = tail[1:]
    return tail.decode("utf-8"), True


def test_an_oversized_output_is_capped_and_the_node_says_so(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(OUTPUTS))
    assert done.phase == "Succeeded"
    node = done.nodes["produce"]
    assert node["phase"] == "Succeeded"
    assert node["message"] == f"output parameter 'big' {ARGO_SAYS}"
    big = done.output("produce", "big")
    content = ("x" * BIG_BYTES + "\u20ac" * 3 + "END\n").encode()
    assert (big, True) == expected_value(content, OUTPUT_LIMIT)
    assert big.endswith("\u20ac\u20ac\u20acEND") and len(big.encode()) == OUTPUT_LIMIT
    assert done.output("produce", "small") == "0.93"  # under the cap: whole, and not named
    # The Workflow object holds the capped value, not the file.
    workflow_file = next((done.state_dir / "workflows").glob("*.json"))
    assert workflow_file.stat().st_size < 2 * OUTPUT_LIMIT


def test_get_shows_the_cap_on_a_step_with_retries_too(run_yaml: RunYaml,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    retried = OUTPUTS.replace("- name: produce\n", "- name: produce\n  retryStrategy: {limit: 1}\n")
    done = run_yaml(workflow_yaml(retried))
    assert done.nodes["produce"]["type"] == "Retry"
    capsys.readouterr()
    assert cli_main(["get", "@latest", "--state-dir", str(done.state_dir)]) == 0
    produce = next(line for line in capsys.readouterr().out.splitlines()
                   if line.lstrip().startswith("produce"))
    assert "Succeeded" in produce and f"output parameter 'big' {ARGO_SAYS}" in produce


def test_a_when_over_a_capped_output_says_so_in_a_line(run_yaml: RunYaml) -> None:
    # The capped value (256 kB) goes on through `when`: decided on it, and named in bounded
    # messages whether the clause is false or cannot be evaluated.
    tasks = """    - {name: produce, template: produce}
    - {name: same, template: produce, dependencies: [produce],
       when: "'{{tasks.produce.outputs.parameters.big}}' == no"}
    - {name: broken, template: produce, dependencies: [produce],
       when: "'{{tasks.produce.outputs.parameters.big}}' > 1"}
"""
    done = run_yaml(workflow_yaml(OUTPUTS.replace("    - {name: produce, template: produce}\n",
                                                  tasks)))
    assert done.phase == "Error"
    skipped, broken = done.nodes["same"], done.nodes["broken"]
    assert skipped["phase"] == "Skipped"
    assert skipped["message"].startswith("when ''xxx")
    assert skipped["message"].endswith(" characters)' evaluated false")
    assert broken["phase"] == "Error" and "cannot be used with the comparator" in broken["message"]
    assert max(len(skipped["message"]), len(broken["message"])) < 1500


@settings(max_examples=60, deadline=None)
@given(body=st.text(alphabet="ab\u00e9\u20ac\U0001d11e\n", min_size=0, max_size=90),
       newlines=st.integers(0, 3), limit=st.integers(1, 40))
@example(body="a" * 40, newlines=0, limit=40)          # exactly at the cap: kept whole
@example(body="a" * 41, newlines=0, limit=40)          # one over: cut
@example(body="\u20ac" * 14, newlines=1, limit=40)      # the cut lands inside a character
def test_output_sizes_around_the_cap(tmp_path_factory: pytest.TempPathFactory, body: str,
                                     newlines: int, limit: int) -> None:
    content = (body + "\n" * newlines).encode()
    path = tmp_path_factory.mktemp("out") / "value"
    path.write_bytes(content)
    saved = read_output(path, limit)
    value, cut = expected_value(content, limit)
    assert (saved.value, saved.cut) == (value, cut)
    assert len(saved.value.encode()) <= limit


def test_trailing_newlines_beyond_a_read_chunk_are_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "value"
    path.write_bytes(b"y" * (OUTPUT_LIMIT + 5) + b"\n" * 200_000)
    saved = read_output(path)
    assert saved.cut and saved.value == "y" * OUTPUT_LIMIT


@settings(max_examples=60, deadline=None)
@given(content=st.binary(max_size=60) | st.text(alphabet="a\u00e9\u20ac\U0001d11e\n",
                                                  max_size=30).map(str.encode),
       chunk=st.integers(1, 7), tail=st.integers(1, 20))
def test_logs_read_in_chunks_or_as_a_tail_decode_as_the_whole(
        tmp_path_factory: pytest.TempPathFactory, content: bytes, chunk: int, tail: int) -> None:
    path = tmp_path_factory.mktemp("log") / "stderr.log"
    path.write_bytes(content)
    # Chunks split characters anywhere: decoded, they read as the whole file does.
    assert "".join(stream_text(path, chunk)) == content.decode("utf-8", "replace")
    # A tail starts at a whole character and is the end of the file.
    end = read_tail_text(path, tail)
    assert len(end.encode("utf-8", "surrogatepass")) <= tail * 3
    assert content.decode("utf-8", "replace").endswith(end)


# A step that fails after writing a large stderr: its reason is the last line.
NOISY = """
- name: main
  dag:
    tasks:
    - {name: noisy, template: noisy}
- name: noisy
  script:
    image: python:3.11
    command: [python]
    source: |
      import sys
      line = "progress " + "=" * 90 + "\\n"
      sys.stderr.write(line * 60000)
      sys.stderr.write("tail \\u00e9\\u20ac\\n" * 3 + "fatal: the real reason\\n")
      sys.exit(3)
"""


def test_get_and_logs_read_a_large_log_bounded(tmp_path: Path) -> None:
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(NOISY))
    state = tmp_path / "state"
    ran = subprocess.run([sys.executable, "-m", "argoscope.cli", "run", str(manifest),
                          "--state-dir", str(state)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert ran.returncode == 1, ran.stderr
    log = next(state.glob("runs/*/nodes/*/stderr.log"))
    size = log.stat().st_size
    assert size > 5 * 1024 * 1024

    def command(*args: str) -> tuple[str, int]:
        """Run one command in this process, its output to a file (not held in memory);
        what it printed and the most memory it held while it ran."""
        out = tmp_path / f"{args[0]}.out"
        with out.open("w", encoding="utf-8") as stream, contextlib.redirect_stdout(stream):
            tracemalloc.start()
            try:
                assert cli_main([*args, "--state-dir", str(state)]) == 0
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        return out.read_text(encoding="utf-8"), peak

    command("get", "@latest")  # imports its modules once, so what is measured is the reading
    shown, get_peak = command("get", "@latest")
    printed, logs_peak = command("logs", "@latest", "noisy")
    noisy = next(line for line in shown.splitlines() if line.lstrip().startswith("noisy"))
    assert "fatal: the real reason" in noisy
    # `logs` prints the whole log, every byte, under its header ...
    header, _, body = printed.partition("\n")
    assert header.startswith("== ") and "stderr" in header
    assert body == log.read_text(encoding="utf-8")
    # ... and neither command held the file: a fixed tail, fixed chunks.
    assert get_peak < size / 8 and logs_peak < size / 8, (get_peak, logs_peak, size)


FIFO = """
- name: main
  outputs:
    parameters:
    - {name: value, valueFrom: {path: /tmp/out/value}}
  script:
    image: python:3.11
    command: [python]
    source: |
      import os
      os.makedirs("/tmp/out", exist_ok=True)
      os.mkfifo("/tmp/out/value")
"""


@pytest.mark.timeout(60)  # opening a FIFO for reading waits for a writer: fail, don't hang
def test_a_fifo_left_as_an_output_is_an_error_not_a_hang(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(FIFO))
    assert done.phase == "Error"
    assert done.nodes[""]["message"] == (
        "failed to save outputs: output parameter 'value': not a regular file: /tmp/out/value")


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("written", "limit"), [(200_000, 1000), (5000, 100_000)])
def test_a_pipe_a_person_names_is_read_up_to_the_limit(tmp_path: Path, written: int,
                                                       limit: int) -> None:
    fifo = tmp_path / "dump"
    os.mkfifo(fifo)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), fifo.open("wb") as pipe:
            pipe.write(b"d" * written)

    writer = threading.Thread(target=write)
    writer.start()
    data = read_at_most(fifo, limit, regular_only=False)
    writer.join()
    assert data == b"d" * min(written, limit + 1)
    with pytest.raises(OSError, match="not a regular file"):
        read_at_most(fifo, limit)  # a state-directory file: never waited on


CHECKS_TOO_LARGE = """
- name: main
  outputs:
    parameters:
    - {name: argoscope-checks, valueFrom: {path: /tmp/argoscope/checks.json}}
  script:
    image: python:3.11
    command: [python]
    source: |
      import json, os
      os.makedirs("/tmp/argoscope", exist_ok=True)
      result = {"check": "rows", "kind": "expectation", "status": "failed",
                "message": "m" * 300000}
      with open("/tmp/argoscope/checks.json", "w") as f:
          json.dump({"schema": "argoscope.checks/v1", "results": [result]}, f)
"""


def test_a_check_document_over_the_cap_is_cut_and_not_shown(run_yaml: RunYaml) -> None:
    done = run_yaml(workflow_yaml(CHECKS_TOO_LARGE))
    assert done.nodes[""]["message"] == f"output parameter 'argoscope-checks' {ARGO_SAYS}"
    run = load_run(next((done.state_dir / "workflows").glob("*.json")), done.state_dir)
    assert run.root.checks == []  # a cut document is not a document: no check is made up
