"""The six steps' code, run in-process on a temporary data directory."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from argoscope.checks import CheckFailed
from argoscope.pipeline import (
    deployment,
    features,
    ingestion,
    preprocessing,
    storage,
    training,
    validation,
)
from argoscope.pipeline.cli import main as cli_main
from argoscope.pipeline.faults import Faults, InjectedCrash, flip_labels
from argoscope.pipeline.registry import Registry, RegistryError


def results(path: Path) -> dict[str, dict[str, Any]]:
    """The checks document at `path`, by check name."""
    document = json.loads(path.read_text())
    assert document["schema"] == "argoscope.checks/v1"
    return {result["check"]: result for result in document["results"]}


def run_until_validation(data_dir: Path, faults: Faults | None = None) -> dict[str, Any]:
    checks = data_dir / "checks"
    ingestion.run(data_dir, checks / "ingestion.json", faults=faults)
    preprocessing.run(data_dir, checks / "preprocessing.json")
    features.run(data_dir, checks / "features.json")
    training.run(data_dir, checks / "training.json")
    return validation.run(data_dir, checks / "validation" / "checks.json")


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("healthy")
    return data_dir, run_until_validation(data_dir)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("drifted")
    return data_dir, run_until_validation(data_dir, Faults(shift_features=("mean *",),
                                                           shift_scale=3.0))


def test_healthy_model_is_accurate_and_its_checks_pass(
        healthy: tuple[Path, dict[str, Any]]) -> None:
    data_dir, summary = healthy
    assert summary["metrics"]["accuracy"] > 0.85
    assert summary["passed"] is True
    for name in ("ingestion.json", "preprocessing.json", "features.json", "training.json"):
        statuses = {r["status"] for r in results(data_dir / "checks" / name).values()}
        assert statuses == {"passed"}, name
    checks = results(data_dir / "checks" / "validation" / "checks.json")
    assert checks["input_drift"]["status"] == "passed"
    assert checks["accuracy"] == {**checks["accuracy"], "status": "passed", "op": ">",
                                  "threshold": 0.85}
    # The gate file the template's `accuracy` output parameter reads, beside the document.
    gate = float((data_dir / "checks" / "validation" / "accuracy").read_text())
    assert gate == pytest.approx(summary["metrics"]["accuracy"])


def test_features_are_fitted_on_the_reference_only(healthy: tuple[Path, dict[str, Any]]) -> None:
    data_dir, _ = healthy
    transform = storage.read_json(data_dir / "features" / "transform.json")
    reference = storage.read_frame(storage.frame_path(data_dir, storage.FEATURES, "reference"))
    current = storage.read_frame(storage.frame_path(data_dir, storage.FEATURES, "current"))
    names = transform["features"]
    assert reference[names].mean().abs().max() < 1e-9
    assert current[names].mean().abs().max() > 1e-6  # not re-centred on itself
    assert set(transform["log1p"]) < set(names)


def test_covariate_shift_fails_drift_and_gate_without_failing_the_step(
        drifted: tuple[Path, dict[str, Any]]) -> None:
    data_dir, summary = drifted  # validation returned: the step exits 0, `when:` decides
    checks = results(data_dir / "checks" / "validation" / "checks.json")
    assert checks["input_drift"]["status"] == "failed"
    drifted_features = {f["feature"] for f in checks["input_drift"]["features"] if f["drifted"]}
    shifted = {f for f in storage.read_json(data_dir / "raw" / "manifest.json")["features"]
               if f.startswith("mean ")}
    assert len(shifted) == 10
    assert shifted <= drifted_features  # every shifted feature is caught ...
    assert len(drifted_features - shifted) <= 2  # ... and few others
    assert set(summary["drifted_features"]) == drifted_features
    assert checks["accuracy"]["status"] == "failed"
    assert summary["metrics"]["accuracy"] < 0.85
    assert summary["passed"] is False


def test_deployment_refuses_a_model_under_the_gate(drifted: tuple[Path, dict[str, Any]],
                                                   tmp_path: Path) -> None:
    data_dir, _ = drifted
    with pytest.raises(CheckFailed):
        deployment.run(data_dir, tmp_path / "registry", tmp_path / "checks.json")
    assert Registry(tmp_path / "registry").versions() == []
    assert results(tmp_path / "checks.json")["deployed_accuracy"]["status"] == "failed"


def test_deployment_versions_with_metadata_and_rolls_back(
        healthy: tuple[Path, dict[str, Any]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir, summary = healthy
    registry_dir = tmp_path / "registry"
    monkeypatch.setenv(deployment.REVISION_ENV, "abc123")
    first = deployment.run(data_dir, registry_dir, tmp_path / "c1.json")
    second = deployment.run(data_dir, registry_dir, tmp_path / "c2.json")
    assert (first["deployed"], second["deployed"], second["current"]) == ("v0001", "v0002",
                                                                          "v0002")
    registry = Registry(registry_dir)
    metadata = registry.metadata("v0002")
    manifest = storage.read_json(data_dir / "raw" / "manifest.json")
    assert metadata["data_hash"] == manifest["data_hash"]
    assert metadata["data_hash"] == storage.file_hash(
        data_dir / "raw" / "reference.parquet", data_dir / "raw" / "current.parquet")
    assert metadata["parameters"]["C"] == 1.0
    assert metadata["metrics"]["accuracy"] == summary["metrics"]["accuracy"]
    assert metadata["code_version"]["revision"] == "abc123"
    assert (registry_dir / "versions" / "v0002" / "model.pkl").is_file()

    assert cli_main(["rollback", "--registry-dir", str(registry_dir)]) == 0
    assert registry.current == "v0001"
    with pytest.raises(RegistryError, match="no previous version"):
        registry.rollback()
    assert registry.versions() == ["v0001", "v0002"]  # rollback keeps the files


def test_nulls_beyond_tolerance_fail_preprocessing(tmp_path: Path) -> None:
    ingestion.run(tmp_path, tmp_path / "c.json",
                  faults=Faults(null_features=("worst *",), null_fraction=0.3))
    with pytest.raises(CheckFailed):
        preprocessing.run(tmp_path, tmp_path / "p.json")
    checks = results(tmp_path / "p.json")
    failed = {name for name, r in checks.items() if r["status"] == "failed"}
    assert failed == {f"current_not_null:worst {n}" for n in (
        "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
        "concave points", "symmetry", "fractal dimension")}
    assert not (tmp_path / "clean").exists()


def test_nulls_within_tolerance_are_imputed(tmp_path: Path) -> None:
    ingestion.run(tmp_path, tmp_path / "c.json",
                  faults=Faults(null_features=("mean radius",), null_fraction=0.02))
    imputed = preprocessing.run(tmp_path, tmp_path / "p.json")
    clean = storage.read_frame(storage.frame_path(tmp_path, storage.CLEAN, "current"))
    raw = storage.read_frame(storage.frame_path(tmp_path, storage.RAW, "current"))
    assert imputed["current"] == int(raw["mean radius"].isna().sum()) > 0
    assert not clean.isna().any().any()


def test_crash_is_transient_or_permanent(tmp_path: Path) -> None:
    with pytest.raises(InjectedCrash):
        ingestion.run(tmp_path, tmp_path / "c.json", faults=Faults(crash="transient"))
    ingestion.run(tmp_path, tmp_path / "c.json", faults=Faults(crash="transient"), attempt=1)
    assert (tmp_path / "raw" / "manifest.json").is_file()
    for attempt in (0, 1, 5):
        with pytest.raises(InjectedCrash):
            ingestion.run(tmp_path, tmp_path / "c.json", faults=Faults(crash="permanent"),
                          attempt=attempt)


def test_cli_crash_reads_the_retry_from_argo(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    args = ["data-ingestion", "--data-dir", str(tmp_path), "--checks-path",
            str(tmp_path / "c.json"), "--crash", "transient"]
    monkeypatch.setenv("ARGOSCOPE_RETRY", "0")
    assert cli_main(args) == 1
    assert "injected transient crash" in capsys.readouterr().err
    monkeypatch.setenv("ARGOSCOPE_RETRY", "1")
    assert cli_main(args) == 0
    assert json.loads(capsys.readouterr().out)["dataset"] == "breast_cancer"


def test_label_noise_flips_the_asked_share() -> None:
    import numpy as np

    labels = pd.Series([0, 1] * 2000)
    flipped = flip_labels(labels, 0.2, np.random.default_rng(1))
    share = float((flipped != labels).mean())
    assert math.isclose(share, 0.2, abs_tol=0.03)
    assert set(flipped.unique()) == {0, 1}


@pytest.mark.parametrize(("args", "message"), [
    (["preprocessing"], "raw/manifest.json: missing"),
    (["data-ingestion", "--shift-features", "no such*", "--shift-scale", "1"],
     "shift-features: 'no such*' matches no feature"),
    (["data-ingestion", "--dataset", "iris"], "dataset: must be one of"),
])
def test_cli_names_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             args: list[str], message: str) -> None:
    code = cli_main([*args[:1], "--data-dir", str(tmp_path), "--checks-path",
                     str(tmp_path / "c.json"), *args[1:]])
    assert code == 2
    assert message in capsys.readouterr().err


def test_wine_is_the_alternative_dataset(tmp_path: Path) -> None:
    manifest = ingestion.run(tmp_path, tmp_path / "c.json", dataset="wine")
    assert manifest["classes"] == [0, 1, 2]
    assert len(manifest["features"]) == 13
    summary = run_until_validation_from_preprocessing(tmp_path)
    assert summary["metrics"]["accuracy"] > 0.85


def run_until_validation_from_preprocessing(data_dir: Path) -> dict[str, Any]:
    preprocessing.run(data_dir, data_dir / "p.json")
    features.run(data_dir, data_dir / "f.json")
    training.run(data_dir, data_dir / "t.json")
    return validation.run(data_dir, data_dir / "v.json")
