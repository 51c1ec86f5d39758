"""Fixtures for the manifest tests: the kustomizations built once per session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.manifests.kustomize import KUSTOMIZATIONS, build
from tests.support.servers import require_binary


@pytest.fixture(scope="session")
def kubectl() -> str:
    """`kubectl`, whose embedded kustomize builds the manifests offline."""
    return require_binary("kubectl")


@pytest.fixture(scope="session")
def builds(kubectl: str) -> dict[str, list[dict[str, Any]]]:
    """Each kustomization's rendered objects, by name (base, namespaced, ...)."""
    return {name: build(kubectl, path) for name, path in KUSTOMIZATIONS.items()}
