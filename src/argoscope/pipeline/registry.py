"""A versioned model registry in a directory, with rollback.

Layout::

    REGISTRY/versions/v0001/model.pkl
    REGISTRY/versions/v0001/metadata.json   data hash, parameters, metrics, code version
    REGISTRY/registry.json                  {"current": "v0002", "history": ["v0001", "v0002"]}

`history` is the order versions went live; rollback drops the current one from it and makes
the one before it current again (its files stay, so a rollback can itself be undone by
deploying again).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argoscope.pipeline import storage

INDEX = "registry.json"
_VERSION = re.compile(r"v(\d{4,})")


class RegistryError(Exception):
    """The registry cannot do what was asked (named in the message)."""


@dataclass
class Registry:
    """The registry rooted at `root`."""

    root: Path

    def index(self) -> dict[str, Any]:
        """`{"current": version or None, "history": [...]}`."""
        path = self.root / INDEX
        if not path.exists():
            return {"current": None, "history": []}
        index = storage.read_json(path)
        if not isinstance(index, dict) or not isinstance(index.get("history"), list):
            raise RegistryError(f"{path}: not a registry index")
        return index

    @property
    def current(self) -> str | None:
        """The live version's name, or None when nothing was deployed."""
        current = self.index().get("current")
        return str(current) if current else None

    def versions(self) -> list[str]:
        """Every stored version, oldest first."""
        folder = self.root / "versions"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if _VERSION.fullmatch(p.name))

    def metadata(self, version: str) -> dict[str, Any]:
        """A version's metadata document."""
        result = storage.read_json(self.root / "versions" / version / "metadata.json")
        return dict(result)

    def deploy(self, model_file: Path, metadata: dict[str, Any]) -> str:
        """Store the model as the next version and make it current; returns its name."""
        existing = [int(m.group(1)) for v in self.versions() if (m := _VERSION.fullmatch(v))]
        version = f"v{(max(existing) + 1) if existing else 1:04d}"
        folder = self.root / "versions" / version
        staging = folder.with_name(version + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copy2(model_file, staging / "model.pkl")
        storage.write_json({**metadata, "version": version}, staging / "metadata.json")
        staging.rename(folder)  # a version appears whole or not at all
        index = self.index()
        storage.write_json({"current": version, "history": [*index["history"], version]},
                           self.root / INDEX)
        return version

    def rollback(self) -> str:
        """Make the previously live version current again; returns its name."""
        if not self.root.is_dir():
            raise RegistryError(f"{self.root}: no such directory (is --registry-dir the "
                                "registry the deployment step writes?)")
        index = self.index()
        history = list(index["history"])
        if len(history) < 2:
            raise RegistryError(f"{self.root}: no previous version to roll back to "
                                f"(history: {', '.join(history) or 'empty'})")
        history.pop()
        storage.write_json({"current": history[-1], "history": history}, self.root / INDEX)
        return str(history[-1])
