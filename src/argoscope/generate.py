"""`argoscope generate`: regenerate every committed generated file from code.

Each generator returns {relative path: content}; `--check` reports files that differ instead
of writing them (the golden tests use `outputs()` the same way).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from argoscope.cli_errors import CommandError

Generator = Callable[[], dict[str, str]]


def _metrics_reference() -> dict[str, str]:
    from argoscope.exporter.reference import render

    return {"docs/metrics.md": render()}


def _kubernetes_manifests() -> dict[str, str]:
    from argoscope.manifests import DASHBOARDS_DIR, RULES_DIR, render

    # The dashboard ConfigMaps and the PrometheusRule wrap the dashboards and rule files this
    # same run generates, not the copies on disk, so one run brings both up to date.
    def generated(folder: str, suffix: str, files: dict[str, str]) -> dict[str, str]:
        prefix = folder + "/"
        return {path.removeprefix(prefix): content for path, content in files.items()
                if path.startswith(prefix) and path.endswith(suffix)}

    return render(dashboards=generated(DASHBOARDS_DIR, ".json", _grafana_dashboards()),
                  rules=generated(RULES_DIR, ".yaml", _slo_rules()))


def _grafana_dashboards() -> dict[str, str]:
    from argoscope.dashboards import render

    return render()


def _slo_rules() -> dict[str, str]:
    from argoscope.manifests import REPO_ROOT
    from argoscope.slo import render_shipped

    return render_shipped(REPO_ROOT)


GENERATORS: list[Generator] = [_metrics_reference, _kubernetes_manifests, _grafana_dashboards,
                               _slo_rules]


def outputs() -> dict[str, str]:
    """Every generated file's path (relative to the repository root) and content."""
    result: dict[str, str] = {}
    for generator in GENERATORS:
        result.update(generator())
    return result


def is_checkout(folder: Path) -> bool:
    """Whether `folder` is the root of an argoscope source checkout."""
    pyproject = folder / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return False
    return 'name = "argoscope"' in text and (folder / "src" / "argoscope").is_dir()


def _handler(args: argparse.Namespace) -> int:
    if args.root is None:
        root = Path.cwd()
        # Without a target, only a checkout is written into: elsewhere these files would
        # land, unasked, in whatever directory the command happened to run in.
        if not is_checkout(root):
            print(f"argoscope generate: {root} is not an argoscope checkout (no pyproject.toml "
                  "naming argoscope beside src/argoscope); run it from the repository root, or "
                  "pass --root DIR to write the generated files under DIR", file=sys.stderr)
            return 2
    else:
        root = Path(args.root)
        if root.exists() and not root.is_dir():
            raise CommandError(f"--root {root}: not a directory")
    stale = []
    for relative, content in sorted(outputs().items()):
        path = root / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == content:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            print(f"wrote {relative}")
    if args.check and stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


def register(subparsers: Any) -> None:
    """Add `argoscope generate`."""
    parser = subparsers.add_parser(
        "generate", help="regenerate the committed generated files (metrics reference, ...)",
        description="Regenerate the files committed as generated: docs/metrics.md, "
                    "dashboards/*.json, the SLO rules (alerts/rules/argoscope-slo.yaml, from "
                    "alerts/slo/) and the PrometheusRule and dashboard ConfigMaps under "
                    "manifests/. Run it from the repository root (it refuses elsewhere) or name "
                    "the target with --root.")
    parser.add_argument("--root", default=None, metavar="DIR",
                        help="write under this directory (default: the current directory, "
                             "which must be an argoscope checkout)")
    parser.add_argument("--check", action="store_true",
                        help="only report files that differ; exit 1 if any")
    parser.set_defaults(handler=_handler)
