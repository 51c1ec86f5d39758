"""The `step` of an Argo node, read from the structure of its name, never from a display name.

Argo builds every node's `name` from its place in the run (workflow/controller: dag.go,
steps.go, exit_handler.go, hooks.go):

```
<run>                          the entrypoint node
<parent>.<task>                a DAG task          <parent>[<i>].<step>   a step of a StepGroup
<node>(<i>:<item>)             one fan-out item    <node>(<n>)            one retry attempt
<run>.onExit  <node>.onExit    exit handlers       <run>.hooks.<h>  <node>.hooks.<h>   hooks
```

The same name is on the node (`status.nodes[*].name`) and on its pod (the
`workflows.argoproj.io/node-name` annotation), so a pod of a run whose nodes are offloaded
gets the same step as the node would. `displayName` is not read: a template's
`workflows.argoproj.io/display-name` annotation (often templated, per item or per run) sets it.

Items are free text (`(0:a.b)`, `(1:log))`), so the name is parsed, not split: an item closes
at the earliest `)` after which the rest of the name still parses (an item that itself spells
`).name(` is read as structure: that is the earliest-closing reading, the same every time).
A name that does not parse, or is too long to parse cheaply, gets `UNPARSED_STEP`, the same for
every run.
"""

from __future__ import annotations

import re

# The step of a node whose name does not follow Argo's grammar: one value for all of them.
UNPARSED_STEP = "_unknown"
# What the entrypoint node is called when its template is unknown.
ENTRYPOINT_STEP = "main"
# Parsing is quadratic in the number of `)` at worst (hostile items); longer names are not read.
MAX_NAME_LENGTH = 1024

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_INDEX = re.compile(r"\[\d+\]")
_PAREN = re.compile(r"\(\d+(\)|:)")
_ROOT_END = re.compile(r"[.\[(]")


def _choices(rest: str, pos: int) -> list[tuple[int, str]]:
    """Where the token at `pos` may end, in order of preference, with the name it carries."""
    char = rest[pos]
    if char == ".":
        match = _SEGMENT.match(rest, pos + 1)
        return [(match.end(), match.group())] if match else []
    if char == "[":
        match = _INDEX.match(rest, pos)
        return [(match.end(), "")] if match else []
    if char == "(":
        match = _PAREN.match(rest, pos)
        if match is None:
            return []
        if match.group(1) == ")":
            return [(match.end(), "")]
        # A fan-out item: it may close at any later `)` followed by the end or a token.
        ends = []
        close = rest.find(")", match.end())
        while close != -1:
            after = close + 1
            if after == len(rest) or rest[after] in ".[(":
                ends.append((after, ""))
            close = rest.find(")", after)
        return ends
    return []


class _Frame:
    """One token position being tried: where it starts, the names before it, its choices."""

    __slots__ = ("held", "options", "start", "tried")

    def __init__(self, start: int, held: int, options: list[tuple[int, str]]) -> None:
        self.start, self.held, self.options, self.tried = start, held, options, 0


def _segments(rest: str) -> list[str] | None:
    """The task/step names along `rest` (what follows the run's name), or None if it does
    not parse. Depth-first, preferring earlier item ends; positions known to lead nowhere are
    remembered, so each is explored once."""
    names: list[str] = []
    dead: set[int] = set()
    stack: list[_Frame] = []
    pos = 0
    while pos != len(rest):
        stack.append(_Frame(pos, len(names), [] if pos in dead else _choices(rest, pos)))
        while stack:
            frame = stack[-1]
            del names[frame.held:]
            if frame.tried < len(frame.options):
                pos, name = frame.options[frame.tried]
                frame.tried += 1
                if name:
                    names.append(name)
                break
            dead.add(frame.start)
            stack.pop()
        else:
            return None
    return names


def relative_name(node_name: str, run_name: str) -> str:
    """What follows the run's name in a node's name (`.train(0)`, `[0].step1`, '' for the
    entrypoint), whatever the run's name holds (dots included)."""
    if node_name == run_name or (
            node_name.startswith(run_name) and node_name[len(run_name):len(run_name) + 1]
            in (".", "[", "(")):
        return node_name[len(run_name):]
    # Not under this run's name (objects written by hand, a renamed copy): the root is the
    # name up to its first delimiter, as Argo never puts one in a run's name's place. A name
    # that extends the run's name (`<run>-hook`) keeps all of it in the root, so delimiters
    # inside the run's own name (`a.v2-hook` of run `a.v2`) never become structure.
    start = len(run_name) if node_name.startswith(run_name) else 0
    end = _ROOT_END.search(node_name, start)
    return node_name[end.start():] if end else ""


def relative_step(rest: str, entrypoint: str = "") -> str:
    """The step of the node whose name is the run's name followed by `rest`.

    The last task/step name; an exit handler or hook keeps its owner (`train.onExit`,
    `train.hooks.running`; the run's own are `onExit`, `hooks.running`); the entrypoint node
    and its retry attempts take `entrypoint` (its template's name).
    """
    if len(rest) > MAX_NAME_LENGTH:
        return UNPARSED_STEP
    names = _segments(rest)
    if names is None:
        return UNPARSED_STEP
    if not names:
        return entrypoint or ENTRYPOINT_STEP
    if names[-1] == "onExit":
        return ".".join((*names[-2:-1], "onExit"))
    if len(names) >= 2 and names[-2] == "hooks":
        return ".".join((*names[-3:-2], "hooks", names[-1]))
    return names[-1]


def node_step(node_name: str, run_name: str, entrypoint: str = "") -> str:
    """The `step` label of the node called `node_name` in run `run_name`: never the run's
    name, never a display name, never an item."""
    return relative_step(relative_name(node_name, run_name), entrypoint)
