"""The price file: what it accepts, and a one-line error naming the place for anything else."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.cost.prices import (
    MAX_PRICE,
    PRICE_KEYS,
    RULE_KEYS,
    TOP_KEYS,
    PriceFileError,
    Prices,
    load_prices,
    parse_prices,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REPO = Path(__file__).resolve().parents[2]

GOOD: dict[str, Any] = {
    "currency": "USD",
    "default": {"cpu_core_hour": 0.031611, "memory_gib_hour": 0.004237, "gpu_hour": 0.95},
    "nodes": [
        {"match": {"node.kubernetes.io/instance-type": "p4d.24xlarge"},
         "prices": {"gpu_hour": 4.10}},
        {"match": {"node.kubernetes.io/instance-type": "p4d.24xlarge", "spot": "true"},
         "prices": {"gpu_hour": 1.0}},
    ],
}


def test_the_documented_file_reads_and_the_first_matching_rule_wins() -> None:
    book = parse_prices(GOOD, "prices.yaml")
    assert book.currency == "USD" and book.needs_nodes
    p4d = {"node.kubernetes.io/instance-type": "p4d.24xlarge", "spot": "true"}
    # Keys a rule does not give fall back to the default.
    assert book.for_node(p4d) == Prices(0.031611, 0.004237, 4.10)
    assert book.for_node({"node.kubernetes.io/instance-type": "m5.large"}) == book.default


def _misspell(word: str, rng: Any) -> str:
    i = rng.randrange(len(word))
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1:] or "x"
    if kind == 1:
        return word[:i] + "x" + word[i:]
    return word + "s"


@SETTINGS
@given(st.sampled_from(["top", "default", "rule", "rule_prices"]), st.randoms())
def test_a_misspelt_key_is_refused_naming_the_key_meant(where: str, rng: Any) -> None:
    document = copy.deepcopy(GOOD)
    section: dict[str, Any]
    allowed: tuple[str, ...]
    if where == "top":
        section, allowed = document, TOP_KEYS
    elif where == "default":
        section, allowed = document["default"], PRICE_KEYS
    elif where == "rule":
        section, allowed = document["nodes"][1], RULE_KEYS
    else:
        section, allowed = document["nodes"][0]["prices"], PRICE_KEYS
    key = rng.choice(sorted(k for k in section if k in allowed))
    wrong = _misspell(key, rng)
    if wrong in allowed:
        return
    section[wrong] = section.pop(key)
    with pytest.raises(PriceFileError) as caught:
        parse_prices(document, "prices.yaml")
    message = str(caught.value)
    assert message.startswith("prices.yaml") and "\n" not in message
    assert repr(wrong[:60]) in message or "missing" in message


@SETTINGS
@given(st.sampled_from(PRICE_KEYS),
       st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=MAX_PRICE * 1.0001),
                 st.just(float("nan")), st.sampled_from(["0.95", True, None, [1], "1e3"]),
                 st.integers(min_value=int(MAX_PRICE) + 1)),
       st.booleans())
def test_a_price_out_of_range_or_not_a_number_is_refused(key: str, value: Any,
                                                         in_rule: bool) -> None:
    document = copy.deepcopy(GOOD)
    (document["nodes"][0]["prices"] if in_rule else document["default"])[key] = value
    with pytest.raises(PriceFileError) as caught:
        parse_prices(document, "prices.yaml")
    assert key in str(caught.value)


@pytest.mark.parametrize("document, fragment", [
    ("currency: USD\n", "missing default"),
    ("currency: USD\ndefault: {cpu_core_hour: 1, gpu_hour: 1}\n", "missing memory_gib_hour"),
    ("default: {cpu_core_hour: 1, memory_gib_hour: 1, gpu_hour: 1}\n", "currency"),
    ("currency: USD\ndefault: {cpu_core_hour: 1, memory_gib_hour: 1, gpu_hour: 1}\n"
     "nodes: {a: b}\n", "nodes: expected a list"),
    ("currency: USD\ndefault: {cpu_core_hour: 1, memory_gib_hour: 1, gpu_hour: 1}\n"
     "nodes: [{match: {}, prices: {}}]\n", "is empty"),
    ("currency: [USD\n", "not YAML"),
    ("- a\n- b\n", "expected a mapping"),
])
def test_structural_mistakes_are_named(tmp_path: Path, document: str, fragment: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(document)
    with pytest.raises(PriceFileError, match=fragment):
        load_prices(path)


def test_the_exporter_exits_2_with_one_line_for_a_bad_price_file(tmp_path: Path) -> None:
    document = copy.deepcopy(GOOD)
    document["default"]["gpu_hours"] = document["default"].pop("gpu_hour")
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(document))
    empty = tmp_path / "empty.json"
    empty.write_text('{"kind": "List", "items": []}')
    result = subprocess.run(
        [sys.executable, "-m", "argoscope.cli", "exporter", "--once", "--source", f"file:{empty}",
         "--prices", str(path)], capture_output=True, text=True, timeout=120, cwd=REPO,
        check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "gpu_hours" in lines[0] and "'gpu_hour'" in lines[0]


def test_the_example_price_file_in_docs_reads() -> None:
    book = load_prices(REPO / "docs" / "prices.example.yaml")
    assert book.currency == "USD" and book.needs_nodes
