"""The SQLite state: schema versioning, feed health, item records."""

from __future__ import annotations

import sqlite3

import pytest

from newsmirror.exceptions import StorageError
from newsmirror.store import SCHEMA_VERSION, ItemRecord, Store
from newsmirror.types import HTTPValidators


def test_schema_and_wal(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_refused(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="newer than this newsmirror"):
        Store(path)


def test_not_a_database(tmp_path):
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="cannot open state database"):
        Store(path)


def test_feed_health(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.record_failure("g/s/c", "u", "HTTP 500", 10.0)
        store.record_failure("g/s/c", "u", "timed out", 20.0, retry_after=99.0)
        state = store.feed_state("g/s/c")
        assert (state.failures, state.last_error, state.last_error_at, state.retry_after) == (2, "timed out", 20.0, 99.0)
        store.record_fetch_ok("g/s/c", "u", HTTPValidators('"e"', "lm"), "h", 30.0)
        state = store.feed_state("g/s/c")
        assert (state.failures, state.last_ok, state.retry_after) == (0, 30.0, None)
        assert state.validators == HTTPValidators('"e"', "lm") and state.last_error == "timed out"
        store.record_not_modified("g/s/c", "u", 40.0)
        assert store.feed_state("g/s/c").validators.etag == '"e"'


def test_items(tmp_path):
    with Store(tmp_path / "s.db") as store:
        record = ItemRecord("guid:1", "A.md", "h1", 7, 1.0, 1.0, "A", None)
        store.record_items("c", [record])
        store.record_items("c", [ItemRecord("guid:1", "A.md", "h2", 9, 5.0, 5.0, "A2", "l")])
        (known,) = store.known_items("c").values()
        # picsum and first_seen belong to the first sighting; the rest follows upstream.
        assert (known.content_hash, known.picsum, known.first_seen, known.last_seen) == ("h2", 7, 1.0, 5.0)
        with pytest.raises(sqlite3.IntegrityError):
            store.record_items("c", [ItemRecord("guid:2", "a.md", "h", 1, 1.0, 1.0, "a", None)])
        store.forget_items("c", ["guid:1"])
        assert store.known_items("c") == {}


def test_read_only_needs_a_state(tmp_path):
    with pytest.raises(StorageError, match="no state yet"):
        Store(tmp_path / "none.db", read_only=True)


def test_migration_from_schema_1_backfills_the_last_new_item(tmp_path):
    """A state written by the first release keeps working, and knows when items last came."""
    path = tmp_path / "state.db"
    from newsmirror.store import _MIGRATIONS
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO feeds (channel, url, failures) VALUES ('g/s/c', 'http://x/', 0)")
    db.executemany("INSERT INTO items VALUES ('g/s/c', ?, ?, ?, 'h', 1, ?, ?, 't', NULL)",
                   [("a", "a.md", "a.md", 100.0, 200.0), ("b", "b.md", "b.md", 150.0, 200.0)])
    db.commit()
    db.close()
    with Store(path) as store:
        [state] = store.feed_states()
    assert state.last_new == 150.0 and state.items == 2
    # schema 3: the schedule's lifetime and <ttl>, unknown for feeds fetched before
    assert (state.fresh_for, state.ttl) == (None, None)
    # schema 4: the item's own author, empty for items recorded before
    with Store(path) as store:
        assert {r.author for r in store.known_items("g/s/c").values()} == {""}
        store.record_items("g/s/c", [ItemRecord("a", "a.md", "h", 1, 100.0, 300.0, "t", None, "李明")])
        assert store.known_items("g/s/c")["a"].author == "李明"
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4


def test_the_schedule_s_fields_are_recorded(tmp_path):
    from newsmirror.types import HTTPValidators
    with Store(tmp_path / "state.db") as store:
        store.record_fetch_ok("c", "http://x/", HTTPValidators('"e"', None), "h", 10.0, 1,
                              fresh_for=300.0, ttl=3600.0)
        assert (store.feed_state("c").fresh_for, store.feed_state("c").ttl) == (300.0, 3600.0)
        store.record_not_modified("c", "http://x/", 20.0, fresh_for=60.0)
        state = store.feed_state("c")
        assert (state.fresh_for, state.ttl, state.last_attempt) == (60.0, 3600.0, 20.0)
