"""Does a PromQL expression keep a label (`cluster`) through every aggregation and join?

A global view (a central Prometheus, Thanos or Mimir fed by many clusters) only works when no
aggregation sums clusters together and no vector match pairs one cluster's series with
another's. Walks the syntax tree of promql-parser and names each clause that drops the label:
an aggregation without `by` (or `by` that lacks it, or `without` that names it) and a vector
match with `on (...)` that lacks it or `ignoring (...)` that names it.
"""

from __future__ import annotations

import promql_parser

CLUSTER = "cluster"


def children(node: object) -> list[object]:
    """The direct sub-expressions of a node."""
    if isinstance(node, promql_parser.AggregateExpr):
        return [node.expr] + ([node.param] if node.param is not None else [])
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, promql_parser.Call):
        return list(node.args)
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, (promql_parser.ParenExpr, promql_parser.SubqueryExpr,
                         promql_parser.UnaryExpr)):
        return [node.expr]
    return []


def _is_vector(node: object) -> bool:
    """Whether a binary operand is an instant vector (not a number or a scalar function)."""
    if isinstance(node, (promql_parser.NumberLiteral, promql_parser.StringLiteral)):
        return False
    if isinstance(node, (promql_parser.ParenExpr, promql_parser.UnaryExpr)):
        return _is_vector(node.expr)
    if isinstance(node, promql_parser.Call):
        return node.func.name not in {"time", "scalar", "pi"}
    if isinstance(node, promql_parser.BinaryExpr):
        return _is_vector(node.lhs) or _is_vector(node.rhs)
    return True


def dropped(expr: promql_parser.Expr, label: str = CLUSTER) -> list[str]:
    """Each aggregation or vector match of `expr` that loses `label`, as a short sentence."""
    problems: list[str] = []
    stack: list[object] = [expr]
    while stack:
        node = stack.pop()
        stack.extend(children(node))
        if isinstance(node, promql_parser.AggregateExpr):
            modifier = node.modifier
            if modifier is None:
                problems.append(f"{node.op} without `by ({label}, ...)`: {node}")
            elif str(modifier.type).endswith("By") and label not in modifier.labels:
                problems.append(f"{node.op} by ({', '.join(modifier.labels)}) lacks {label}")
            elif str(modifier.type).endswith("Without") and label in modifier.labels:
                problems.append(f"{node.op} without ({', '.join(modifier.labels)}) drops {label}")
        elif isinstance(node, promql_parser.BinaryExpr):
            matching = node.modifier.matching if node.modifier is not None else None
            if matching is None or not (_is_vector(node.lhs) and _is_vector(node.rhs)):
                continue  # the default match on all labels keeps the label
            names = ", ".join(matching.labels)
            if str(matching.type).endswith("Include") and label not in matching.labels:
                problems.append(f"`{node.op} on ({names})` lacks {label}")
            elif str(matching.type).endswith("Exclude") and label in matching.labels:
                problems.append(f"`{node.op} ignoring ({names})` drops {label}")
    return problems
