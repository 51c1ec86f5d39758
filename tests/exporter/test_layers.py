"""The exporter's model layers import downward only (see docs/architecture.md#exporter)."""

from __future__ import annotations

from tests.test_import_graph import PACKAGE_ROOT, import_graph

# Bottom to top: a module may import modules of its own layer or below, never above.
MODEL_LAYERS: list[set[str]] = [
    {"families", "objects", "reasons", "series", "thresholds", "records"},
    {"render", "stats"},
    {"counting", "gauges"},
    {"store"},
    {"run_gauges", "step_gauges"},
    {"model"},
    {"checkdocs", "gpu"},
    {"app"},
]


def test_the_model_layers_import_only_downward() -> None:
    graph = import_graph(PACKAGE_ROOT)
    layer_of = {f"argoscope.exporter.{name}": index
                for index, layer in enumerate(MODEL_LAYERS) for name in layer}
    assert set(layer_of) <= set(graph), "a layered module was renamed: update MODEL_LAYERS"
    upward = [f"{module} imports {target}"
              for module, index in layer_of.items() for target in sorted(graph[module])
              if layer_of.get(target, -1) > index]
    assert upward == []
