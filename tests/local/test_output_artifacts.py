"""Output artifacts from a file: the local runner keeps them beside the step's logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from argoscope.local.manifest import ManifestError
from tests.support.local_runs import RunYaml, workflow_yaml

TEMPLATES = """
- name: main
  container:
    image: python:3.11
    command: [python, -c]
    args: ["import os; open(os.environ['PAGE'], 'w').write('<p>report</p>')"]
    env:
      - {name: PAGE, value: /tmp/argoscope-artifact-test/report.html}
  outputs:
    artifacts:
      - {name: step-report, path: /tmp/argoscope-artifact-test/report.html, optional: true,
         archive: {none: {}}}
"""


def test_artifact_file_lands_beside_the_steps_logs(run_yaml: RunYaml) -> None:
    finished = run_yaml(workflow_yaml(TEMPLATES))
    assert finished.phase == "Succeeded"
    node = finished.nodes[""]
    node_dir = finished.state_dir / "runs" / finished.workflow["metadata"]["name"] / "nodes" \
        / node["id"]
    assert (node_dir / "stderr.log").is_file()
    assert (node_dir / "report.html").read_text() == "<p>report</p>"
    assert not Path("/tmp/argoscope-artifact-test/report.html").exists() or \
        Path("/tmp/argoscope-artifact-test/report.html").read_text() != "<p>report</p>"


def test_artifacts_need_a_name_and_a_path(run_yaml: RunYaml) -> None:
    broken = TEMPLATES.replace("path: /tmp/argoscope-artifact-test/report.html, ", "")
    with pytest.raises(ManifestError, match=r"outputs\.artifacts\[0\]: name and path"):
        run_yaml(workflow_yaml(broken))
