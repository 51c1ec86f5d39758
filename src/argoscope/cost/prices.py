"""The price file of `--prices PATH`: a currency, default prices and per-node overrides.

```yaml
currency: USD
default: {cpu_core_hour: 0.031611, memory_gib_hour: 0.004237, gpu_hour: 0.95}
nodes:                       # optional; the first rule whose labels all match wins
  - match: {node.kubernetes.io/instance-type: p4d.24xlarge}
    prices: {gpu_hour: 4.10}  # keys not given fall back to default
```

Anything else is refused with `PriceFileError`, one line naming the file, the place and what
is wrong (a misspelt key says which key was meant), so `argoscope` exits 2 before serving.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PRICE_KEYS: tuple[str, ...] = ("cpu_core_hour", "memory_gib_hour", "gpu_hour")
TOP_KEYS: tuple[str, ...] = ("currency", "default", "nodes")
RULE_KEYS: tuple[str, ...] = ("match", "prices")
# No resource costs more than this per unit-hour: a larger number is a typo (cents for units,
# a monthly price), refused rather than served.
MAX_PRICE = 10_000.0
_CURRENCY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$")


class PriceFileError(ValueError):
    """A price file that cannot be used; the message names the file and the place."""


@dataclass(frozen=True, slots=True)
class Prices:
    """Hourly prices: per CPU core, per GiB of memory, per GPU (in the book's currency)."""

    cpu_core_hour: float
    memory_gib_hour: float
    gpu_hour: float

    def merged(self, overrides: Mapping[str, float]) -> Prices:
        """These prices with some keys replaced."""
        values = {key: float(overrides.get(key, getattr(self, key))) for key in PRICE_KEYS}
        return Prices(**values)


@dataclass(frozen=True, slots=True)
class NodeRule:
    """Prices for nodes whose labels include every `match` pair."""

    match: tuple[tuple[str, str], ...]
    prices: Prices

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a node with these labels falls under this rule."""
        return all(labels.get(key) == value for key, value in self.match)


@dataclass(frozen=True, slots=True)
class PriceBook:
    """A parsed price file: currency, default prices, node rules in file order."""

    currency: str
    default: Prices
    rules: tuple[NodeRule, ...] = ()

    @property
    def needs_nodes(self) -> bool:
        """True when prices depend on Node labels (some rule is given)."""
        return bool(self.rules)

    def for_node(self, labels: Mapping[str, str]) -> Prices:
        """The prices of a node: the first matching rule's, else the default."""
        for rule in self.rules:
            if rule.matches(labels):
                return rule.prices
        return self.default


def _unknown(key: object, allowed: tuple[str, ...], where: str) -> PriceFileError:
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (expected one of {', '.join(allowed)})"
    return PriceFileError(f"{where}: unknown key {str(key)[:60]!r}{hint}")


def _check_keys(section: Mapping[Any, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in section:
        if key not in allowed:
            raise _unknown(key, allowed, where)


def _section(value: Any, where: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise PriceFileError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _price(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PriceFileError(f"{where}: expected a number, got {str(value)[:40]!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or not 0 <= number <= MAX_PRICE:
        raise PriceFileError(f"{where}: {str(value)[:40]} is out of range "
                             f"(a price per hour from 0 to {MAX_PRICE:g})")
    return number


def _prices(value: Any, where: str, *, complete: bool) -> dict[str, float]:
    section = _section(value, where)
    _check_keys(section, PRICE_KEYS, where)
    if complete:
        missing = [key for key in PRICE_KEYS if key not in section]
        if missing:
            raise PriceFileError(f"{where}: missing {', '.join(missing)}")
    return {str(key): _price(item, f"{where}.{key}") for key, item in section.items()}


def _rule(value: Any, where: str, default: Prices) -> NodeRule:
    section = _section(value, where)
    _check_keys(section, RULE_KEYS, where)
    for key in RULE_KEYS:
        if key not in section:
            raise PriceFileError(f"{where}: missing {key}")
    match = _section(section["match"], f"{where}.match")
    if not match:
        raise PriceFileError(f"{where}.match: is empty (it would match every node)")
    pairs = []
    for key, label in match.items():
        if not isinstance(key, str) or not key or not isinstance(label, (str, int, float)) \
                or isinstance(label, bool):
            raise PriceFileError(f"{where}.match: {str(key)[:60]!r} needs a label name and a "
                                 "plain value")
        pairs.append((key, str(label)))
    overrides = _prices(section["prices"], f"{where}.prices", complete=False)
    return NodeRule(tuple(pairs), default.merged(overrides))


def parse_prices(document: Any, where: str) -> PriceBook:
    """A PriceBook from a decoded price file; `where` names it in errors."""
    top = _section(document, where)
    _check_keys(top, TOP_KEYS, where)
    currency = top.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise PriceFileError(f"{where}: currency: expected a code such as USD, got "
                             f"{str(currency)[:40]!r}")
    if "default" not in top:
        raise PriceFileError(f"{where}: missing default")
    default = Prices(**_prices(top["default"], f"{where}: default", complete=True))
    nodes = top.get("nodes") or []
    if not isinstance(nodes, list):
        raise PriceFileError(f"{where}: nodes: expected a list, got {type(nodes).__name__}")
    rules = tuple(_rule(rule, f"{where}: nodes[{index}]", default)
                  for index, rule in enumerate(nodes))
    return PriceBook(currency, default, rules)


def load_prices(path: str | Path) -> PriceBook:
    """Read and check a price file; PriceFileError says what is wrong and where."""
    where = str(path)
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PriceFileError(f"{where}: cannot read: {error}") from None
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f" line {mark.line + 1}" if mark is not None else ""
        raise PriceFileError(f"{where}:{place} not YAML: "
                             f"{getattr(error, 'problem', None) or error}") from None
    return parse_prices(document, where)
