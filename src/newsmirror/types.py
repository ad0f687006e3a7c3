"""Typed objects passed between the stages: config -> fetch -> parse -> clean -> store -> write."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


def reduce_by_slots(obj: object) -> tuple[type, tuple]:
    """``__reduce__`` for a slotted dataclass whose fields are all ``__init__`` arguments: its
    class and field values. Dataclasses' own pickling goes field by field through ``fields()``
    and costs three times as much; jobs and results cross a pipe for every feed of a run."""
    return type(obj), tuple([getattr(obj, name) for name in obj.__slots__])


@dataclass(frozen=True, slots=True)
class HTTPValidators:
    """What a conditional GET sends back to the server."""

    etag: str | None = None
    last_modified: str | None = None

    __reduce__ = reduce_by_slots


@dataclass(frozen=True, slots=True)
class Fetched:
    """The bytes of one feed as the server (or the file system) gave them."""

    url: str
    content: bytes
    content_type: str | None = None
    validators: HTTPValidators = HTTPValidators()
    fresh_for: float | None = None   # seconds the server says it stays fresh, if it says


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a feed, fields as served (no cleaning yet)."""

    title: str
    link: str | None
    guid: str | None
    body: str                    # HTML, exactly as served
    date_text: str | None        # the date as written in the feed
    published: datetime | None   # the same date parsed, timezone-aware UTC
    image: str | None = None     # enclosure / JSON Feed image, used when the body has none
    author: str = ""             # the item's own author (a name; e-mail addresses dropped)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    url: str
    title: str
    kind: str                    # "rss", "atom" or "json"
    entries: tuple[Entry, ...] = field(default_factory=tuple)
    ttl: float | None = None     # RSS <ttl>, in seconds: how long the feed asks to be cached


@dataclass(frozen=True, slots=True)
class CleanBody:
    """A body that is safe to publish, and the image that leads it."""

    html: str
    lead_image: str | None
    sanitized: bool              # True when unsafe markup had to be removed
