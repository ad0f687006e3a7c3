"""Feed dates: parsing the many forms feeds use, and writing them the way RSSHub does.

RSSHub writes JavaScript's ``Date.prototype.toUTCString()`` form (``Sat, 22 Jan 2022 12:16:05
GMT``), and the literal ``Invalid Date`` when it could not parse the source's date; posts keep
those verbatim (FORMAT.md §2). Every other form is rewritten in the ``toUTCString`` form.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UTC_STRING = re.compile(
    r"(?:%s), \d\d (?:%s) \d{4} \d\d:\d\d:\d\d GMT" % ("|".join(_DAYS), "|".join(_MONTHS))
)
INVALID_DATE = "Invalid Date"
# Dates further ahead than this are a feed's mistake; they are treated as "no date".
_FUTURE_SLACK = timedelta(days=2)


def now() -> float:
    """The crawl time: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else the clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return float(int(epoch))
        except ValueError:
            pass
    return time.time()


def to_utc_string(moment: datetime) -> str:
    """``Sat, 22 Jan 2022 12:16:05 GMT``, independent of the locale."""
    moment = moment.astimezone(timezone.utc)
    return (f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
            f"{moment.year:04d} {moment:%H:%M:%S} GMT")


def crawl_time_text(timestamp: float) -> str:
    """How the reference dated an item that had no date: the crawl time, UTC."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def crawl_time_of(text: str) -> float | None:
    """The timestamp :func:`crawl_time_text` wrote as ``text``, or ``None`` for other text."""
    try:
        moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc).timestamp()


def parse_date(text: str | None) -> datetime | None:
    """Parse RFC 822 (with its common variants) or ISO 8601; ``None`` if neither fits."""
    if not text:
        return None
    text = " ".join(text.split())
    if not text or text == INVALID_DATE:
        return None
    moment: datetime | None = None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        iso = text.replace("Z", "+00:00").replace("z", "+00:00")
        if len(iso) >= 10 and iso[4:5] == "-":
            try:
                moment = datetime.fromisoformat(iso.replace(" ", "T", 1) if "T" not in iso else iso)
            except ValueError:
                moment = None
    if moment is None:
        return None
    if moment.tzinfo is None:  # no zone given: UTC, as RFC 822 reads "-0000"
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


def post_date(text: str | None, published: datetime | None, crawl_time: float) -> str:
    """The DATE field of a post (FORMAT.md §2)."""
    if text is not None:
        stripped = text.strip()
        if stripped == INVALID_DATE or _UTC_STRING.fullmatch(stripped):
            return stripped
    if published is not None and published <= datetime.fromtimestamp(crawl_time, timezone.utc) + _FUTURE_SLACK:
        return to_utc_string(published)
    return crawl_time_text(crawl_time)
