"""Shell completion for bash, zsh and fish through Click's mechanism, answered from gennaker's argparse tree.

``gennaker completion bash`` prints Click's script for the shell. The script calls ``gennaker`` back with
``_GENNAKER_COMPLETE=<shell>_complete`` and the words typed so far (``COMP_WORDS``, ``COMP_CWORD``);
:func:`handle_request` answers with Click's wire format, walking the same parser that runs the commands, so every
command group registered in gennaker/cli.py completes without any work of its own: subcommands with their help,
options, an option's choices, and file names where an argument is a path.

The parser stays argparse (each group's module builds its own part of it; see ``COMMAND_GROUPS`` in
gennaker/cli.py); only Click's scripts and wire format are used, so the shells' side is Click's, tested and
maintained there.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

PROG = "gennaker"
COMPLETE_VAR = "_GENNAKER_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def _shell_class(shell: str) -> Any:
    """Click's ShellComplete for ``shell`` with its completions taken from ``parser``."""
    from click.shell_completion import CompletionItem, get_completion_class

    base = get_completion_class(shell)
    if base is None:
        raise ValueError(f"no completion for shell {shell!r} (one of {', '.join(SHELLS)})")

    class FromArgparse(base):  # type: ignore[misc,valid-type]
        parser: argparse.ArgumentParser

        def get_completions(self, args: list[str], incomplete: str) -> list[Any]:
            return [CompletionItem(value, type=kind, help=text) for value, kind, text in candidates(
                self.parser, args, incomplete)]  # fmt: skip

    return FromArgparse


def _complete(shell: str, parser: argparse.ArgumentParser) -> Any:
    import click

    cls = _shell_class(shell)
    completer = cls(click.Command(PROG), {}, PROG, COMPLETE_VAR)
    completer.parser = parser
    return completer


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script to source in ``shell`` (ValueError for a shell Click does not know)."""
    return str(_complete(shell, parser).source())


def handle_request(parser: argparse.ArgumentParser) -> bool:
    """Answer the shell's request when ``_GENNAKER_COMPLETE`` asks (returns False when it does not).

    ``<shell>_complete`` prints the candidates; ``<shell>_source`` prints the script, as Click's programs do."""
    instruction = os.environ.get(COMPLETE_VAR)
    if not instruction:
        return False
    shell, _, action = instruction.partition("_")
    if shell not in SHELLS or action not in ("complete", "source"):
        return False
    completer = _complete(shell, parser)
    print(completer.complete() if action == "complete" else completer.source())
    return True


# --- walking the parser -------------------------------------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any] | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _option(parser: argparse.ArgumentParser, word: str) -> argparse.Action | None:
    return parser._option_string_actions.get(word.split("=", 1)[0])


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def _positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]


def _value_candidates(action: argparse.Action, incomplete: str) -> list[tuple[str, str, str | None]]:
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        return [(str(c), "plain", None) for c in action.choices if str(c).startswith(incomplete)]
    if action.type is Path or "file" in (action.dest or ""):
        return [(incomplete, "file", None)]
    return []


def candidates(parser: argparse.ArgumentParser, args: list[str], incomplete: str) -> list[tuple[str, str, str | None]]:
    """(value, Click item type, help) for the word being typed after ``args``; "file" lets the shell list files."""
    expecting: argparse.Action | None = None
    positional = 0
    for word in args:
        if expecting is not None:
            expecting = None
            continue
        if word.startswith("-"):
            action = _option(parser, word)
            if action is not None and _takes_value(action) and "=" not in word:
                expecting = action
            continue
        group = _subcommands(parser)
        if group is not None and word in group.choices:
            parser, positional = group.choices[word], 0
            continue
        positional += 1
    if expecting is not None:
        return _value_candidates(expecting, incomplete)
    if incomplete.startswith("-"):
        found: list[tuple[str, str, str | None]] = []
        for action in parser._actions:
            text = None if action.help == argparse.SUPPRESS else action.help
            found += [(o, "plain", text) for o in action.option_strings if o.startswith(incomplete)]
        return found
    group = _subcommands(parser)
    if group is not None:
        helps = {a.dest: a.help for a in group._choices_actions}
        return [(name, "plain", helps.get(name)) for name in group.choices if name.startswith(incomplete)]
    rest = _positionals(parser)[positional:]
    return _value_candidates(rest[0], incomplete) if rest else []
