"""TrackedDict: a dict in every way, that tells each watcher the keys changed and gives each
key its position in iteration order (docs/design.md, "Invariants: cached exposition")."""

from __future__ import annotations

import gc
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.exporter.tracking import TrackedDict

keys = st.sampled_from(["a", "b", "c", "d", "e"])
operations = st.one_of(
    st.tuples(st.just("set"), keys, st.integers()),
    st.tuples(st.just("del"), keys),
    st.tuples(st.just("pop"), keys),
    st.tuples(st.just("setdefault"), keys, st.integers()),
    st.tuples(st.just("update"), st.dictionaries(keys, st.integers(), max_size=3)),
    st.tuples(st.just("popitem")),
    st.tuples(st.just("clear")),
)


def _run(target: dict[str, int], op: tuple[Any, ...]) -> set[str]:
    """Apply `op` to `target`; the keys it may change."""
    name = op[0]
    if name == "set":
        target[op[1]] = op[2]
        return {op[1]}
    if name == "del":
        if op[1] in target:
            del target[op[1]]
        return {op[1]}
    if name == "pop":
        target.pop(op[1], None)
        return {op[1]}
    if name == "setdefault":
        target.setdefault(op[1], op[2])
        return {op[1]}
    if name == "update":
        target.update(op[1])
        return set(op[1])
    if name == "popitem":
        if target:
            return {target.popitem()[0]}
        return set()
    gone = set(target)
    target.clear()
    return gone


@settings(max_examples=60, deadline=None)
@given(start=st.dictionaries(keys, st.integers(), max_size=3),
       ops=st.lists(operations, max_size=30))
def test_a_tracked_dict_is_a_dict_that_reports_every_change_and_position(
        start: dict[str, int], ops: list[tuple[Any, ...]]) -> None:
    plain = dict(start)
    tracked: TrackedDict[str, int] = TrackedDict(start)
    watcher = tracked.watch()
    assert watcher.take() == set(start)  # a new watcher hears of every key present
    for op in ops:
        before = dict(plain)
        touched = _run(plain, op)
        _run(tracked, op)
        assert list(tracked.items()) == list(plain.items())
        changed = {key for key in set(before) | set(plain)
                   if before.get(key) != plain.get(key)
                   or (key in before) != (key in plain)}
        heard = watcher.take()
        assert changed <= heard <= touched
        positions = [tracked.position(key) for key in tracked]
        assert positions == sorted(positions)  # iteration order is position order


def test_a_watcher_that_is_gone_is_told_nothing_more() -> None:
    tracked: TrackedDict[str, int] = TrackedDict()
    kept, dropped = tracked.watch(), tracked.watch()
    del dropped
    gc.collect()
    tracked["a"] = 1
    assert kept.take() == {"a"}
    assert len(tracked._watchers) == 1
