"""Fixtures shared by every test module.

Layout: the tests mirror the package. A module testing `argoscope.<pkg>` (or the top-level
`argoscope/<pkg>.py`) lives in `tests/<pkg>/`, wherever the code it drives is called from:
the exporter's DCGM scrape, its Kubernetes and local sources and its check-document reader are
tested in `tests/exporter/`, the demo in `tests/demo/`. `tests/alerts/` tests the repository's
`alerts/` folder (YAML, no Python module). Only tests of the package as a whole sit here at the
root (the CLI's errors, the generated files, the import graph, the README, the layout itself).
Helpers shared across folders live in `tests/support/`, data files in `tests/data/`, and
cross-component end-to-end runs in `tests/e2e/`. `tests/test_layout.py` enforces this.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.untimed import UNTIMED

settings.register_profile("untimed", **UNTIMED)  # no deadline, no too-slow check: see there
# CI runs each property test on the same examples every time (a failure there is then
# reproducible, never a coin toss); locally they explore new examples on every run.
settings.register_profile("ci", derandomize=True, database=None, **UNTIMED)
settings.load_profile("ci" if os.environ.get("CI") else "untimed")

# `run_yaml` (run a manifest given as YAML text) serves tests/local and tests/exporter.
pytest_plugins = ["tests.support.local_runs"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared`, the real upstream data; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (optional upstream fixtures)")
    return SHARED


@pytest.fixture(scope="session")
def argo_fixtures(shared_dir: Path) -> Path:
    """`../shared/fixtures/argo`: real Argo Workflow objects with status."""
    path = shared_dir / "fixtures" / "argo"
    if not path.is_dir():
        pytest.skip("../shared/fixtures/argo is absent")
    return path


@pytest.fixture(scope="session")
def dcgm_fixtures(shared_dir: Path) -> Path:
    """`../shared/fixtures/dcgm`: real dcgm-exporter captures."""
    path = shared_dir / "fixtures" / "dcgm"
    if not path.is_dir():
        pytest.skip("../shared/fixtures/dcgm is absent")
    return path
