"""A run's node graph: its nodes, their lifecycle, and the Workflow object that records them.

The bottom layer of the runner. The DAG walker and the template executor both change the run
only through a `NodeGraph`, which saves the Workflow object (`DIR/workflows/<name>.json`)
after every change and tells the reporter when a node's phase moves, so what a reader of the
state directory sees is always whole and current. It knows nothing of templates or processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from argoscope.local.progress import Reporter
from argoscope.local.status import (
    FAILED,
    Node,
    WorkflowIdentity,
    WorkflowProgress,
    node_id,
    workflow_object,
    write_json,
)


class NodeGraph:
    """The nodes of one run and its Workflow phase, saved to `path` on every change.

    `lock` guards the nodes and their links; it is re-entrant so a caller may hold it
    around several graph calls.
    """

    def __init__(self, identity: WorkflowIdentity, path: Path, reporter: Reporter) -> None:
        self.identity = identity
        self.path = path
        self.reporter = reporter
        self.lock = threading.RLock()
        self.nodes: dict[str, Node] = {}
        self.phase = "Pending"
        self.message = ""
        self.started: float | None = None
        self.finished: float | None = None

    # --- the run ----------------------------------------------------------------------------

    def start(self) -> None:
        """Mark the run Running from now."""
        with self.lock:
            self.started = time.time()
            self.phase = "Running"
            self.save()

    def end(self, phase: str, message: str) -> None:
        """Give the run its final phase and message, finished now."""
        with self.lock:
            self.phase, self.message = phase, message
            self.finished = time.time()
            self.save()

    def workflow_object(self) -> dict[str, Any]:
        """The Workflow as Argo would show it now."""
        with self.lock:
            progress = WorkflowProgress(self.phase, self.message, self.started, self.finished)
            return workflow_object(self.identity, progress, self.nodes.values())

    def save(self) -> None:
        """Write the Workflow object to the state directory, atomically."""
        write_json(self.path, self.workflow_object())

    # --- nodes ------------------------------------------------------------------------------

    def add(self, node: Node) -> Node:
        """Record a node built by the caller (the reporter is not told: see `announce`)."""
        with self.lock:
            self.nodes[node.id] = node
            self.save()
        return node

    def announce(self, node: Node) -> None:
        """Tell the reporter a node appeared or changed phase."""
        self.reporter.node_changed(node)

    def new_node(self, name: str, display: str, node_type: str, template: str,
                 boundary: str | None, phase: str = "Running", message: str = "") -> Node:
        """Record and announce a new node (finished at once for Skipped, Omitted and Error)."""
        now = time.time()
        node = Node(id=node_id(self.identity.name, name), name=name, display_name=display,
                    type=node_type, template_name=template, boundary_id=boundary, phase=phase,
                    started=now, message=message)
        if node.finished_phase:
            node.finished = now
        self.add(node)
        self.announce(node)
        return node

    def update(self, node: Node, **changes: Any) -> None:
        """Change a node's fields and save; a phase change is announced."""
        with self.lock:
            for key, value in changes.items():
                setattr(node, key, value)
            self.save()
        if "phase" in changes:
            self.announce(node)

    def finish(self, node: Node, phase: str, message: str, **changes: Any) -> None:
        """Give a node its final phase and finish time (an empty message keeps the old one)."""
        self.update(node, message=message or node.message, finished=time.time(), **changes,
                    phase=phase)

    # --- links ------------------------------------------------------------------------------

    def append_child(self, parent: Node, child: Node,
                     order: Callable[[str], int] | None = None) -> None:
        """Link `child` under `parent` (once), keeping the children sorted by `order` if given."""
        with self.lock:
            if child.id not in parent.children:
                parent.children.append(child.id)
            if order is not None:
                parent.children.sort(key=order)
            self.save()

    def link_after(self, child: Node, parents: Sequence[Node]) -> None:
        """Link `child` under each of `parents` (once each) in one save."""
        with self.lock:
            for parent in parents:
                if child.id not in parent.children:
                    parent.children.append(child.id)
            self.save()

    def children(self, node: Node) -> list[Node]:
        """The nodes linked under `node`, in order."""
        with self.lock:
            return [self.nodes[c] for c in node.children]

    def outbound(self, node: Node) -> list[str]:
        """The nodes a dependant links from: Argo's outbound nodes of `node`."""
        with self.lock:
            if node.type in ("Pod", "Skipped"):
                return [node.id]
            if node.outbound:
                return list(node.outbound)
            if node.type == "Retry" and node.children:
                return self.outbound(self.nodes[node.children[-1]])
            if node.type == "TaskGroup" and node.children:
                return [o for c in node.children for o in self.outbound(self.nodes[c])]
            return [node.id]

    def failure_message(self, root: Node) -> str:
        """Argo's run message for a failed `root`: the failing child it names, else its own."""
        if root.type == "Pod":
            return root.message
        with self.lock:
            # A retry's attempts are not the failing child: the task (its Retry node) is, and
            # an attempt the retry recovered failed nothing.
            attempts = {c for n in self.nodes.values() if n.type == "Retry" for c in n.children}
            for child in self.nodes.values():
                if child.id != root.id and child.boundary_id == root.id \
                        and child.phase in FAILED and child.id not in attempts:
                    return f"child '{child.id}' failed"
        return root.message
