"""Static checks of the Dockerfiles (no Docker engine here): multi-stage, pinned bases,
non-root, no build tools in the final stage, and the image names the manifests use."""

from __future__ import annotations

import fnmatch
import importlib.util
import io
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from argoscope import __version__
from argoscope.cli import build_parser
from tests.manifests.kustomize import (
    EXPORTER_IMAGE,
    MANIFESTS,
    PIPELINE_IMAGE,
    REPO,
    exporter_container,
    one,
)

DOCKERFILES = {"Dockerfile": EXPORTER_IMAGE, "Dockerfile.pipeline": PIPELINE_IMAGE}
# A full version tag (3.11.13-slim-bookworm), optionally with a digest; never `latest`.
PINNED_BASE = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$")

Instruction = dict[str, Any]


def parse(path: Path) -> DockerfileParser:
    """The parsed Dockerfile (from an open file: a path not named `Dockerfile` would be
    taken for a directory)."""
    return DockerfileParser(fileobj=io.BytesIO(path.read_bytes()))


def stages(path: Path) -> list[list[Instruction]]:
    """The Dockerfile's instructions, one list per stage (each starting with FROM)."""
    result: list[list[Instruction]] = []
    for instruction in parse(path).structure:
        if instruction["instruction"] == "FROM":
            result.append([])
        if result and instruction["instruction"] != "COMMENT":
            result[-1].append(instruction)
    return result


def values(stage: list[Instruction], name: str) -> list[str]:
    return [str(i["value"]) for i in stage if i["instruction"] == name]


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_dockerfile_is_multi_stage_with_pinned_bases(name: str) -> None:
    all_stages = stages(REPO / name)
    assert len(all_stages) >= 2, "build and final stages"
    for stage in all_stages:
        base = values(stage, "FROM")[0].split()[0]
        assert PINNED_BASE.match(base), f"{name}: base {base} is not pinned to a full version"


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_final_stage_is_non_root_and_has_no_build_tools(name: str) -> None:
    *build_stages, final = stages(REPO / name)
    [user] = values(final, "USER")
    uid = user.split(":")[0]
    assert uid not in ("", "0", "root"), f"{name}: final stage runs as {user}"
    assert uid.isdigit(), "numeric, so that runAsNonRoot can verify it"
    # The final stage runs nothing (so installs nothing): it only copies the build's output.
    assert not values(final, "RUN"), f"{name}: final stage runs commands"
    for stage in build_stages:
        assert values(stage, "RUN"), "the build stage does the installing"
    build_names = {values(s, "FROM")[0].split()[-1] for s in build_stages}
    copies = [shlex.split(c) for c in values(final, "COPY")]
    assert copies and all(c[0].removeprefix("--from=") in build_names for c in copies), (
        f"{name}: the final stage should only copy what the build stage made")


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_image_labels_name_the_image_the_manifests_use(name: str) -> None:
    labels = parse(REPO / name).labels
    image = f"ghcr.io/argoscope/{labels['org.opencontainers.image.title']}:" \
            f"{labels['org.opencontainers.image.version']}"
    assert image == DOCKERFILES[name]
    assert labels["org.opencontainers.image.version"] == __version__


@pytest.mark.parametrize("name", sorted(DOCKERFILES))
def test_installed_extras_exist_in_pyproject(name: str) -> None:
    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
                 ["optional-dependencies"])
    build_runs = " ".join(values(stages(REPO / name)[0], "RUN"))
    requested = re.findall(r'"/src\[([\w,]+)\]"', build_runs)
    assert requested, f"{name}: no `pip install \"/src[...]\"` in the build stage"
    for group in requested:
        assert set(group.split(",")) <= extras


def test_exporter_image_runs_as_the_deployment_user_with_a_valid_default_command(
        builds: dict[str, list[dict[str, Any]]]) -> None:
    *_, final = stages(REPO / "Dockerfile")
    uid, gid = values(final, "USER")[0].split(":")
    pod = one(builds["base"], "Deployment")["spec"]["template"]["spec"]["securityContext"]
    assert (pod["runAsUser"], pod["runAsGroup"]) == (int(uid), int(gid))
    assert json.loads(values(final, "ENTRYPOINT")[0]) == ["argoscope"]
    default = build_parser().parse_args(json.loads(values(final, "CMD")[0]))
    assert default.command == "exporter"
    exposed = {int(p) for p in values(final, "EXPOSE")}
    assert exposed == {p["containerPort"] for p in exporter_container(builds["base"])["ports"]}


def test_dockerignore_sends_what_the_dockerfiles_copy_and_nothing_else() -> None:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:
        # The last matching pattern wins, as in Docker's own matcher.
        result = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            pattern = pattern.removeprefix("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                result = not negate
        return result

    for name in DOCKERFILES:
        for stage in stages(REPO / name):
            for copy in values(stage, "COPY"):
                *sources, _ = shlex.split(copy)
                if sources[0].startswith("--from="):
                    continue
                for source in sources:
                    assert (REPO / source).exists(), f"{name} copies missing {source}"
                    assert not ignored(source), f".dockerignore drops {source}"
    for private in (".venv", ".git", "tests", "bench"):
        assert ignored(private), f".dockerignore sends {private}"


def images_in(node: Any) -> set[str]:
    """Every `image:` value anywhere in a manifest (containers, templates, scripts)."""
    if isinstance(node, dict):
        found = {node["image"]} if isinstance(node.get("image"), str) else set()
        return found.union(*(images_in(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(images_in(item) for item in node))
    return set()


def test_reference_pipeline_uses_the_pipeline_image() -> None:
    images: set[str] = set()
    for path in sorted((MANIFESTS / "pipeline").rglob("*.y*ml")):
        for document in yaml.safe_load_all(path.read_text()):
            images |= images_in(document)
    ours = {image for image in images if "argoscope" in image}
    assert ours == {PIPELINE_IMAGE}, f"manifests/pipeline images: {sorted(images)}"


def containers_in(node: Any) -> list[dict[str, Any]]:
    """Every mapping with an `image` (containers, scripts) anywhere in a manifest."""
    if isinstance(node, dict):
        found = [node] if isinstance(node.get("image"), str) else []
        return found + [c for value in node.values() for c in containers_in(value)]
    if isinstance(node, list):
        return [c for item in node for c in containers_in(item)]
    return []


def test_pipeline_step_commands_exist_in_the_pipeline_image() -> None:
    # The image's PATH starts with its virtualenv: `python -m MODULE` must name a module of
    # the package with a __main__, and a bare command must be the `argoscope` entry point.
    commands = []
    for path in sorted((MANIFESTS / "pipeline").rglob("*.y*ml")):
        for document in yaml.safe_load_all(path.read_text()):
            commands += [c.get("command") for c in containers_in(document)
                         if c["image"] == PIPELINE_IMAGE]
    assert commands
    for command in commands:
        if command is None:
            continue  # the image's ENTRYPOINT, `argoscope`
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(f"{command[2]}.__main__") is not None, command
        else:
            assert command[0] == "argoscope", command
