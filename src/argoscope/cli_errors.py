"""One error shape for every `argoscope` command: `argoscope <command>: <what>`, exit 2.

Every command's bad input ends the same way: one line on stderr naming the command (with its
sub-command: `argoscope check drift: ...`) and what was wrong and where, exit status 2, and no
traceback. A misspelled option prints the usage of the sub-command it was given to, not the
top-level one. Handlers raise `CommandError` (or let an input error below bubble up: a file
that cannot be read, a directory where a file is expected, a port in use, malformed JSON or
YAML); `argoscope.cli.main` turns each into that line here. Anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn

INPUT_ERROR = 2


class CommandError(Exception):
    """Bad input to a command; its message says what and where."""


class Parser(argparse.ArgumentParser):
    """argparse with the shared error shape: the failing (sub-)command's usage, then
    `<prog>: <what>` and exit 2. Sub-parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        """Print this parser's usage and `<prog>: <message>`; exit 2."""
        self.print_usage(sys.stderr)
        self.exit(INPUT_ERROR, f"{self.prog}: {one_line(message)}\n")


def one_line(text: str) -> str:
    """`text` with every run of whitespace (line breaks included) as one space."""
    return " ".join(str(text).split())


def deepest(parser: argparse.ArgumentParser,
            args: argparse.Namespace) -> argparse.ArgumentParser:
    """The sub-command parser `args` was parsed by (`argoscope check drift`'s, say)."""
    while True:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = getattr(args, action.dest, None)
                if isinstance(chosen, str) and chosen in action.choices:
                    parser = action.choices[chosen]
                    break
        else:
            return parser


def describe(error: BaseException) -> str | None:
    """The one-line message of an input error, or None for an error that is a bug."""
    if isinstance(error, OSError):
        where = " -> ".join(str(name) for name in (error.filename, error.filename2)
                            if name is not None)
        reason = error.strerror or str(error)
        return one_line(f"{where}: {reason}" if where else reason)
    if isinstance(error, (CommandError, json.JSONDecodeError, UnicodeDecodeError,
                          RecursionError)):
        return one_line(str(error) or type(error).__name__)
    for module, name in (("argoscope.yamlsafe", "YamlRefused"),
                         ("argoscope.checks.results", "CheckInputError"),
                         ("yaml", "YAMLError")):
        loaded = sys.modules.get(module)  # only what the command imported can have raised
        kind = getattr(loaded, name, None)
        if isinstance(kind, type) and isinstance(error, kind):
            return one_line(str(error))
    return None


def report(command: str, what: object) -> int:
    """Print `<command>: <what>` (command as `argoscope check drift`) on one line; return 2."""
    print(f"{command}: {one_line(str(what))}", file=sys.stderr)
    return INPUT_ERROR
