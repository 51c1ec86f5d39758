"""A dict that tells watchers which keys changed, and where each key sits in its order.

The model keeps its runs, active pods and deleted runs in these (`Model` puts them in place
of the store's plain dicts), so the gauge collectors update their totals from the keys that
changed since their last scrape instead of passing over every run and pod
(docs/design.md, "Invariants: cached exposition"). A key's `position` is the order in which
iteration yields it: given when the key is first set, kept while it stays, new after it is
removed and set again (a dict's own order).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Changes(Generic[K]):
    """The keys of one watcher changed since it last took them."""

    __slots__ = ("__weakref__", "keys")

    def __init__(self, keys: Iterable[K] = ()) -> None:
        self.keys: set[K] = set(keys)

    def take(self) -> set[K]:
        """The keys changed since the last `take` (set, replaced or removed)."""
        keys = set(self.keys)
        self.keys.clear()  # the same set: the dict adds to it directly
        return keys


class TrackedDict(dict[K, V]):
    """A dict recording, for each watcher, the keys set or removed (every mutating method
    goes through `__setitem__`, `__delitem__` or `pop`), and each key's position."""

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        super().__init__()
        self._positions: dict[K, int] = {}
        self._next = 0
        # The key sets of the live watchers, by id (a watcher that is gone takes its set out:
        # adding to a few plain sets keeps a change cheap on the ingest path).
        self._watchers: dict[int, set[K]] = {}
        for key, value in (items or {}).items():
            self[key] = value

    def watch(self) -> Changes[K]:
        """A new watcher, told of every key present now (as if each had just been set)."""
        changes: Changes[K] = Changes(self)
        self._watchers[id(changes.keys)] = changes.keys
        weakref.finalize(changes, self._watchers.pop, id(changes.keys), None)
        return changes

    def position(self, key: K) -> int:
        """Where `key` sits in iteration order (comparable between keys present now)."""
        return self._positions[key]

    def _changed(self, key: K) -> None:
        for keys in self._watchers.values():
            keys.add(key)

    def __setitem__(self, key: K, value: V) -> None:
        if key not in self._positions:
            self._positions[key] = self._next
            self._next += 1
        super().__setitem__(key, value)
        if self._watchers:
            self._changed(key)

    def __delitem__(self, key: K) -> None:
        super().__delitem__(key)
        del self._positions[key]
        if self._watchers:
            self._changed(key)

    def pop(self, key: K, *default: Any) -> Any:
        """Remove `key` (a watcher hears of it) and return its value, or `default`."""
        if key in self:
            value = super().__getitem__(key)
            del self[key]  # through __delitem__, which records it
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self) -> tuple[K, V]:
        """Remove the last key (a watcher hears of it)."""
        key = next(reversed(self))
        value = super().__getitem__(key)
        del self[key]
        return key, value

    def setdefault(self, key: K, default: V = None) -> V:  # type: ignore[assignment]
        """`dict.setdefault`, recorded."""
        if key not in self:
            self[key] = default
        return super().__getitem__(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """`dict.update`, each key recorded."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        """Remove every key (each recorded)."""
        for key in list(self):
            del self[key]

    def __ior__(self, other: Any) -> TrackedDict[K, V]:  # type: ignore[override,misc]
        self.update(other)
        return self
