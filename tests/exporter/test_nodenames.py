"""`step` from the structure of a node's name: whatever the items, hooks and run names, and the
same for a node (inline) and for the live pod of an offloaded run (its node-name annotation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from argoscope.exporter.model import PODS, WORKFLOWS, Model
from argoscope.exporter.nodenames import UNPARSED_STEP, node_step
from tests.support import argo
from tests.support.metrics import expose, samples

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

task_names = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,10}", fullmatch=True)
run_names = st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}(\.[a-z0-9][a-z0-9-]{0,6}){0,3}",
                          fullmatch=True)
# Item values as withItems/withParam give them: dots, parentheses, colons, JSON. One that
# spells a whole token boundary (`).x(0:`) is a different reading: see the test below.
items = st.text(st.sampled_from("ab.:()[] {}\"'-_0123456789"), max_size=12).filter(
    lambda item: not any(f"){c}" in item for c in ".([") and "\n" not in item)


@dataclass
class Level:
    """One level of a node's path: a task or step, maybe in a StepGroup, a fan-out, a retry."""

    name: str
    group: int | None
    item: tuple[int, str] | None
    attempt: int | None

    def spell(self) -> str:
        text = f"[{self.group}]" if self.group is not None else ""
        text += f".{self.name}"
        if self.item is not None:
            text += f"({self.item[0]}:{self.item[1]})"
        if self.attempt is not None:
            text += f"({self.attempt})"
        return text


levels = st.builds(Level, task_names, st.none() | st.integers(0, 9),
                   st.none() | st.tuples(st.integers(0, 99), items),
                   st.none() | st.integers(0, 5))
tails = st.sampled_from([None, "onExit", "hooks.running", "hooks.exit-notify"])


@st.composite
def node_names(draw: st.DrawFn) -> tuple[str, str, str]:
    """(run, node name as Argo spells it, the step it must give)."""
    run = draw(run_names)
    path = draw(st.lists(levels, max_size=4))
    tail = draw(tails)
    name = run + "".join(level.spell() for level in path)
    owner = path[-1].name if path else ""
    if tail is None:
        expected = owner or "entry"
    else:
        name += f".{tail}"
        expected = f"{owner}.{tail}" if owner else tail
    if draw(st.booleans()):
        name += f"({draw(st.integers(0, 3))})"  # a retry attempt of the last node
    return run, name, expected


@SETTINGS
@given(node_names())
@example(("wf", "wf.print(0:log))", "print"))
@example(("wf", "wf.print(1:a.b.c)(2)", "print"))
@example(("my.run.v2", "my.run.v2.train", "train"))
@example(("wf", "wf.A.onExit", "A.onExit"))
@example(("wf", "wf[0].step1.hooks.running", "step1.hooks.running"))
@example(("wf", "wf.onExit[0].celebrate", "celebrate"))
def test_a_node_name_gives_its_structural_step(case: tuple[str, str, str]) -> None:
    run, name, expected = case
    assert node_step(name, run, "entry") == expected


@SETTINGS
@given(run_names, st.from_regex(r"-[a-z0-9-]{1,10}", fullmatch=True),
       st.lists(levels, max_size=3))
def test_a_name_outside_the_grammar_gives_the_same_step_whatever_the_runs_name(
        run: str, suffix: str, path: list[Level]) -> None:
    # `<run>-hook` (objects written by hand, as in Argo's own tests) is not Argo's grammar: its
    # root is all of `<run>-hook`, so a dot in the run's own name never becomes a step.
    rest = "".join(level.spell() for level in path)
    plain = node_step("wf" + suffix + rest, "wf", "entry")
    assert node_step(run + suffix + rest, run, "entry") == plain
    assert plain == (path[-1].name if path else "entry")


def test_an_item_that_spells_structure_is_read_the_same_way_every_time() -> None:
    # `echo(0:a).evil(0:b)` is both task `echo` with item `a).evil(0:b` and `evil` nested in
    # `echo`'s fan-out: the earliest-closing reading wins, for every run alike.
    assert node_step("wf.echo(0:a).evil(0:b)", "wf") == "evil"
    assert node_step("wf.x y", "wf") == UNPARSED_STEP
    assert node_step("wf.A(0:" + ")(0:" * 300 + "x", "wf") == UNPARSED_STEP  # bounded work


def _live_run(run: str, name: str, offloaded: bool) -> dict[tuple[str, Any], float]:
    """A live run whose one node (named `name`) waits on its pod: the waiting series."""
    node_id = f"{run}-1"
    _, body = argo.node(run, "x", node_id=node_id, phase="Pending", template="t")
    body["name"] = name
    body["displayName"] = f"{run} display {{{{item}}}}"  # what a display-name sets
    wf = argo.workflow(run, [(node_id, body)], phase="Running", finish=None)
    wf["spec"]["entrypoint"] = "entry"
    if offloaded:
        del wf["status"]["nodes"]
        wf["status"]["offloadNodeStatusVersion"] = "fnv:1"
    model = Model()
    model.apply(WORKFLOWS, "ADDED", wf)
    model.apply(PODS, "ADDED", argo.pod(run, node_id, phase="Pending", waiting="ErrImagePull",
                                        node_name=name))
    return {key: value for key, value in samples(expose(model.collect)).items()
            if key[0] == "argoscope_steps_waiting"}


@settings(max_examples=30, deadline=None)
@given(node_names())
def test_a_live_pod_has_the_same_step_inline_and_offloaded(case: tuple[str, str, str]) -> None:
    run, name, expected = case
    inline = _live_run(run, name, offloaded=False)
    assert inline == _live_run(run, name, offloaded=True)
    assert [dict(labels)["step"] for _, labels in inline] == [expected]
