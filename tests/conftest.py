"""Fixtures shared by every test module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs each property test on the same examples every time (a failure there is then
# reproducible, never a coin toss); locally they explore new examples on every run.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

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
