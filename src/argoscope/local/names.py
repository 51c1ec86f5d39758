"""Names and paths the local runner accepts: Argo's rules for names, the state directory as a
boundary for paths, and text from steps made safe to print on a terminal.

A run's name becomes file and directory names under the state directory
(`workflows/<name>.json`, `runs/<name>/`), so it must be what Kubernetes and Argo accept: a
DNS-1123 subdomain (lowercase letters, digits, `-` and `.`, starting and ending with a letter
or digit) of at most 63 characters (Argo's limit for a Workflow's name). A name such as
`../x`, `/tmp/x` or `a"b` is refused before anything is written. Every path the runner writes
is checked once more against the state directory (`inside`), so no other rule can let one out.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

# Kubernetes' DNS-1123 subdomain (k8s.io/apimachinery validation.IsDNS1123Subdomain).
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# Argo refuses a Workflow whose name is longer (it becomes a label value).
MAX_WORKFLOW_NAME = 63
MAX_NAMESPACE = 63
# C0 and C1 control characters and DEL; newline and tab are kept where lines are printed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def workflow_name_problem(name: str) -> str | None:
    """Why `name` is not a valid Workflow name, or None when it is."""
    if not name:
        return "a Workflow name must not be empty"
    if len(name) > MAX_WORKFLOW_NAME:
        return (f"Workflow name {printable(name)!r} is {len(name)} characters; Argo allows at "
                f"most {MAX_WORKFLOW_NAME}")
    if not _DNS1123_SUBDOMAIN.fullmatch(name):
        return (f"Workflow name {printable(name)!r} is not a DNS-1123 subdomain: lowercase "
                "letters, digits, '-' and '.', starting and ending with a letter or digit")
    return None


def generate_name_problem(prefix: str) -> str | None:
    """Why `metadata.generateName` cannot make valid names, or None when it can."""
    # Argo appends 5 characters; the whole must be a valid name.
    return workflow_name_problem(prefix + "xxxxx")


def namespace_problem(namespace: str) -> str | None:
    """Why `namespace` is not a valid namespace (a DNS-1123 label), or None."""
    if not namespace or len(namespace) > MAX_NAMESPACE or not _DNS1123_LABEL.fullmatch(namespace):
        return (f"namespace {printable(namespace)!r} is not a DNS-1123 label: at most "
                f"{MAX_NAMESPACE} lowercase letters, digits and '-', starting and ending with "
                "a letter or digit")
    return None


class OutsideStateDir(ValueError):
    """A path the runner was about to write lies outside its state directory."""


def inside(base: Path, path: Path) -> Path:
    """`path`, resolved, when it lies within `base` (resolved); OutsideStateDir otherwise.

    Resolution follows symbolic links, so a link inside the state directory that points out
    of it is refused as well.
    """
    root = base.resolve()
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise OutsideStateDir(f"{printable(str(path))} is outside the state directory {root}")
    return resolved


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with control characters (terminal escape sequences included) shown as `\\xNN`,
    so step output printed on a terminal cannot move the cursor, recolour or retitle it.
    Newlines and tabs stay when `keep_newlines` (log text printed line by line)."""
    pattern = _CONTROL if keep_newlines else _CONTROL_ALL
    return pattern.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


# The most of a value a message quotes: an expression or a pattern can hold a step's output.
MAX_QUOTED = 200


def quoted(text: str, limit: int = MAX_QUOTED) -> str:
    """`text` quoted for a message (as `repr`), its first `limit` characters when longer and
    how long it was, so a message about a 256 kB value stays a line."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def clipped(text: str, limit: int = MAX_QUOTED) -> str:
    """`text` as it is, or its first `limit` characters and how long it was."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def command() -> str:
    """How to run argoscope from the shell a person is in, for the commands a summary
    suggests: `argoscope` when that name on PATH is this installation, else this
    environment's own script (`.venv/bin/argoscope` in a checkout after `make demo`), else
    `python -m argoscope.cli` with this interpreter; quoted for a shell."""
    script = Path(sys.executable).parent / "argoscope"
    found = shutil.which("argoscope")
    if found and (not script.is_file() or Path(found).resolve() == script.resolve()):
        return "argoscope"
    if script.is_file():
        try:
            return shlex.quote(str(script.absolute().relative_to(Path.cwd())))
        except ValueError:
            return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m argoscope.cli"
