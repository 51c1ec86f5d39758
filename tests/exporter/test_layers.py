"""The exporter's model layers import downward only (see docs/architecture.md#exporter)."""

from __future__ import annotations

from tests.support.imports import PACKAGE_ROOT, import_graph, upward_imports

# Bottom to top: a module may import modules of its own layer or below, never above.
MODEL_LAYERS: list[set[str]] = [
    {"families", "objects", "nodenames", "reasons", "series", "thresholds", "records"},
    {"render", "stats"},
    {"counting", "gauges"},
    {"store"},
    {"run_gauges", "step_gauges"},
    {"model"},
    {"checkdocs", "gpu", "cost"},
    {"opencost"},
    {"app"},
]


def test_the_model_layers_import_only_downward() -> None:
    assert upward_imports(import_graph(PACKAGE_ROOT), "argoscope.exporter", MODEL_LAYERS) == []
