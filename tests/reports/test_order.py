"""Steps in DAG order: every task after everything it depends on, whatever order the template
lists them in, whichever syntax names the dependencies (`dependencies:` or `depends:`)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from argoscope.reports.run import dag_order


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    count = draw(st.integers(1, 12))
    names = [f"task-{i}" for i in range(count)]
    edges = [(names[j], names[i]) for i in range(count) for j in range(i)
             if draw(st.booleans())]
    tasks = []
    for name in names:
        parents = [a for a, b in edges if b == name]
        if parents and draw(st.booleans()):
            task = {"name": name, "depends": " && ".join(f"{p}.Succeeded" for p in parents)}
        else:
            task = {"name": name, "dependencies": parents}
        tasks.append(task)
    return draw(st.permutations(tasks)), edges


@settings(max_examples=60)
@given(dag=dags())
def test_every_task_comes_after_what_it_depends_on(
        dag: tuple[list[dict[str, Any]], list[tuple[str, str]]]) -> None:
    tasks, edges = dag
    workflow = {"spec": {"entrypoint": "main",
                         "templates": [{"name": "main", "dag": {"tasks": tasks}}]}}
    order = dag_order(workflow)
    assert set(order) == {t["name"] for t in tasks}
    for before, after in edges:
        assert order[before] < order[after]


def test_a_long_chain_is_ordered_without_recursion() -> None:
    tasks = [{"name": f"t{i}", "dependencies": [f"t{i - 1}"] if i else []} for i in range(1500)]
    order = dag_order({"spec": {"entrypoint": "main", "templates": [
        {"name": "main", "dag": {"tasks": tasks[::-1]}}]}})
    assert [order[f"t{i}"] for i in range(1500)] == list(range(1500))
