"""Putting post files on disk: atomically, and never outside their channel folder."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Iterable, Self

from .decide import folder_name
from .exceptions import NewsmirrorError

_TEMP_PREFIX = ".newsmirror-"
_counter = itertools.count()


class UnsafePath(NewsmirrorError):
    """A computed path would leave its channel folder."""


def channel_folder(posts_dir: Path, group: str, site: str, channel: str) -> Path:
    return posts_dir / folder_name(group) / folder_name(site) / folder_name(channel)


def write_atomic(path: Path, text: str | bytes | Iterable[bytes]) -> None:
    """Write via a temp file in the same folder and a rename: readers see old or new, never half.
    Pieces of bytes are written as they come (a large file need not be held whole).

    The folder must exist. For many files in one folder (a channel's posts), open a
    :class:`Folder` once instead.
    """
    with Folder(path.parent, create=False) as folder:
        folder.write(path.name, text.encode("utf-8") if isinstance(text, str) else text)


class Folder:
    """A folder opened once (a channel's posts): files are written, tested and removed relative
    to it. The kernel then resolves one short name per call instead of the whole path (three
    times per atomic write): a fifth less CPU for each new post. ``with Folder(path):``.

    Without ``create`` a folder that does not exist is read as empty, and nothing is written.
    """

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        self._fd: int | None = None
        if create:
            path.mkdir(parents=True, exist_ok=True)
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            if create:
                raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def exists(self, name: str) -> bool:
        _check_name(name)
        if self._fd is None:
            return False
        try:
            os.stat(name, dir_fd=self._fd)
        except FileNotFoundError:
            return False
        return True

    def write(self, name: str, data: bytes | Iterable[bytes]) -> None:
        """Via a temp file and a rename: readers see the old file or the new, never half."""
        _check_name(name)
        if self._fd is None:
            raise FileNotFoundError(2, "No such file or directory", str(self.path))
        # A name no other process uses (pid) nor this one reuses (counter); O_EXCL makes sure.
        temp = f"{_TEMP_PREFIX}{os.getpid()}-{next(_counter)}.tmp"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644,
                         dir_fd=self._fd)
            try:
                write_and_close(fd, data)
                os.replace(temp, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
            except BaseException:
                try:
                    os.unlink(temp, dir_fd=self._fd)
                except FileNotFoundError:
                    pass
                raise
        except OSError as exc:  # name the file, not the bare temp name
            exc.filename = str(self.path / name)
            raise

    def post_names(self) -> list[str]:
        """The post files in the folder (``*.md``; not temp files, not folders)."""
        if self._fd is None:
            return []
        names = []
        with os.scandir(self._fd) as entries:
            for entry in entries:
                if entry.name.endswith(".md") and not entry.name.startswith(_TEMP_PREFIX) \
                        and entry.is_file(follow_symlinks=False):
                    names.append(entry.name)
        return names

    def read(self, name: str) -> bytes:
        _check_name(name)
        if self._fd is None:
            raise FileNotFoundError(2, "No such file or directory", str(self.path / name))
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=self._fd)
        with os.fdopen(fd, "rb") as file:
            return file.read()

    def modified(self, name: str) -> float:
        _check_name(name)
        return os.stat(name, dir_fd=self._fd).st_mtime if self._fd is not None else 0.0

    def remove(self, name: str) -> None:
        _check_name(name)
        if self._fd is None:
            return
        try:
            os.unlink(name, dir_fd=self._fd)
        except FileNotFoundError:
            pass


class NameClash(NewsmirrorError):
    """A post cannot move to a folder that already has a file of its name."""


def move_posts(source: Path, target: Path, names: list[str]) -> int:
    """Move a channel's post files to its new folder, each by a rename (atomic, never a copy);
    returns how many are in the new folder. A file already there and gone from the old one
    was moved by an earlier, interrupted attempt. Raises NameClash before moving anything if
    the new folder has another file of a post's name."""
    for name in names:
        _check_name(name)
        if (source / name).exists() and (target / name).exists():
            raise NameClash(f"{target / name} already exists")
    target.mkdir(parents=True, exist_ok=True)
    moved = 0
    for name in names:
        try:
            os.rename(source / name, target / name)
        except FileNotFoundError:
            if not (target / name).exists():
                continue  # gone from both: the post was deleted by hand
        moved += 1
    remove_empty_folders(source, stop=source.parent.parent.parent)
    return moved


def remove_empty_folders(folder: Path, stop: Path) -> None:
    """``folder`` and its parents up to (not including) ``stop``, as long as they are empty."""
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty, or gone
            return
        folder = folder.parent


def write_and_close(fd: int, data: bytes | Iterable[bytes]) -> None:
    """All of ``data`` (or of each of its pieces) to an open file descriptor (os.write may
    write less), which it closes."""
    try:
        for piece in (data,) if isinstance(data, bytes) else data:
            view = memoryview(piece)
            while view:
                view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _check_name(name: str) -> None:
    """Only one plain component: nothing the folder's fd could be led out of it by."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise UnsafePath(f"refusing file name {name!r}")


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
