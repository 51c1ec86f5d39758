"""The PrometheusRule and dashboard ConfigMaps generated from alerts/ and dashboards/."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from argoscope import generate, manifests
from tests.manifests.kustomize import REPO, build
from tests.support.servers import require_binary

RULES_A = textwrap.dedent("""\
    groups:
      - name: argoscope-workflows
        rules:
          - alert: ArgoscopeWorkflowFailed
            expr: |
              increase(argoscope_workflow_runs_total{phase="Failed"}[10m]) > 0
            for: 1m
            labels:
              severity: warning
            annotations:
              summary: A workflow failed.
    """)
RULES_B = textwrap.dedent("""\
    groups:
      - name: argoscope-recording
        rules:
          - record: pipeline:argoscope_step_duration_seconds:p95_1d
            expr: histogram_quantile(0.95, sum by (le, pipeline) (rate(argoscope_step_duration_seconds_bucket[1d])))
    """)  # noqa: E501


def dashboard(title: str, panels: int = 1) -> str:
    return json.dumps({"title": title, "uid": title.lower(),
                       "panels": [{"id": i, "type": "timeseries"} for i in range(panels)]},
                      indent=2)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A repository-shaped tree with two rule files and two dashboards."""
    (tmp_path / "alerts" / "rules").mkdir(parents=True)
    (tmp_path / "alerts" / "rules" / "a.yaml").write_text(RULES_A)
    (tmp_path / "alerts" / "rules" / "b.yaml").write_text(RULES_B)
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "Pipelines_Overview.json").write_text(dashboard("Overview"))
    (tmp_path / "dashboards" / "gpu.json").write_text(dashboard("GPU", panels=3))
    return tmp_path


def load(text: str) -> dict[str, Any]:
    [document] = [d for d in yaml.safe_load_all(text) if d is not None]
    return dict(document)


def test_committed_manifests_match_the_generator() -> None:
    # What `argoscope generate` writes (the dashboards it wraps included), not a fresh read.
    files = {path: content for path, content in generate.outputs().items()
             if path.startswith("manifests/")}
    for relative, content in files.items():
        path = REPO / relative
        assert path.is_file(), f"{relative} missing: run `argoscope generate`"
        assert path.read_text() == content, f"{relative} is stale: run `argoscope generate`"
    for directory in (manifests.BASE_GENERATED, manifests.PLAIN_GENERATED):
        committed = {str(p.relative_to(REPO)) for p in (REPO / directory).iterdir()}
        assert committed == {f for f in files if f.startswith(directory + "/")}, (
            f"{directory} holds files the generator no longer writes")


def test_committed_dashboard_configmaps_hold_every_dashboard_unchanged() -> None:
    dashboards = sorted((REPO / manifests.DASHBOARDS_DIR).glob("*.json"))
    held = {}
    for path in sorted((REPO / manifests.BASE_GENERATED).glob("dashboard-*.yaml")):
        configmap = load(path.read_text())
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        held.update(configmap["data"])
    assert sorted(held) == [path.name for path in dashboards]
    for path in dashboards:
        assert json.loads(held[path.name]) == json.loads(path.read_text())


def test_argoscope_generate_writes_the_manifests() -> None:
    assert set(manifests.render()) <= set(generate.outputs())


def test_prometheus_rule_holds_every_group_in_file_order(tree: Path) -> None:
    files = manifests.render(tree)
    rule = load(files["manifests/base/generated/prometheusrule.yaml"])
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == (yaml.safe_load(RULES_A)["groups"]
                                      + yaml.safe_load(RULES_B)["groups"])
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_plain_prometheus_configmap_holds_the_rule_files_verbatim(tree: Path) -> None:
    files = manifests.render(tree)
    configmap = load(files["manifests/overlays/plain-prometheus/generated/rules-configmap.yaml"])
    assert configmap["data"] == {"a.yaml": RULES_A, "b.yaml": RULES_B}
    assert configmap["metadata"]["namespace"] == "monitoring"


def test_dashboards_become_sidecar_configmaps_with_the_json_unchanged(tree: Path) -> None:
    files = manifests.render(tree)
    overview = load(files["manifests/base/generated/dashboard-pipelines-overview.yaml"])
    assert overview["metadata"]["name"] == "argoscope-dashboard-pipelines-overview"
    assert overview["metadata"]["labels"]["grafana_dashboard"] == "1"
    [(key, text)] = overview["data"].items()
    assert key == "Pipelines_Overview.json"
    assert json.loads(text) == json.loads(dashboard("Overview"))
    kustomization = load(files["manifests/base/generated/kustomization.yaml"])
    assert kustomization["resources"] == [
        "prometheusrule.yaml", "dashboard-pipelines-overview.yaml", "dashboard-gpu.yaml"]


def test_generated_tree_builds_with_kustomize(tree: Path) -> None:
    kubectl = require_binary("kubectl")
    for relative, content in manifests.render(tree).items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_text(content)
    objects = build(kubectl, tree / manifests.BASE_GENERATED)
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("ConfigMap", "argoscope-dashboard-gpu"),
        ("ConfigMap", "argoscope-dashboard-pipelines-overview"),
        ("PrometheusRule", "argoscope-rules"),
    ]


def test_generated_prometheus_rule_passes_promtool(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    rule = manifests.prometheus_rule()
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(rule["spec"]))
    result = subprocess.run([promtool, "check", "rules", str(rule_file)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_inputs_give_an_empty_rule_and_no_dashboards(tmp_path: Path) -> None:
    files = manifests.render(tmp_path)
    assert load(files["manifests/base/generated/prometheusrule.yaml"])["spec"] == {"groups": []}
    assert not [f for f in files if "/dashboard-" in f]


def test_duplicate_group_names_across_files_are_refused(tree: Path) -> None:
    (tree / "alerts" / "rules" / "c.yaml").write_text(RULES_A)
    with pytest.raises(manifests.ManifestError,
                       match=r"c\.yaml: group 'argoscope-workflows' already defined in .*a\.yaml"):
        manifests.render(tree)


@pytest.mark.parametrize(("content", "message"), [
    ("groups: [unclosed", "not valid YAML"),
    ("rules: []\n", "a Prometheus rule file needs a top-level `groups` list"),
    ("groups:\n  - rules: []\n", r"groups\[0\] needs a `name`"),
])
def test_bad_rule_files_are_named_in_the_error(tree: Path, content: str, message: str) -> None:
    (tree / "alerts" / "rules" / "broken.yaml").write_text(content)
    with pytest.raises(manifests.ManifestError, match=rf"alerts/rules/broken\.yaml: {message}"):
        manifests.render(tree)


def test_bad_dashboard_json_is_named_in_the_error(tree: Path) -> None:
    (tree / "dashboards" / "broken.json").write_text("{")
    with pytest.raises(manifests.ManifestError, match=r"dashboards/broken\.json: not valid JSON"):
        manifests.render(tree)


def test_oversized_dashboard_is_refused_with_the_limit(tree: Path) -> None:
    (tree / "dashboards" / "huge.json").write_text(dashboard("Huge", panels=10_000))
    with pytest.raises(manifests.ManifestError, match=r"huge\.json.*over the 262144-byte limit"):
        manifests.render(tree)


def test_dashboard_names_collapse_to_dns_names_and_collisions_are_refused(tree: Path) -> None:
    assert manifests.dashboard_configmap_name("GPU Efficiency__v2") == (
        "argoscope-dashboard-gpu-efficiency-v2")
    (tree / "dashboards" / "GPU.json").write_text(dashboard("GPU"))
    with pytest.raises(manifests.ManifestError, match="both map to ConfigMap argoscope-dashboard-gpu"):
        manifests.render(tree)


def test_generate_check_reports_a_stale_manifest(tree: Path, tmp_path: Path) -> None:
    # `argoscope generate --check` exits 1 naming the stale file and leaves it as it was.
    root = tmp_path / "checkout"
    for relative, content in generate.outputs().items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
    stale = root / "manifests/base/generated/prometheusrule.yaml"
    stale.write_text("# edited by hand\n")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "argoscope"), "generate", "--root", str(root),
         "--check"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "manifests/base/generated/prometheusrule.yaml" in result.stderr
    assert stale.read_text() == "# edited by hand\n"
