"""How counts read in what the user sees: "1 page", "2 pages"."""

from __future__ import annotations


def plural(count: int, word: str) -> str:
    """``count`` and ``word``, with an s unless there is exactly one (regular nouns only)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
