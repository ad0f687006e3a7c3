"""The state database (SQLite, WAL): per-feed HTTP state and health, per-item identity and files.

Everything else talks to the database through :class:`Store`'s methods; the schema and its
migrations live here only, keyed on ``PRAGMA user_version``.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .decide import Known
from .exceptions import LockedError, StorageError
from .types import HTTPValidators, reduce_by_slots

# Each migration takes the schema from version i to i + 1.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE feeds (
        channel        TEXT PRIMARY KEY,   -- group/site/channel
        url            TEXT NOT NULL,
        etag           TEXT,
        last_modified  TEXT,
        settings_hash  TEXT,               -- validators only count for the same url and settings
        last_attempt   REAL,
        last_ok        REAL,
        last_error_at  REAL,
        last_error     TEXT,
        failures       INTEGER NOT NULL DEFAULT 0,
        retry_after    REAL
    );
    CREATE TABLE items (
        channel        TEXT NOT NULL,
        identity       TEXT NOT NULL,
        file           TEXT NOT NULL,      -- file name inside the channel folder
        file_key       TEXT NOT NULL,      -- case-folded file name, unique per channel
        content_hash   TEXT NOT NULL,
        picsum         INTEGER NOT NULL,
        first_seen     REAL NOT NULL,
        last_seen      REAL NOT NULL,
        title          TEXT NOT NULL,
        link           TEXT,
        PRIMARY KEY (channel, identity),
        UNIQUE (channel, file_key)
    );
    """,
    # 2: when a feed last brought a new item, for the "no new item for N days" health flag.
    """
    ALTER TABLE feeds ADD COLUMN last_new REAL;
    UPDATE feeds SET last_new = (SELECT MAX(first_seen) FROM items WHERE items.channel = feeds.channel);
    """,
    # 3: what the schedule needs besides the last attempt and the failures in a row: how long
    # the server said the last response stays fresh, and the feed's own <ttl> (seconds).
    """
    ALTER TABLE feeds ADD COLUMN fresh_for REAL;
    ALTER TABLE feeds ADD COLUMN ttl REAL;
    """,
    # 4: the item's own author, which the site shows (the post has the channel's, as the
    # reference wrote it), and its date, by which [output] max_age removes old posts.
    """
    ALTER TABLE items ADD COLUMN author TEXT NOT NULL DEFAULT '';
    ALTER TABLE items ADD COLUMN published REAL;
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)


@dataclass(frozen=True, slots=True)
class FeedState:
    channel: str
    url: str
    validators: HTTPValidators
    settings_hash: str | None
    last_attempt: float | None
    last_ok: float | None
    last_error_at: float | None
    last_error: str | None
    failures: int
    retry_after: float | None
    last_new: float | None = None
    items: int = 0
    fresh_for: float | None = None  # the last response's lifetime (Cache-Control / Expires)
    ttl: float | None = None        # the feed's <ttl>, in seconds


@dataclass(frozen=True, slots=True)
class ItemRecord:
    identity: str
    file: str
    content_hash: str
    picsum: int
    first_seen: float
    last_seen: float
    title: str
    link: str | None
    author: str = ""
    published: float | None = None   # the item's own date, if it has one

    @property
    def dated(self) -> float:
        """When the item is from, for its age: its own date, else when it was first seen."""
        return self.first_seen if self.published is None else min(self.published, self.first_seen)

    __reduce__ = reduce_by_slots


_HELD_LOCKS: set[int] = set()   # file descriptors of the RunLocks this process holds


def _drop_locks_in_child() -> None:
    # A forked worker must not keep its copy of the run's lock: after the run is killed, the
    # lock would stay taken until the worker is gone too. (Closing a copy leaves the parent's
    # lock as it is; flock(LOCK_UN) would not.)
    for fd in _HELD_LOCKS:
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_drop_locks_in_child)


class RunLock:
    """An exclusive lock beside the database, held for a whole run.

    ``flock`` locks vanish with the process that held them, so a run killed with SIGKILL leaves
    no stale lock behind. The file holds the holder's pid while a run is on and is emptied when
    it ends well: a pid found there at the start means the last run was killed or interrupted
    (:attr:`previous_run_interrupted`), and its temp files may be lying around. Used as a
    context manager, a run that ends with an exception (Ctrl-C included) leaves its pid.
    """

    def __init__(self, db_path: Path, *, started: float | None = None) -> None:
        self.path = db_path.with_name(db_path.name + ".lock")
        self._fd: int | None = None
        self.previous_run_interrupted = False
        self.started = started   # a run's clock at its start, for `status` to read

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(f"{self.path}: another newsmirror run is using this state") from None
        self._fd = fd
        _HELD_LOCKS.add(fd)
        self.previous_run_interrupted = bool(os.pread(fd, 32, 0).strip())
        os.ftruncate(fd, 0)
        started = "" if self.started is None else f" {self.started!r}"
        os.pwrite(fd, f"{os.getpid()}{started}\n".encode(), 0)

    def release(self, *, ended_well: bool = True) -> None:
        if self._fd is not None:
            _HELD_LOCKS.discard(self._fd)
            if ended_well:
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.release(ended_well=exc_type is None)


def run_in_progress(db_path: Path) -> tuple[int, float | None] | None:
    """(pid, its clock at the start) of the run holding the lock, if one does. Read from the
    lock file, whose pid is checked to be alive, rather than by trying the lock: a status
    must never make a run that starts at that moment fail to get it."""
    try:
        text = db_path.with_name(db_path.name + ".lock").read_text(encoding="ascii").split()
        pid = int(text[0])
        started = float(text[1]) if len(text) > 1 else None
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # left by a run that was killed
    except PermissionError:
        pass  # alive, another user's
    return pid, started


class Store:
    """SQLite state. Not thread-safe: one run uses it from one thread."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self._in_transaction = False
        self._last_commit = time.monotonic()
        try:
            if read_only:
                if not path.exists():
                    raise StorageError(f"{path}: no state yet (run 'newsmirror run' first)")
                self._db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            elif str(path) == ":memory:":
                self._db = sqlite3.connect(":memory:")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate(read_only)
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{path}: cannot open state database: {exc}") from None

    @classmethod
    def for_dry_run(cls, path: Path) -> "Store":
        """The state read-only if it exists, else an empty one in memory: a dry run writes nothing."""
        if path.exists():
            return cls(path, read_only=True)
        return cls(Path(":memory:"))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One commit for everything inside; nested uses join the outer transaction."""
        if self._in_transaction:
            yield
            return
        self._in_transaction = True
        try:
            with self._db:
                yield
        finally:
            self._in_transaction = False

    def checkpoint(self, every: float = 1.0) -> None:
        """Inside a long transaction: commit what is done if ``every`` seconds have passed.

        A run records each channel as it finishes, inside one transaction committed about once
        a second rather than once per channel (a commit costs more than a channel's records).
        """
        now = time.monotonic()
        if self._in_transaction and now - self._last_commit >= every:
            self._db.commit()
            self._last_commit = now

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self, read_only: bool) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path}: state schema {version} is newer than this newsmirror ({SCHEMA_VERSION})"
            )
        if version == SCHEMA_VERSION:
            return
        if read_only:
            raise StorageError(f"{self.path}: state needs an upgrade; run 'newsmirror run' once")
        with self._db:  # migrations: always their own transaction
            for number in range(version, SCHEMA_VERSION):
                self._db.executescript(_MIGRATIONS[number])
                self._db.execute(f"PRAGMA user_version = {number + 1}")

    # ------------------------------------------------------------------------- feeds

    def feed_state(self, channel: str) -> FeedState | None:
        row = self._db.execute(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE channel = ?",
            (channel,),
        ).fetchone()
        return None if row is None else _feed_state(row)

    def feed_states(self) -> list[FeedState]:
        rows = self._db.execute(
            f"SELECT {_FEED_COLUMNS},"
            " (SELECT COUNT(*) FROM items i WHERE i.channel = feeds.channel) AS items"
            " FROM feeds ORDER BY channel"
        ).fetchall()
        return [_feed_state(row[:-1], items=row[-1]) for row in rows]

    def _upsert_feed(self, channel: str, url: str, **fields: object) -> None:
        names = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        updates = ", ".join(f"{name} = excluded.{name}" for name in fields)
        self._db.execute(
            f"INSERT INTO feeds (channel, url, {names}) VALUES (?, ?, {marks})"
            f" ON CONFLICT(channel) DO UPDATE SET url = excluded.url, {updates}",
            (channel, url, *fields.values()),
        )

    def record_fetch_ok(self, channel: str, url: str, validators: HTTPValidators,
                        settings_hash: str, now: float, new_items: int = 0,
                        fresh_for: float | None = None, ttl: float | None = None) -> None:
        fields: dict[str, object] = dict(
            etag=validators.etag, last_modified=validators.last_modified,
            settings_hash=settings_hash, last_attempt=now, last_ok=now, failures=0,
            retry_after=None, fresh_for=fresh_for, ttl=ttl)
        if new_items:
            fields["last_new"] = now
        with self.transaction():
            self._upsert_feed(channel, url, **fields)

    def record_not_modified(self, channel: str, url: str, now: float,
                            fresh_for: float | None = None) -> None:
        """A 304: the feed's <ttl> stays as the last full response gave it."""
        with self.transaction():
            self._upsert_feed(channel, url, last_attempt=now, last_ok=now, failures=0,
                              retry_after=None, fresh_for=fresh_for)

    def record_failure(self, channel: str, url: str, message: str, now: float,
                       retry_after: float | None = None) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO feeds (channel, url, last_attempt, last_error_at, last_error,"
                " failures, retry_after) VALUES (?, ?, ?, ?, ?, 1, ?)"
                " ON CONFLICT(channel) DO UPDATE SET url = excluded.url,"
                " last_attempt = excluded.last_attempt, last_error_at = excluded.last_error_at,"
                " last_error = excluded.last_error, failures = feeds.failures + 1,"
                " retry_after = excluded.retry_after",
                (channel, url, now, now, message, retry_after),
            )

    # ------------------------------------------------------------------------- items

    def known_items(self, channel: str) -> dict[str, ItemRecord]:
        rows = self._db.execute(
            "SELECT identity, file, content_hash, picsum, first_seen, last_seen, title, link, author,"
            " published FROM items WHERE channel = ?",
            (channel,),
        )
        return {row[0]: ItemRecord(*row) for row in rows}

    def content_hashes(self) -> dict[str, list[tuple[str, str]]]:
        """Per channel, (identity, content hash) of each of its items, in one query: what the
        site's build needs to tell which articles it has already read."""
        hashes: dict[str, list[tuple[str, str]]] = {}
        for channel, identity, content_hash in self._db.execute(
                "SELECT channel, identity, content_hash FROM items"):
            hashes.setdefault(channel, []).append((identity, content_hash))
        return hashes

    def owned_files(self) -> dict[str, set[str]]:
        """Per channel, the case-folded names of the post files its items own."""
        owned: dict[str, set[str]] = {}
        for channel, file_key in self._db.execute("SELECT channel, file_key FROM items"):
            owned.setdefault(channel, set()).add(file_key)
        return owned

    def record_items(self, channel: str, items: Iterable[ItemRecord]) -> None:
        """Record items whose files are in place (or unchanged), in one transaction."""
        with self.transaction():
            self._db.executemany(
                "INSERT INTO items (channel, identity, file, file_key, content_hash, picsum,"
                " first_seen, last_seen, title, link, author, published)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(channel, identity) DO UPDATE SET file = excluded.file,"
                " file_key = excluded.file_key, content_hash = excluded.content_hash,"
                " last_seen = excluded.last_seen, title = excluded.title, link = excluded.link,"
                " author = excluded.author, published = excluded.published",
                [(channel, i.identity, i.file, i.file.casefold(), i.content_hash, i.picsum,
                  i.first_seen, i.last_seen, i.title, i.link, i.author, i.published) for i in items],
            )

    def rename_channel(self, old: str, new: str) -> None:
        """The channel's state and items under its new key (its levels changed)."""
        with self.transaction():
            self._db.execute("UPDATE feeds SET channel = ? WHERE channel = ?", (new, old))
            self._db.execute("UPDATE items SET channel = ? WHERE channel = ?", (new, old))

    def forget_channel(self, channel: str) -> None:
        """The channel's state and items, gone (it left the config and its posts are removed)."""
        with self.transaction():
            self._db.execute("DELETE FROM items WHERE channel = ?", (channel,))
            self._db.execute("DELETE FROM feeds WHERE channel = ?", (channel,))

    def forget_items(self, channel: str, identities: Iterable[str]) -> None:
        with self.transaction():
            self._db.executemany("DELETE FROM items WHERE channel = ? AND identity = ?",
                                 [(channel, identity) for identity in identities])


def known_of(record: ItemRecord) -> Known:
    return Known(file=record.file, content_hash=record.content_hash, picsum=record.picsum,
                 first_seen=record.first_seen)


_FEED_COLUMNS = ("channel, url, etag, last_modified, settings_hash, last_attempt, last_ok,"
                 " last_error_at, last_error, failures, retry_after, last_new, fresh_for, ttl")


def _feed_state(row: tuple, items: int = 0) -> FeedState:
    return FeedState(
        channel=row[0], url=row[1], validators=HTTPValidators(row[2], row[3]),
        settings_hash=row[4], last_attempt=row[5], last_ok=row[6], last_error_at=row[7],
        last_error=row[8], failures=row[9], retry_after=row[10], last_new=row[11], items=items,
        fresh_for=row[12], ttl=row[13],
    )
