"""Pure decisions: who an item is, what its file is called, whether it must be written.

Nothing here touches the network, the disk or the database, so every rule is tested on its own.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from enum import Enum
from typing import Iterable
from urllib.parse import unquote, urlsplit

from .config import Channel
from .hexo import hexo_title
from .types import Entry

MAX_NAME_BYTES = 255          # one path component on ext4, APFS, NTFS (in UTF-16 units there)
_EXTENSION = ".md"
# NAME drops these from TITLE (FORMAT.md §3); control characters go too: no file system wants them.
_NAME_REMOVED = re.compile(r"[\r\n#.\x00-\x1f\x7f]")
_URL_BREAKING = re.compile(r"[#?%]")
_WINDOWS_RESERVED = re.compile(r"(?i)(con|prn|aux|nul|com[0-9]|lpt[0-9])")


class Change(Enum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Known:
    """What the store remembers of an item."""

    file: str
    content_hash: str
    picsum: int
    first_seen: float


def item_identity(entry: Entry) -> str:
    """A stable identity: the guid, else the link, else a hash of title and date."""
    if entry.guid:
        return "guid:" + entry.guid
    if entry.link:
        return "link:" + entry.link
    digest = hashlib.sha256(f"{entry.title}\x00{entry.date_text or ''}".encode()).hexdigest()
    return "hash:" + digest[:32]


def renamed_channels(configured: Iterable[tuple[str, str]], stored: Iterable[tuple[str, str]]
                     ) -> list[tuple[str, str]]:
    """(old key, new key) for each channel whose levels changed while its URL stayed: a
    configured channel the state does not know, whose URL exactly one stored channel that is
    no longer configured has (two candidates, or two channels of one URL, are no rename)."""
    configured = list(configured)
    keys = {key for key, _ in configured}
    stored = list(stored)
    known = {key for key, _ in stored}
    orphans: dict[str, list[str]] = {}
    for key, url in stored:
        if key not in keys:
            orphans.setdefault(url, []).append(key)
    new_by_url: dict[str, list[str]] = {}
    for key, url in configured:
        if key not in known:
            new_by_url.setdefault(url, []).append(key)
    return [(orphans[url][0], new[0]) for url, new in new_by_url.items()
            if len(new) == 1 and len(orphans.get(url, ())) == 1]


def select_entries(entries: Iterable[Entry], channel: Channel) -> list[tuple[str, Entry]]:
    """The items a channel keeps, with their identities: newest first as served, filtered by
    title, at most ``max_items``, and an item repeated in one feed only once (the first)."""
    chosen: list[tuple[str, Entry]] = []
    seen: set[str] = set()
    for entry in entries:
        if len(chosen) >= channel.max_items:
            break
        if not channel.wants(entry.title):
            continue
        identity = item_identity(entry)
        if identity not in seen:
            seen.add(identity)
            chosen.append((identity, entry))
    return chosen


_MARKUP = re.compile(r"<[^>]*>?")
_FALLBACK_CHARS = 40   # of the body's text, when an item has no title of its own


def _visible_text(markup: str) -> str:
    return " ".join(html.unescape(_MARKUP.sub(" ", markup)).split())


def entry_title(entry: Entry) -> str:
    """The item's title; for one without any (missing, empty, blank, markup only) a stable
    stand-in: the first words of its body, else its link's last path segment, else its date."""
    if _visible_text(entry.title):
        return entry.title
    text = _visible_text(entry.body)
    if text:
        if len(text) <= _FALLBACK_CHARS:
            return text
        cut = text[:_FALLBACK_CHARS]
        # end at a word where the text has words (not in Chinese, which has no spaces)
        cut = cut.rsplit(" ", 1)[0] if " " in cut[_FALLBACK_CHARS // 2:] else cut
        return cut.rstrip() + "…"
    if entry.link:
        segment = unquote(urlsplit(entry.link).path.rstrip("/").rpartition("/")[2])
        if segment.strip():
            return segment.strip()
    return entry.date_text.strip() if entry.date_text and entry.date_text.strip() else "untitled"


ADOPTED = "file:"   # the identity of a post on disk that no item of the state claims


def adopted_identity(file: str) -> str:
    """The identity a post file the state did not know is recorded under until its item comes
    back (the state was lost, or the posts came from elsewhere)."""
    return ADOPTED + file


def picsum_number(identity: str) -> int:
    """The picsum fallback's N (0–10000), the same for the same item on every run."""
    return int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big") % 10001


def content_hash(post: bytes) -> str:
    """Of a post's UTF-8 bytes, as written."""
    return hashlib.sha256(post).hexdigest()


def post_name(title: str) -> str:
    """NAME (FORMAT.md §3): TITLE without newlines, ``#`` and ``.``; never empty or reserved."""
    name = _NAME_REMOVED.sub("", hexo_title(title)).strip()
    # The name becomes part of the post's URL, where "%" starts an escape (Volantis's
    # decodeURI() throws on it); the full-width sign reads the same.
    name = name.replace("%", "％")
    # Hexo silently skips posts whose name starts with "_" (a title like "[图] …" gives one).
    name = name.lstrip("_ \t")
    if _WINDOWS_RESERVED.fullmatch(name):
        name += "_"
    return name


def folder_name(level: str) -> str:
    """A category level as a folder: URL-breaking characters (it is part of every post's URL
    in Hexo) become ``_``; the category itself, in the front matter, keeps them."""
    return _URL_BREAKING.sub("_", level)


def _shorten(name: str, max_bytes: int) -> str:
    """Cut at a character boundary so that the UTF-8 form fits ``max_bytes``."""
    encoded = name.encode("utf-8")
    if len(encoded) <= max_bytes:
        return name
    return encoded[:max_bytes].decode("utf-8", errors="ignore").rstrip()


def file_name(title: str, identity: str, taken: set[str]) -> str:
    """The post's file name in its channel folder, distinct from every name in ``taken``.

    ``taken`` holds the case-folded names other items of the channel already own (case-folded
    because macOS and Windows file systems would merge ``A.md`` and ``a.md``). A clash, or a title
    that leaves no name, gets a suffix drawn from the item's identity: deterministic, and it does
    not depend on which other items exist.
    """
    tag = hashlib.sha256(identity.encode()).hexdigest()[:8]
    base = post_name(title)
    limit = MAX_NAME_BYTES - len(_EXTENSION)
    if base:
        candidate = _shorten(base, limit) + _EXTENSION
        if candidate.casefold() not in taken:
            return candidate
        return _shorten(base, limit - len(tag) - 1) + "-" + tag + _EXTENSION
    return "untitled-" + tag + _EXTENSION


def decide_change(known: Known | None, new_hash: str, file_present: bool) -> Change:
    """Whether an item's post must be written: new, changed upstream, or (missing file) restored."""
    if known is None:
        return Change.NEW
    if known.content_hash != new_hash or not file_present:
        return Change.UPDATED
    return Change.UNCHANGED


DAY = 86_400.0


def health_flags(*, failures: int, last_ok: float | None, last_new: float | None,
                 last_error: str | None, now: float, failing_after: int,
                 stale_days: float) -> list[str]:
    """What an operator should look at for one channel: failing N runs in a row, and no new
    item for N days (counted from the last new item; a channel that has been fetched but
    never brought one counts as stale at once)."""
    flags = []
    if failures >= failing_after:
        flags.append(f"failing: {failures} runs in a row ({last_error or 'no message'})")
    if last_new is not None and now - last_new > stale_days * DAY:
        flags.append(f"stale: no new item for {int((now - last_new) // DAY)} days")
    elif last_new is None and last_ok is not None:
        flags.append("stale: no item yet")
    return flags


# ------------------------------------------------------------------------------ the schedule

MAX_WAIT = DAY                 # no rule keeps a channel waiting longer than a day
BACKOFF_BASE = 300.0           # a failing channel's first wait when its interval is shorter


def fetch_wait(*, interval: float, fresh_for: float | None, ttl: float | None,
               failures: int) -> float:
    """Seconds between a channel's last fetch and its next: the largest of its interval, the
    lifetime its server gave the response (Cache-Control max-age / Expires), the feed's own
    ``<ttl>``, and, for a failing channel, a backoff that doubles with each failure in a row;
    never more than a day."""
    wait = max(interval, fresh_for or 0.0, ttl or 0.0)
    if failures > 0:
        wait = max(wait, max(interval, BACKOFF_BASE) * 2.0 ** min(failures - 1, 20))
    return min(wait, MAX_WAIT)


def next_fetch(*, last_attempt: float | None, interval: float, fresh_for: float | None,
               ttl: float | None, failures: int, retry_after: float | None) -> float | None:
    """When a channel is due (``None``: at once, it was never fetched). A server's Retry-After
    is kept as given (fetch.py caps it at a day)."""
    if last_attempt is None:
        return retry_after
    due = last_attempt + fetch_wait(interval=interval, fresh_for=fresh_for, ttl=ttl,
                                    failures=failures)
    return due if retry_after is None else max(due, retry_after)

