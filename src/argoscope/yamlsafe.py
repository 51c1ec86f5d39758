"""YAML read safely, for every layer: safe tags only, and aliases bounded (no alias bombs).

A document is composed into nodes first (aliases are shared nodes there, so composing is cheap
even for an alias bomb), then measured as if its aliases were expanded: more than ten times
its own nodes (plus some slack) is refused before anything is built from it. The exporter's
file source, the local runner's manifests and the run report's dumps all read YAML here.

`survey_stream` and `stream_objects` read a stream one document, and a `kind: List`
document one item, at a time (the exporter's big dumps), with the same bound over the whole
document.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
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
    return _expanded_size_shared(node, sizes, {})


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


# --- streaming: one object at a time ---------------------------------------------------------
#
# A `kind: List` dump is one YAML document: composing it into nodes holds the whole file at
# once. The reader below composes from libyaml's events itself, iteratively (no Python
# recursion per level, so nesting is bounded as `load_all` bounds it), and hands out a List's
# `items` one at a time. Aliases stay bounded over the whole document: each piece (an item, or
# a key or value of the List's own mapping) adds its expanded and distinct node counts to the
# document's totals, and anchored nodes, which later pieces may alias, keep their measured size.

_STR = "tag:yaml.org,2002:str"
_MAPPING = "tag:yaml.org,2002:map"
_SEQUENCE = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


def _expanded_size_shared(node: yaml.Node, sizes: dict[int, int],
                          shared: dict[int, tuple[yaml.Node, int]]) -> int:
    """`_expanded_size`, also knowing the sizes of anchored nodes from earlier pieces."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    earlier = shared.get(id(node))
    if earlier is not None:
        return earlier[1]
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size_shared(child, sizes, shared) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size_shared(key, sizes, shared)
                    + _expanded_size_shared(value, sizes, shared) for key, value in node.value)
    sizes[id(node)] = size
    return size


class _Frame:
    """A collection being composed, with the key of a mapping waiting for its value."""

    __slots__ = ("key", "node")

    def __init__(self, node: yaml.SequenceNode | yaml.MappingNode) -> None:
        self.node = node
        self.key: yaml.Node | None = None


class _DocumentReader:
    """Composes and constructs the documents of one stream, piece by piece."""

    def __init__(self, stream: Any, where: str) -> None:
        self.where = where
        # Typed loosely: PyYAML's stubs leave `resolve` untyped and marks of two kinds.
        self.loader: Any = yaml.CSafeLoader(stream) if _LIBYAML else yaml.SafeLoader(stream)
        self.anchors: dict[str, yaml.Node] = {}
        self.new_anchored: list[yaml.Node] = []
        self.shared: dict[int, tuple[yaml.Node, int]] = {}
        self.expanded = 0
        self.distinct = 0

    # composing ---------------------------------------------------------------------------

    def _anchor(self, anchor: str | None, node: yaml.Node, event: Any) -> None:
        if anchor is None:
            return
        if anchor in self.anchors:
            raise yaml.composer.ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                self.anchors[anchor].start_mark, "second occurrence", event.start_mark)
        self.anchors[anchor] = node
        self.new_anchored.append(node)

    def compose(self) -> yaml.Node:
        """The node starting at the next event, composed without recursion."""
        loader = self.loader
        stack: list[_Frame] = []
        while True:
            event: Any = loader.get_event()
            # Dispatch on the class itself: narrowing `event` would bring back PyYAML's stub
            # types, which do not know libyaml's marks.
            cls = type(event)
            node: yaml.Node | None = None
            if cls is yaml.AliasEvent:
                if event.anchor not in self.anchors:
                    raise yaml.composer.ComposerError(
                        None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
                node = self.anchors[event.anchor]
            elif cls is yaml.ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
                node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                                       style=event.style)
                self._anchor(event.anchor, node, event)
            elif cls is yaml.SequenceStartEvent or cls is yaml.MappingStartEvent:
                tag = event.tag
                is_sequence = cls is yaml.SequenceStartEvent
                kind = yaml.SequenceNode if is_sequence else yaml.MappingNode
                if tag is None or tag == "!":
                    tag = loader.resolve(kind, None, event.implicit)
                collection = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
                self._anchor(event.anchor, collection, event)
                stack.append(_Frame(collection))
                continue
            else:  # the end of the innermost collection
                frame = stack.pop()
                frame.node.end_mark = event.end_mark
                node = frame.node
            if not stack:
                return node
            top = stack[-1]
            if isinstance(top.node, yaml.SequenceNode):
                top.node.value.append(node)
            elif top.key is None:
                top.key = node
            else:
                top.node.value.append((top.key, node))
                top.key = None

    def measured(self, node: yaml.Node) -> yaml.Node:
        """`node`, once its aliases expanded keep the document within the bound."""
        sizes: dict[int, int] = {}
        self.expanded += _expanded_size_shared(node, sizes, self.shared)
        self.distinct += len(sizes)
        for anchored in self.new_anchored:
            size = sizes.get(id(anchored))
            if size is not None:  # held here, so its id is never reused by another node
                self.shared[id(anchored)] = (anchored, size)
        self.new_anchored.clear()
        if self.expanded > ALIAS_EXPANSION_FACTOR * self.distinct + ALIAS_EXPANSION_SLACK:
            raise YamlRefused(
                f"{self.where}: YAML aliases expand to {self.expanded:,} nodes from "
                f"{self.distinct:,}; refused (an alias bomb?)")
        return node

    def construct(self, node: yaml.Node) -> Any:
        return self.loader.construct_document(node)

    # documents ---------------------------------------------------------------------------

    def _start_document(self) -> None:
        self.loader.get_event()  # DocumentStartEvent
        self.anchors = {}
        self.new_anchored = []
        self.shared = {}
        self.expanded = self.distinct = 0

    def documents(self, lists: Sequence[bool] | None, found: list[bool]) -> Iterator[Any]:
        """Every document, or each item of a List document, in stream order.

        `lists[i]` says whether document i is a List to stream; None surveys: every candidate
        (a mapping with an `items` sequence) is read item by item and what it turned out to
        be is appended to `found`.
        """
        loader = self.loader
        loader.get_event()  # StreamStartEvent
        index = 0
        while not loader.check_event(yaml.StreamEndEvent):
            self._start_document()
            # A document the survey did not see (the file grew since) is read whole.
            stream_items = (lists is None) or (index < len(lists) and lists[index])
            emit = lists is not None
            if stream_items and self._plain_mapping_next():
                is_list = yield from self._mapping_pieces(emit)
            elif stream_items and self._plain_sequence_next():
                yield from self._sequence_items(emit)
                is_list = True
            else:
                document = self.construct(self.measured(self.compose()))
                is_list = False
                yield document
            found.append(is_list)
            loader.get_event()  # DocumentEndEvent
            index += 1
        loader.get_event()

    def _plain_mapping_next(self) -> bool:
        """Whether the next node is a mapping with no anchor or tag of its own."""
        event = self.loader.peek_event()
        return (isinstance(event, yaml.MappingStartEvent) and event.anchor is None
                and event.tag in (None, "!", _MAPPING))

    def _plain_sequence_next(self) -> bool:
        """Whether the next node is a sequence with no anchor (no alias can name it) or tag
        of its own (`!!omap` and `!!pairs` are sequences that construct otherwise)."""
        event = self.loader.peek_event()
        return (isinstance(event, yaml.SequenceStartEvent) and event.anchor is None
                and event.tag in (None, "!", _SEQUENCE))

    def _sequence_items(self, emit: bool) -> Iterator[Any]:
        """The items of the sequence starting at the next event, one at a time (yielded only
        when `emit`: a survey reads them through)."""
        loader = self.loader
        loader.get_event()  # SequenceStartEvent
        self.distinct += 1
        self.expanded += 1
        while not loader.check_event(yaml.SequenceEndEvent):
            item = self.construct(self.measured(self.compose()))
            if emit:
                yield item
        loader.get_event()

    def _mapping_pieces(self, emit: bool) -> Generator[Any, None, bool]:
        """A top-level mapping read key by key, its `items` sequence item by item; whether
        it is a List (`items` once, unaliased; `kind` absent or ending in `List`; no merge)."""
        loader = self.loader
        loader.get_event()  # MappingStartEvent
        self.distinct += 1
        self.expanded += 1
        items_seen = 0
        whole = False
        kind: Any = None
        has_kind = False
        while not loader.check_event(yaml.MappingEndEvent):
            key = self.measured(self.compose())
            is_items = (isinstance(key, yaml.ScalarNode) and key.tag == _STR
                        and key.value == "items")
            whole = whole or key.tag == _MERGE
            if is_items and self._plain_sequence_next():
                items_seen += 1
                yield from self._sequence_items(emit)
                continue
            # Constructed too, so that a bad one is refused as reading it whole would (a
            # merge key means nothing on its own: the document is read whole then).
            if key.tag != _MERGE:
                self.construct(key)
            value = self.construct(self.measured(self.compose()))
            if isinstance(key, yaml.ScalarNode) and key.tag == _STR and key.value == "kind":
                has_kind, kind = True, value
            whole = whole or is_items
        loader.get_event()
        return (items_seen == 1 and not whole
                and (not has_kind or (isinstance(kind, str) and kind.endswith("List"))))


def _refusing(where: str, pieces: Iterator[Any], dispose: Callable[[], None]) -> Iterator[Any]:
    """`pieces`, with what PyYAML raises turned into YamlRefused naming `where`."""
    try:
        yield from pieces
    except yaml.YAMLError as error:
        raise YamlRefused(f"{where}: invalid YAML: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise YamlRefused(f"{where}: invalid YAML: nested too deeply") from None
    finally:
        dispose()


def survey_stream(stream: Any, where: str) -> list[bool]:
    """Read every document of a YAML stream through once, one List item at a time, as
    `stream_objects` will; which documents are Lists (a `kind` may come after the `items`).
    YamlRefused, naming `where` and the position, for invalid YAML or an alias bomb."""
    reader = _DocumentReader(stream, where)
    found: list[bool] = []
    for _ in _refusing(where, reader.documents(None, found), reader.loader.dispose):
        pass
    return found


def stream_objects(stream: Any, where: str, lists: Sequence[bool]) -> Iterator[Any]:
    """Every document of a YAML stream, in order, but a List's items (`lists[i]`, from
    `survey_stream`) one at a time. The same refusals as `survey_stream`."""
    reader = _DocumentReader(stream, where)
    found: list[bool] = []
    yield from _refusing(where, reader.documents(lists, found), reader.loader.dispose)
