"""Building the kustomizations with the real kustomize (`kubectl kustomize`), and lookups."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests"

# Every installable kustomization, by the name the install guide uses.
KUSTOMIZATIONS: dict[str, Path] = {
    "base": MANIFESTS / "base",
    "namespaced": MANIFESTS / "overlays" / "namespaced",
    "plain-prometheus": MANIFESTS / "overlays" / "plain-prometheus",
    "dcgm-discovery": MANIFESTS / "overlays" / "dcgm-discovery",
    "cost": MANIFESTS / "overlays" / "cost",
}

EXPORTER_IMAGE = "ghcr.io/argoscope/argoscope-exporter:0.1.0"
PIPELINE_IMAGE = "ghcr.io/argoscope/argoscope-pipeline:0.1.0"


def build(kubectl: str, directory: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize DIRECTORY` renders; fails with kustomize's message."""
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, f"kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]


def of_kind(objects: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The objects of one kind."""
    return [obj for obj in objects if obj.get("kind") == kind]


def one(objects: Iterable[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The single object of `kind` (and `name`); fails when there is none or several."""
    found = [obj for obj in of_kind(objects, kind)
             if name is None or obj["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def exporter_container(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The exporter container of the (single) exporter Deployment."""
    deployment = one(objects, "Deployment")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["exporter"]
    return dict(containers[0])


def yaml_files() -> list[Path]:
    """Every YAML file under manifests/ (the reference pipeline's included)."""
    return sorted([*MANIFESTS.rglob("*.yaml"), *MANIFESTS.rglob("*.yml")])
