"""End to end: the real exporter follows the state directory while `argoscope run` writes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.local_runs import workflow_yaml
from tests.support.net import http_get, wait_until
from tests.support.servers import exporter

PIPELINE = """
- name: main
  dag:
    tasks:
    - {name: ingest, template: ok}
    - {name: train, template: boom, dependencies: [ingest]}
    - {name: deploy, template: ok, dependencies: [train]}
- name: ok
  container: {image: a, command: ["true"]}
- name: boom
  retryStrategy: {limit: 1}
  container: {image: a, command: [sh, -c, "exit 137"]}
"""


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    labels = {"namespace": "argo-local", "pipeline": "demo", **labels}
    return name, tuple(sorted(labels.items()))


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for family in text_string_to_metric_families(http_get(url + "/metrics")):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_exporter_follows_local_runs(tmp_path: Path) -> None:
    state = tmp_path / "state"
    manifest = tmp_path / "wf.yaml"
    manifest.write_text(workflow_yaml(PIPELINE, name="demo-"))
    with exporter(["--source", f"local:{state}"]) as served:
        done = subprocess.run([sys.executable, "-m", "argoscope.cli", "run", str(manifest),
                               "--state-dir", str(state)], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 1, done.stderr
        failed_run = key("argoscope_workflow_runs_total", phase="Failed")
        wait_until(lambda: scrape(served.url).get(failed_run) == 1.0, timeout=20,
                   what="the failed run on /metrics")
        values = scrape(served.url)
        assert values[key("argoscope_step_retries_total", step="train")] == 1.0
        assert values[key("argoscope_step_runs_total", step="train", template="boom",
                          phase="Failed")] == 2.0
        assert values[key("argoscope_step_runs_total", step="deploy", template="ok",
                          phase="Omitted")] == 1.0
        assert values[key("argoscope_step_failures_total", step="train", reason="Error")] == 2.0
