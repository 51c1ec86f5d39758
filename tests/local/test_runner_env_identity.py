"""Steps run locally get the identity Argo's controller gives a step's containers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from argoscope.cli import main


def test_steps_see_argo_identity_env(tmp_path: Path) -> None:
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"generateName": "ident-"},
        "spec": {"entrypoint": "main", "templates": [
            {"name": "main", "dag": {"tasks": [{"name": "show", "template": "show"}]}},
            {"name": "show", "outputs": {"parameters": [
                {"name": "env", "valueFrom": {"path": "/tmp/env.json"}}]},
             "script": {"image": "python:3.11", "command": [sys.executable], "source": (
                 "import json, os\n"
                 "keys = ['ARGO_WORKFLOW_NAME', 'ARGO_NODE_ID', 'ARGO_TEMPLATE']\n"
                 "json.dump({k: os.environ.get(k) for k in keys}, open('/tmp/env.json', 'w'))\n")}},
        ]},
    }
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(manifest))
    state = tmp_path / "state"
    assert main(["run", str(path), "--state-dir", str(state)]) == 0
    (written,) = (state / "workflows").glob("*.json")
    wf = json.loads(written.read_text())
    (show,) = [n for n in wf["status"]["nodes"].values() if n.get("displayName") == "show"]
    env = json.loads(show["outputs"]["parameters"][0]["value"])
    assert env["ARGO_WORKFLOW_NAME"] == wf["metadata"]["name"]
    assert env["ARGO_NODE_ID"] == show["id"]
    assert json.loads(env["ARGO_TEMPLATE"])["name"] == "show"
