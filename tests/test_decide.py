"""Pure decisions: identity, names, and whether to write."""

from __future__ import annotations

from newsmirror.decide import (
    Change, Known, decide_change, file_name, folder_name, item_identity, picsum_number, post_name,
)
from newsmirror.types import Entry


def entry(**fields) -> Entry:
    values = dict(title="t", link=None, guid=None, body="", date_text=None, published=None)
    values.update(fields)
    return Entry(**values)


def test_identity_prefers_guid_then_link_then_hash():
    assert item_identity(entry(guid="g", link="l")) == "guid:g"
    assert item_identity(entry(link="l")) == "link:l"
    a = item_identity(entry(title="a", date_text="d"))
    assert a.startswith("hash:") and a == item_identity(entry(title="a", date_text="d"))
    assert a != item_identity(entry(title="a", date_text="e"))


def test_picsum_is_stable_and_in_range():
    numbers = {picsum_number(f"guid:{i}") for i in range(2000)}
    assert all(0 <= n <= 10000 for n in numbers) and len(numbers) > 1500
    assert picsum_number("guid:x") == picsum_number("guid:x")


def test_names():
    assert post_name("PuTTY 0.75 发布，SSH/Telnet 程序") == "PuTTY 075 发布，SSH_Telnet 程序"
    assert post_name("a\nb#c.d") == "abcd"
    assert post_name("[独家] 新闻") == "独家_ 新闻"
    assert post_name("../../etc/passwd") == "etc_passwd"
    assert post_name("a\\b") == "a_b"
    assert post_name("CON") == "CON_" and post_name("lpt1") == "lpt1_"
    assert post_name("...") == ""
    assert post_name("100% sure?") == "100％ sure_"
    assert folder_name("C#: news?%") == "C_: news__"


def test_file_name_clash_empty_and_long():
    taken: set[str] = set()
    first = file_name("Same", "guid:1", taken)
    taken.add(first.casefold())
    second = file_name("same", "guid:2", taken)
    assert first == "Same.md" and second.startswith("same-") and second.endswith(".md")
    assert second == file_name("same", "guid:2", taken)  # deterministic
    assert file_name("...", "guid:3", set()).startswith("untitled-")
    long = file_name("长" * 200, "guid:4", set())
    assert len(long.encode()) <= 255 and long.endswith(".md") and long[:-3] == "长" * 84
    taken.add(long.casefold())
    clash = file_name("长" * 200, "guid:5", taken)
    assert len(clash.encode()) <= 255 and clash != long
    mixed = file_name("a" + "长" * 100, "guid:6", set())
    assert len(mixed.encode()) <= 255 and "\ufffd" not in mixed


def test_decide_change():
    known = Known(file="a.md", content_hash="h", picsum=1, first_seen=0.0)
    assert decide_change(None, "h", False) is Change.NEW
    assert decide_change(known, "h", True) is Change.UNCHANGED
    assert decide_change(known, "other", True) is Change.UPDATED
    assert decide_change(known, "h", False) is Change.UPDATED


# --------------------------------------------------------------------------- health flags

HEALTH = dict(failing_after=3, stale_days=7)
NOW = 1_700_000_000.0


def test_health_flags_failing_and_stale():
    from newsmirror.decide import DAY, health_flags
    fine = health_flags(failures=2, last_ok=NOW, last_new=NOW - 6 * DAY, last_error="x", now=NOW, **HEALTH)
    assert fine == []
    failing = health_flags(failures=3, last_ok=None, last_new=None, last_error="HTTP 404", now=NOW, **HEALTH)
    assert failing == ["failing: 3 runs in a row (HTTP 404)"]
    stale = health_flags(failures=0, last_ok=NOW, last_new=NOW - 8.5 * DAY, last_error=None, now=NOW, **HEALTH)
    assert stale == ["stale: no new item for 8 days"]
    both = health_flags(failures=4, last_ok=NOW - 9 * DAY, last_new=NOW - 30 * DAY, last_error="timed out",
                        now=NOW, **HEALTH)
    assert both == ["failing: 4 runs in a row (timed out)", "stale: no new item for 30 days"]
    # Fetched fine but never brought an item (everything filtered out, an empty route).
    assert health_flags(failures=0, last_ok=NOW, last_new=None, last_error=None, now=NOW, **HEALTH) == [
        "stale: no item yet"]
    # Never run: nothing to say yet.
    assert health_flags(failures=0, last_ok=None, last_new=None, last_error=None, now=NOW, **HEALTH) == []


def test_a_rename_is_one_new_channel_and_one_gone_channel_of_the_same_url():
    from newsmirror.decide import renamed_channels
    assert renamed_channels([("g/s2/c", "u1"), ("g/s/d", "u2")],
                            [("g/s/c", "u1"), ("g/s/d", "u2")]) == [("g/s/c", "g/s2/c")]
    # Still configured, so not renamed: a second channel of the same feed.
    assert renamed_channels([("g/s/c", "u1"), ("g/s2/c", "u1")], [("g/s/c", "u1")]) == []
    # Ambiguous either way: two gone channels, or two new ones, of one URL.
    assert renamed_channels([("n/n/n", "u")], [("a/a/a", "u"), ("b/b/b", "u")]) == []
    assert renamed_channels([("n/n/n", "u"), ("m/m/m", "u")], [("a/a/a", "u")]) == []
    # A new URL is a new channel, not a rename.
    assert renamed_channels([("n/n/n", "u2")], [("a/a/a", "u1")]) == []
