"""YAML read safely, for every layer: safe tags only, and aliases bounded (no alias bombs).

A document is composed into nodes first (aliases are shared nodes there, so composing is cheap
even for an alias bomb), then measured as if its aliases were expanded: more than ten times
its own nodes (plus some slack) is refused before anything is built from it. The exporter's
file source, the local runner's manifests and the run report's dumps all read YAML here.
"""

from __future__ import annotations

from typing import Any

import yaml

# libyaml's loader is an order of magnitude faster than the pure-Python one on large dumps.
_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))
ALIAS_EXPANSION_FACTOR = 10
ALIAS_EXPANSION_SLACK = 10_000


class YamlRefused(ValueError):
    """The text is not YAML, or its aliases expand beyond the bound (an alias bomb)."""


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes in `node` once every alias is expanded (shared nodes counted each time)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(key, sizes) + _expanded_size(value, sizes)
                    for key, value in node.value)
    sizes[id(node)] = size
    return size


def load_all(content: str, where: str) -> list[Any]:
    """Every document of a YAML text; YamlRefused (naming `where`) for invalid YAML or an
    alias bomb."""
    loader = yaml.CSafeLoader(content) if _LIBYAML else yaml.SafeLoader(content)
    documents: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            sizes: dict[int, int] = {}
            expanded = _expanded_size(node, sizes)
            if expanded > ALIAS_EXPANSION_FACTOR * len(sizes) + ALIAS_EXPANSION_SLACK:
                raise YamlRefused(
                    f"{where}: YAML aliases expand to {expanded:,} nodes from {len(sizes):,}; "
                    "refused (an alias bomb?)")
            documents.append(loader.construct_document(node))
    except yaml.YAMLError as error:
        raise YamlRefused(f"{where}: invalid YAML: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise YamlRefused(f"{where}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()
    return documents


def load_one(content: str, where: str) -> Any:
    """The single document of a YAML text (None when empty); more than one is refused."""
    documents = load_all(content, where)
    if len(documents) > 1:
        raise YamlRefused(f"{where}: {len(documents)} YAML documents where one was expected")
    return documents[0] if documents else None
