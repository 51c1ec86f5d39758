"""A local run's cost: `argoscope run --prices`, the run report and the exporter agree with the
formula computed here from the recorded windows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from argoscope.cli import main
from argoscope.cost.prices import load_prices
from argoscope.cost.runs import run_cost, state_pods
from argoscope.timefmt import parse_time
from tests.support.metrics import samples, total

PRICES = """\
currency: EUR
default: {cpu_core_hour: 36, memory_gib_hour: 7.2, gpu_hour: 100}
nodes:   # the local machine has no Node labels: rules never apply to it
  - match: {kubernetes.io/hostname: anything}
    prices: {cpu_core_hour: 1000}
"""

MANIFEST = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: priced-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: prepare, template: small}
      - {name: train, template: big, depends: prepare}
      - {name: skipped, template: small, when: "1 == 2"}
  - name: small
    container:
      image: alpine
      command: [sh, -c, "sleep 1.1"]
      resources: {requests: {cpu: 500m, memory: 512Mi}}
  - name: big
    container:
      image: alpine
      command: [sh, -c, "sleep 1.1"]
      resources: {limits: {cpu: "2", memory: 2Gi}}
"""
# Effective requests per template: (cores, GiB). Argo times have whole seconds: each step
# sleeps over one, so its window is not 0.
REQUESTS = {"prepare": (0.5, 0.5), "train": (2.0, 2.0)}


def test_run_report_and_exporter_price_a_local_run_alike(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(PRICES)
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(MANIFEST)
    state = tmp_path / "state"
    assert main(["run", str(manifest), "--state-dir", str(state), "--prices", str(prices)]) == 0
    printed = capsys.readouterr().out

    [path] = (state / "workflows").glob("*.json")
    workflow = json.loads(path.read_text())
    name = workflow["metadata"]["name"]
    want = 0.0
    for node in workflow["status"]["nodes"].values():
        if node.get("type") == "Pod" and node["phase"] == "Succeeded":
            cores, gib = REQUESTS[node["displayName"]]
            hours = (parse_time(node["finishedAt"]) - parse_time(node["startedAt"])) / 3600
            want += (cores * 36 + gib * 7.2) * hours
    assert want > 0

    cost = run_cost(workflow, state_pods(state, name), load_prices(prices))
    assert cost.total == pytest.approx(want, rel=1e-9)
    assert [step for step, _ in cost.by_step()] == ["prepare", "train"]
    assert not cost.unpriced
    total_line = next(line for line in printed.splitlines() if line.strip().startswith("total"))
    assert float(total_line.split()[1]) == pytest.approx(want, abs=1e-4)

    # The run report shows the same numbers.
    pytest.importorskip("jinja2")
    report = tmp_path / "report.html"
    assert main(["report", name, "--state-dir", str(state), "--prices", str(prices),
                 "-o", str(report)]) == 0
    page = report.read_text()
    capsys.readouterr()  # the report's path
    assert "<h2>Cost</h2>" in page and f"{want:.4f}" in page and "EUR" in page

    # And so does the exporter over the same state directory.
    assert main(["exporter", "--once", "--source", f"local:{state}", "--prices",
                 str(prices)]) == 0
    exposition = samples(capsys.readouterr().out)
    assert total(exposition, "argoscope_step_cost_total") == pytest.approx(want, rel=1e-9)
    assert total(exposition, "argoscope_workflow_cost_sum") == pytest.approx(want, rel=1e-9)


def test_a_bad_price_file_stops_the_run_before_it_starts(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(PRICES.replace("cpu_core_hour: 36", "cpu_core_hour: -1"))
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(MANIFEST)
    state = tmp_path / "state"
    assert main(["run", str(manifest), "--state-dir", str(state), "--prices", str(prices)]) == 2
    assert "cpu_core_hour" in capsys.readouterr().err
    assert not (state / "workflows").exists() or not list((state / "workflows").iterdir())
    pytest.importorskip("jinja2")
    state.mkdir(exist_ok=True)
    assert main(["report", "some-run", "--state-dir", str(state), "--prices", str(prices)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "--prices" in error and "cpu_core_hour" in error
