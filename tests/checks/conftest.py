"""Shared fixtures: GE and Evidently are slow to import, so each is imported once per session."""

from __future__ import annotations

import warnings
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def ge_engine() -> ModuleType:
    """The GE engine module, with great_expectations imported once."""
    import great_expectations  # noqa: F401  (the slow import, paid once)

    from argoscope.checks import expect_ge

    return expect_ge


@pytest.fixture(scope="session")
def evidently_engine() -> ModuleType:
    """The Evidently engine module, with evidently imported once."""
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    import evidently  # noqa: F401  (the slow import, paid once)

    from argoscope.checks import drift_evidently

    return drift_evidently
