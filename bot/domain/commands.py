"""Parsing the text after `/align` into a subcommand, with a did-you-mean for typos."""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    name: str
    admin_only: bool


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("help", admin_only=False),
    Subcommand("status", admin_only=False),
    Subcommand("language", admin_only=False),
    Subcommand("department", admin_only=False),
    Subcommand("away", admin_only=False),
    Subcommand("holidays", admin_only=False),
    Subcommand("forget-me", admin_only=False),
    Subcommand("setup", admin_only=True),
    Subcommand("pulse", admin_only=True),
    Subcommand("questions", admin_only=True),
    Subcommand("meeting", admin_only=True),
    Subcommand("digest", admin_only=True),
    Subcommand("export", admin_only=True),
    Subcommand("pipeline", admin_only=True),
)
_BY_NAME = {subcommand.name: subcommand for subcommand in SUBCOMMANDS}


@dataclass(frozen=True)
class ParsedCommand:
    """What the person typed. `subcommand` is None when the word is not one we know."""

    subcommand: Subcommand | None
    args: tuple[str, ...]
    typed: str = ""
    suggestion: str | None = None


def parse(text: str) -> ParsedCommand:
    """`/align` alone means help; quoting works as in a shell, and a stray quote is tolerated."""
    try:
        words = shlex.split(text or "")
    except ValueError:
        words = (text or "").split()
    if not words:
        return ParsedCommand(_BY_NAME["help"], ())
    typed = words[0].lower()
    subcommand = _BY_NAME.get(typed)
    if subcommand is not None:
        return ParsedCommand(subcommand, tuple(words[1:]), typed)
    close = difflib.get_close_matches(typed, list(_BY_NAME), n=1, cutoff=0.6)
    return ParsedCommand(None, tuple(words[1:]), typed, close[0] if close else None)


def available_to(is_admin: bool) -> tuple[Subcommand, ...]:
    return tuple(s for s in SUBCOMMANDS if is_admin or not s.admin_only)
