"""No property test is timed: Hypothesis' per-example deadline and its "too slow" health check
are timing assertions, which on a busier or slower machine fail what works (performance is
measured in bench/, never asserted here). tests/conftest.py loads these for every test; a test
that names its own `suppress_health_check` list adds UNTIMED_CHECKS to it, since a list given
there replaces the profile's."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck

UNTIMED_CHECKS = [HealthCheck.too_slow]
UNTIMED: dict[str, Any] = {"deadline": None, "suppress_health_check": UNTIMED_CHECKS}
