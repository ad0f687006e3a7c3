"""Putting post files on disk: atomically, and never outside their channel folder."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from .decide import folder_name
from .exceptions import NewsmirrorError

_TEMP_PREFIX = ".newsmirror-"
_counter = itertools.count()


class UnsafePath(NewsmirrorError):
    """A computed path would leave its channel folder."""


def channel_folder(posts_dir: Path, group: str, site: str, channel: str) -> Path:
    return posts_dir / folder_name(group) / folder_name(site) / folder_name(channel)


def post_path(folder: Path, name: str) -> Path:
    """``folder/name``, refusing any name that is not one plain component."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise UnsafePath(f"refusing file name {name!r}")
    path = folder / name
    if path.parent != folder:
        raise UnsafePath(f"refusing file name {name!r}")
    return path


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write via a temp file in the same folder and a rename: readers see old or new, never half.

    The folder must exist (callers create a channel's folder once, not once per post).
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    # A name no other process uses (pid) nor this one reuses (counter); O_EXCL makes sure.
    temp = path.parent / f"{_TEMP_PREFIX}{os.getpid()}-{next(_counter)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def remove_post(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def remove_stale_temp_files(folder: Path) -> int:
    """Temp files a killed run left behind (they are never read; this only tidies)."""
    removed = 0
    if not folder.is_dir():
        return 0
    for temp in folder.rglob(_TEMP_PREFIX + "*.tmp"):
        try:
            temp.unlink()
            removed += 1
        except OSError:
            pass
    return removed
