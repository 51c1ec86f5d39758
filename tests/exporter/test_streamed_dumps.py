"""`--source file:` streams dumps (docs/design.md, "Invariants: streamed dumps").

However a dump is written (one JSON document, a `List`'s `items` with its `kind` before or
after them, a top-level array, multi-document YAML, a YAML `kind: List`, split over files, in
any whitespace or escaping), the exposition is byte for byte the one the model gives for the
same objects applied in order, which is what the file source did when it read a dump whole;
and the reader returns exactly the objects reading the file whole returned. Memory: reading a
dump holds one object, not the file.
"""

from __future__ import annotations

import json
import re
import threading
import tracemalloc
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argoscope.cli import build_parser
from argoscope.exporter.app import build_exporter, run_once
from argoscope.exporter.model import Model
from argoscope.exporter.objects import decode_json
from argoscope.exporter.sources import SourceError, jsonstream
from argoscope.exporter.sources.file import FileSource, iter_objects, read_objects
from argoscope.yamlsafe import YamlRefused, load_all
from tests.support import argo_corpus
from tests.support.argo_corpus import corpus_workflows, derive_pods, with_checks, workflow

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
ARGS = ["--recent-runs-retention", "36500d"]
# Families whose value is a clock reading at scrape time: the value is blanked, not the series.
CLOCK_LINE = re.compile(r"^(argoscope_exporter_last_event_age_seconds|"
                        r"argoscope_workflow_run_age_seconds)(\{[^}]*\})? .*$", re.M)
# What the model counts as skipped, kept in streamed Lists: not objects, unknown kinds,
# a Workflow without a name; null and empty lists are no objects at all.
POISONS: list[Any] = [42, "text", None, [], {"kind": "Secret", "metadata": {"name": "s"}},
                      {"kind": "Workflow", "status": {"phase": "Running"}}, [7, [None, "x"]]]


# --- the reference: what reading a dump whole gave ---------------------------------------

def whole_flatten(document: Any) -> Iterator[Any]:
    """The file source's reading of a whole document before streaming (recursive)."""
    if document is None:
        return
    if isinstance(document, list):
        for item in document:
            yield from whole_flatten(item)
    elif isinstance(document, Mapping) and isinstance(document.get("items"), list) and (
            str(document.get("kind", "")).endswith("List") or "kind" not in document):
        for item in document["items"]:
            yield from whole_flatten(item)
    else:
        yield document


def read_whole(file: Path) -> list[Any]:
    """Every object of `file`, read whole as the file source read it before streaming."""
    text = file.read_text(encoding="utf-8")
    documents = [decode_json(text)] if file.suffix == ".json" else load_all(text, str(file))
    return [obj for document in documents for obj in whole_flatten(document)]


def exposition(source: Path, objects: Sequence[Any] = ()) -> str:
    """`argoscope exporter --once --source file:SOURCE` (in process), with `objects` applied
    first, one by one; clock readings blanked."""
    args = build_parser().parse_args(["exporter", "--source", f"file:{source}", "--once", *ARGS])
    exporter = build_exporter(args)
    for obj in objects:
        exporter.model.apply_object(obj)
    return CLOCK_LINE.sub(r"\1\2 0", run_once(exporter).decode())


def reference(objects: Sequence[Any], empty: Path) -> str:
    empty.mkdir(exist_ok=True)
    return exposition(empty, [o for obj in objects for o in whole_flatten(obj)])


# --- encodings ------------------------------------------------------------------------------

def as_json(value: Any, style: int) -> str:
    """One of a few whitespace and escaping styles; `style` picks."""
    indent, ascii_only = [(None, True), (2, False), (4, True), (1, False)][style % 4]
    separators = (",", ":") if style % 3 == 0 and indent is None else None
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only, separators=separators)
    return ("\n\t " if style % 2 else "") + text + ("\r\n" if style % 5 == 0 else "")


def json_list(objects: list[Any], style: int, kind: str) -> dict[str, Any]:
    """A List as kubectl writes it (`kind` after `items`), before them, or with none."""
    if kind == "after":
        return {"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {}}
    if kind == "before":
        return {"kind": "WorkflowList", "apiVersion": "v1", "items": objects}
    return {"items": objects}


def as_yaml_documents(objects: list[Any], style: int) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False, explicit_start=style % 2 == 0,
                              explicit_end=style % 3 == 0,
                              default_flow_style=None if style % 4 == 1 else False,
                              allow_unicode=style % 5 != 0)


def as_yaml_list(objects: list[Any], style: int) -> str:
    document = {"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {}}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=style % 2 == 0,
                          default_flow_style=None if style % 3 == 1 else False)


def write_dump(folder: Path, objects: list[Any], form: str, style: int, files: int) -> Path:
    """`objects` written in `form`, over `files` files (named in order) of one folder."""
    folder.mkdir()
    size = -(-len(objects) // files) or 1
    parts = [objects[i:i + size] for i in range(0, len(objects), size)] or [[]]
    for index, part in enumerate(parts):
        if form == "yaml-documents":
            (folder / f"{index:03d}.yaml").write_text(as_yaml_documents(part, style + index))
        elif form == "yaml-list":
            (folder / f"{index:03d}.yml").write_text(as_yaml_list(part, style + index))
        else:
            value: Any = (part if form == "json-array" else
                          [part[:2], part[2:]] if form == "json-nested" else
                          json_list(part, style, form.removeprefix("json-list-")))
            (folder / f"{index:03d}.json").write_text(as_json(value, style + index))
    return folder


FORMS = ["json-array", "json-nested", "json-list-after", "json-list-before", "json-list-none",
         "yaml-documents", "yaml-list"]


def corpus_objects(indexes: Sequence[int], poisons: Sequence[int]) -> list[Any]:
    workflows = [with_checks(workflow(i)) for i in indexes]
    pods: dict[tuple[str, str], Any] = {}
    for wf in workflows:
        for pod in derive_pods(wf):
            pods.setdefault((str(pod["metadata"].get("namespace")), pod["metadata"]["name"]), pod)
    objects: list[Any] = [*workflows, *pods.values()]
    for at, poison in zip(poisons, POISONS, strict=False):
        objects.insert(at % (len(objects) + 1), poison)
    return objects


needs_corpus = pytest.mark.skipif(not argo_corpus.CORPUS.is_dir(),
                                  reason="../shared/fixtures/argo-corpus is absent")


@needs_corpus
@pytest.mark.parametrize("form", FORMS)  # every form, every run
@settings(SETTINGS, max_examples=5)
@given(indexes=st.lists(st.integers(0, 200), min_size=1, max_size=6, unique=True),
       poisons=st.lists(st.integers(0, 400), max_size=len(POISONS)),
       style=st.integers(0, 59), files=st.integers(1, 3),
       order=st.randoms(use_true_random=False))
def test_every_form_of_a_dump_gives_the_exposition_of_its_objects(
        tmp_path_factory: pytest.TempPathFactory, indexes: list[int], poisons: list[int],
        form: str, style: int, files: int, order: Any) -> None:
    indexes = [i % len(corpus_workflows()) for i in indexes]
    objects = corpus_objects(sorted(set(indexes)), poisons)
    order.shuffle(objects)
    folder = tmp_path_factory.mktemp("dump")
    dump = write_dump(folder / "dump", objects, form, style, files)
    expected = reference(objects, folder / "empty")
    # A read that lost, reordered or misread an object shows in the skips and run counts.
    assert "argoscope_exporter_objects_skipped_total" in expected
    assert exposition(dump) == expected


def test_the_shared_argo_objects_expose_as_when_read_whole(argo_fixtures: Path,
                                                           tmp_path: Path) -> None:
    files = sorted(p for p in argo_fixtures.rglob("*") if p.suffix in (".json", ".yaml"))
    whole = [obj for file in files for obj in read_whole(file)]
    assert len(whole) >= len(files)
    assert read_objects(argo_fixtures) == whole
    expected = reference(whole, tmp_path / "empty")
    assert exposition(argo_fixtures) == expected
    # The same objects as one JSON List (kind after items, as kubectl writes it).
    (tmp_path / "one.json").write_text(json.dumps(json_list(whole, 0, "after"), default=str))
    assert exposition(tmp_path / "one.json") == reference(
        read_whole(tmp_path / "one.json"), tmp_path / "empty")


# --- the reader returns what reading whole returned -----------------------------------------

# Lone surrogates and integers outside +-(2**63 - 1) too: ijson reads those differently or not at all.
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(2**63 - 2, 2**80),
                    st.floats(allow_nan=False), st.text(max_size=8),
                    st.sampled_from(["\ud800", "a\udfff", "\U0001f600", "\x00", "é"]))
YAML_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                         st.floats(allow_nan=False, allow_infinity=False),
                         st.text(st.characters(codec="utf-8", exclude_characters="\x85\u2028\u2029"),
                                 max_size=8))
KINDS = st.one_of(st.sampled_from(["List", "WorkflowList", "Workflow", "", "list"]),
                  st.integers(1 - 2**63, 2**63 - 1))


def documents(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A dump's top level: a List with its `kind` anywhere or none, an array, an object, a
    scalar; values nested a few levels, Lists inside Lists."""
    values = st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["kind", "items", "metadata", "a", "b"]), inner,
                        max_size=4)), max_leaves=12)
    listed = st.builds(
        lambda items, kind, keys, position: dict(
            [*keys[:position], ("items", items), *([("kind", kind)] if kind is not None else []),
             *keys[position:]]),
        st.lists(values, max_size=5), st.one_of(st.none(), KINDS),
        st.lists(st.tuples(st.sampled_from(["apiVersion", "metadata", "items.item"]), values),
                 max_size=2),
        st.integers(0, 2))
    return st.one_of(listed, st.lists(st.one_of(values, listed), max_size=4), values)


@SETTINGS
@given(document=documents(SCALARS), style=st.integers(0, 59))
def test_a_json_file_reads_as_it_read_whole(tmp_path_factory: pytest.TempPathFactory,
                                            document: Any, style: int) -> None:
    """Also integers outside +-(2**63 - 1), huge floats and lone surrogate escapes, which ijson reads
    differently or refuses: such a file is read whole, as before."""
    file = tmp_path_factory.mktemp("json") / "dump.json"
    text = as_json(document, style)
    if any("\ud800" <= c <= "\udfff" for c in text):  # only as escapes, in UTF-8
        text = json.dumps(document)
    file.write_text(text)
    assert read_objects(file) == read_whole(file)


@SETTINGS
@given(document=documents(st.one_of(
    st.none(), st.booleans(), st.integers(1 - 2**63, 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))),
    style=st.integers(0, 59))
def test_json_streamed_however_large_reads_as_it_read_whole(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        document: Any, style: int) -> None:
    """Every file treated as too large to read whole: what ijson reads, it reads exactly."""
    monkeypatch.setattr(jsonstream, "WHOLE_MAX_BYTES", 0)
    file = tmp_path_factory.mktemp("json") / "dump.json"
    file.write_text(as_json(document, style))
    if isinstance(document, dict) and "items.item" in document:  # ijson's name for the items
        with pytest.raises(SourceError, match=r"near byte .* a key 'items\.item'"):
            read_objects(file)
        return
    assert read_objects(file) == read_whole(file)


@SETTINGS
@given(document=st.lists(documents(YAML_SCALARS), min_size=1, max_size=3),
       style=st.integers(0, 59))
def test_a_yaml_file_reads_as_it_read_whole(tmp_path_factory: pytest.TempPathFactory,
                                            document: list[Any], style: int) -> None:
    file = tmp_path_factory.mktemp("yaml") / "dump.yaml"
    file.write_text(yaml.safe_dump_all(document, sort_keys=False, explicit_start=style % 2 == 0,
                                       default_flow_style=None if style % 3 else False))
    assert read_objects(file) == read_whole(file)


# --- memory ---------------------------------------------------------------------------------

def _pod(index: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"p-{index}", "namespace": "team",
                         "labels": {"workflows.argoproj.io/workflow": f"wf-{index}"},
                         "annotations": {"a": "x" * 2000}},
            "spec": {"containers": [{"name": f"c{i}", "image": "i" * 40} for i in range(20)]},
            "status": {"phase": "Succeeded"}}


def _peak_bytes(read: Any) -> int:
    tracemalloc.start()
    try:
        read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_reading_a_dump_holds_one_object_not_the_file(tmp_path: Path, suffix: str) -> None:
    objects = [_pod(i) for i in range(300 if suffix == ".json" else 120)]
    document = {"apiVersion": "v1", "items": objects, "kind": "List"}
    dump = tmp_path / f"dump{suffix}"
    dump.write_text(json.dumps(document) if suffix == ".json" else yaml.safe_dump(document))
    whole = _peak_bytes(lambda: read_whole(dump))
    streamed = _peak_bytes(lambda: sum(1 for _ in iter_objects(dump)))
    one = _peak_bytes(lambda: decode_json(json.dumps(objects[0])))
    assert streamed < whole / 10, (streamed, whole)
    assert streamed < 20 * one + 2**20, (streamed, one)


# --- refusals -------------------------------------------------------------------------------

def _list_text(bad_item: str) -> str:
    good = json.dumps(_pod(0))
    return '{"apiVersion": "v1", "items": [\n' + f"{good},\n{good},\n{bad_item}\n" + \
        '], "kind": "List"}'


def test_a_bad_object_deep_in_a_json_list_fails_before_anything_is_applied(tmp_path: Path,
                                                                          ) -> None:
    dump = tmp_path / "dump.json"
    dump.write_text(_list_text('{"kind": "Pod", "metadata": {"name": x}}'))
    model = Model()
    with pytest.raises(SourceError, match=rf"^{re.escape(str(dump))}: invalid JSON: .*line 4"):
        FileSource(model, dump)
    assert model.pod_count() == 0 and model.stats.ready is False


def test_a_large_file_refused_names_the_byte(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Over WHOLE_MAX_BYTES a refusal names the byte it was found near; integers beyond 64
    bits and nesting over orjson's limit are refused there, not read whole."""
    monkeypatch.setattr(jsonstream, "WHOLE_MAX_BYTES", 0)
    cases = {
        "syntax": ('{"kind": x}', "lexical error"),
        "big-int": ('{"kind": "Pod", "v": 123456789012345678901234567890}', "integer overflow"),
        "deep": ("[" * 1100 + "]" * 1100, "nested deeper than 1024 levels"),
    }
    for name, (item, reason) in cases.items():
        dump = tmp_path / f"{name}.json"
        dump.write_text(_list_text(item))
        size = dump.stat().st_size
        with pytest.raises(SourceError) as error:
            read_objects(dump)
        message = str(error.value)
        assert message.startswith(f"{dump}: invalid JSON near byte ") and reason in message
        assert 0 < int(message.split("near byte ")[1].split(":")[0].replace(",", "")) <= size


def test_deep_json_is_refused_as_before(tmp_path: Path) -> None:
    dump = tmp_path / "deep.json"
    dump.write_text(_list_text("[" * 1100 + "]" * 1100))
    with pytest.raises(SourceError, match=rf"^{re.escape(str(dump))}: invalid JSON: .*nested"):
        read_objects(dump)


def test_a_bad_item_in_a_yaml_list_names_file_and_line(tmp_path: Path) -> None:
    dump = tmp_path / "dump.yaml"
    dump.write_text("apiVersion: v1\nitems:\n- {kind: Pod, metadata: {name: a}}\n"
                    "- {kind: Pod, metadata: {name: b}}\n- {kind: Pod, metadata: [}\nkind: List\n")
    model = Model()
    with pytest.raises(SourceError, match=rf"^{re.escape(str(dump))}: invalid YAML: .*line 5"):
        FileSource(model, dump)
    assert model.pod_count() == 0


def _bomb_items(levels: int) -> str:
    """A List whose items, each small, alias the items before them nine times each."""
    lines = ["kind: List", "items:", '- &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append(f"- &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_aliases_stay_bounded_over_a_streamed_list(tmp_path: Path) -> None:
    dump = tmp_path / "bomb.yaml"
    dump.write_text(_bomb_items(9))
    with pytest.raises(SourceError, match=rf"^{re.escape(str(dump))}: YAML aliases expand"):
        read_objects(dump)
    # The same shape, small: aliases to earlier items read as the items they name.
    dump.write_text(_bomb_items(3))
    items = read_objects(dump)
    # Arrays among the items are opened too: 9 + 81 + 729 strings.
    assert items == read_whole(dump) and len(items) == 9 + 81 + 729


def _many_small_expansions(items: int) -> str:
    """A List whose items each alias one 900-scalar anchor nine times: each item alone is
    within the bound's slack, the document as a whole is not (past a few items)."""
    big = "[" + ",".join(["lol"] * 900) + "]"
    return "kind: List\nitems:\n- &big " + big + "\n" + "".join(
        "- [" + ",".join(["*big"] * 9) + "]\n" for _ in range(items))


@pytest.mark.parametrize(("items", "refused"), [(1, False), (2, False), (40, True)])
def test_the_alias_bound_is_the_whole_documents_not_each_items(tmp_path: Path, items: int,
                                                                refused: bool) -> None:
    dump = tmp_path / "spread.yaml"
    dump.write_text(_many_small_expansions(items))
    if refused:  # as reading it whole refused it, though no item alone is over the bound
        with pytest.raises(YamlRefused, match="YAML aliases expand"):
            read_whole(dump)
        with pytest.raises(SourceError, match=rf"^{re.escape(str(dump))}: YAML aliases expand"):
            read_objects(dump)
    else:
        assert read_objects(dump) == read_whole(dump)


def test_a_dump_that_changes_after_the_survey_leaves_the_source_not_ready(tmp_path: Path,
                                                                           ) -> None:
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"kind": "List", "items": [_pod(0), _pod(1)]}))
    model = Model()
    source = FileSource(model, dump)
    dump.write_text(_list_text("{"))
    stop = threading.Event()
    stop.set()
    source.run(stop)  # logs, neither raises nor applies twice on a restart
    assert model.stats.ready is False


# --- shapes written by hand: what streaming must not change ---------------------------------

EDGE_CASES = {
    "kind-after-items-not-a-list.json": '{"items": [{"kind": "Pod"}], "kind": "Workflow"}',
    "items-not-an-array.json": '{"kind": "List", "items": {"kind": "Pod"}}',
    "items-twice.json": '{"items": [{"kind": "Pod"}], "kind": "List", "items": [1, 2]}',
    "a-key-named-like-the-items.json": '{"items": [{"kind": "Pod"}], "items.item": {"a": 1}}',
    "kind-an-object.json": '{"items": [{"kind": "Pod"}], "kind": {"x": "List"}}',
    "kind-null.json": '{"items": [1], "kind": null}',
    "list-in-list.json": '{"kind": "List", "items": [{"items": [{"kind": "Pod"}]}, [3, [4]]]}',
    "scalar.json": "42",
    "null.json": "null",
    "empty-array.json": "  [ ]  ",
    "nan.json": '{"items": [NaN, Infinity]}',
    "anchors-across-items.yaml": "kind: List\nitems:\n- &pod {kind: Pod, metadata: {name: a}}\n"
                                 "- {kind: Pod, metadata: *pod}\n- *pod\n",
    "merge-in-an-item.yaml": "items:\n- &base {kind: Pod, x: 1}\n- {<<: *base, x: 2}\nkind: PodList\n",
    "merge-at-the-top.yaml": "base: &b {kind: List}\n<<: *b\nitems: [{kind: Pod}]\n",
    "anchored-items.yaml": "items: &all [{kind: Pod}, 2]\nagain: *all\n",
    "items-twice.yaml": "items: [{kind: Pod}]\nkind: List\nitems: [3]\n",
    "kind-after-items.yaml": "apiVersion: v1\nitems:\n- {kind: Pod}\nkind: Workflow\n",
    "items-a-mapping.yaml": "kind: List\nitems: {kind: Pod}\n",
    "documents-and-lists.yaml": "kind: Pod\n---\n- 1\n- [2]\n---\nitems: [3, {items: [4]}]\n"
                                "---\n...\n---\n!!map {items: [5], kind: List}\n",
    "tagged-items.yaml": "kind: List\n!!str items: [1]\n",
    "omap-items.yaml": "kind: List\nitems: !!omap [{a: 1}, {b: 2}]\n",
    "top-level-sequence.yaml": "- {kind: Pod}\n- [1, {items: [2]}]\n- null\n---\n!!seq [3]\n",
    "top-level-pairs.yaml": "!!pairs [{kind: Pod}, {b: 2}]\n",
    "top-level-custom-tag.yaml": "!!set {a, b}\n",
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_hand_written_shapes_read_as_they_read_whole(tmp_path: Path, name: str) -> None:
    file = tmp_path / name
    file.write_text(EDGE_CASES[name])
    assert read_objects(file) == read_whole(file)


@pytest.mark.parametrize("text", ["", "   \n", "[1, 2", '{"items": [1,]}', "\ufeff[1]"])
def test_json_refused_whole_is_refused_streamed_with_the_same_message(tmp_path: Path,
                                                                       text: str) -> None:
    file = tmp_path / "bad.json"
    file.write_text(text)
    with pytest.raises(ValueError) as before:
        decode_json(file.read_text(encoding="utf-8"))
    with pytest.raises(SourceError) as now:
        read_objects(file)
    assert str(now.value) == f"{file}: invalid JSON: {before.value}"


@pytest.mark.parametrize("bad", [b"\xff", b"\xe2\x82", b"\xed\xa0\x80"])
def test_bad_utf8_deep_in_a_yaml_dump_is_named_where_reading_whole_named_it(
        tmp_path: Path, bad: bytes) -> None:
    dump = tmp_path / "dump.yaml"
    good = ("- {kind: Pod, metadata: {name: " + "é" * 40 + "}}\n").encode() * 3000
    dump.write_bytes(b"kind: List\nitems:\n" + good + b"- {kind: Pod, x: '" + bad + b"'}\n")
    with pytest.raises(UnicodeDecodeError) as before:
        dump.read_text(encoding="utf-8")
    with pytest.raises(SourceError) as now:
        read_objects(dump)
    assert str(now.value) == f"{dump}: cannot be read: {before.value}"
