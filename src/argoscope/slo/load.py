"""Reading SPEC files: YAML documents in either form, into one list of Objectives.

A file may hold several YAML documents (`---`): argoscope short-form documents (`slos:`) and
OpenSLO v1 `kind: SLO` documents, in any mix. SLO names are unique across all files (each
becomes a rule group and the `slo` label).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from argoscope.slo import openslo, shortform
from argoscope.slo.model import Objective, SpecError


def _yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error)
    return f"not valid YAML{where}: {problem}"


def parse_text(text: str, file: str) -> list[Objective]:
    """Every SLO of one spec file's text; `file` names it in errors."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        raise SpecError(file, "-", "-", _yaml_error(error)) from None
    if not documents:
        raise SpecError(file, "-", "-", "no SLOs: the file is empty")
    objectives: list[Objective] = []
    for document in documents:
        if not isinstance(document, Mapping):
            raise SpecError(file, "-", "-", "each document must be a mapping: `slos:` or an "
                                            "OpenSLO `kind: SLO` object")
        if openslo.is_openslo(document):
            objectives.append(openslo.parse_document(document, file))
        else:
            objectives.extend(shortform.parse_document(document, file))
    return objectives


def load(paths: Iterable[Path | str], root: Path | None = None) -> list[Objective]:
    """Every SLO of the spec files, in file order; SpecError on the first problem.

    Relative paths are read under `root` when given; errors name each file as given.
    """
    objectives: list[Objective] = []
    seen: dict[str, Objective] = {}
    for path in paths:
        file = str(path)
        try:
            text = (Path(path) if root is None else root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise SpecError(file, "-", "-", f"cannot read: {reason}") from None
        for objective in parse_text(text, file):
            if objective.name in seen:
                raise SpecError(file, objective.name, "name",
                                f"already used by an SLO in {seen[objective.name].file}")
            seen[objective.name] = objective
            objectives.append(objective)
    return objectives
