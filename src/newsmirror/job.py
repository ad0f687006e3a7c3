"""A channel's job: what a worker process is handed, what it hands back, and the one path that
runs it, fetch first, then the update (:mod:`newsmirror.update`) if the feed has content.

The update's modules (lxml, selectolax, nh3: a few hundredths of a second to import) are loaded
only when a feed has content, so a run where every feed answers 304 never loads them.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

from .config import Channel
from .exceptions import FeedError
from .store import ItemRecord
from .types import Fetched, HTTPValidators, reduce_by_slots

if TYPE_CHECKING:
    from .fetch import Fetcher, Gate


# A feed smaller than this is parsed and written right in the event loop: it takes a few
# milliseconds, and handing it to a thread cost a twentieth of a cold run's CPU (threads
# contending for the GIL at each file write). A larger one could hold up other feeds' downloads.
OFFLOAD_ABOVE = 1_000_000


@dataclass(frozen=True, slots=True)
class ChannelJob:
    channel: Channel
    validators: HTTPValidators | None   # for a conditional GET; None fetches unconditionally
    posts_dir: Path
    image_proxy: str
    retention: str
    now: float
    dry_run: bool
    # What the store knows of the channel's items: asked for only once the feed has content, so
    # a run where feeds answer 304 reads and ships none of it.
    known: dict[str, ItemRecord] = field(default_factory=dict)
    iframe_hosts: tuple[str, ...] | None = None   # [clean] iframe_hosts; None: the built-in ones
    fallback_image: str = "picsum"      # [output] fallback_image
    exact_titles: bool = False          # [output] titles = "exact"
    max_age: float | None = None        # [output] max_age (a channel's own comes with it)

    __reduce__ = reduce_by_slots


@dataclass(slots=True)
class ChannelUpdate:
    """What was done, and what the store must now record (the files are already in place)."""

    validators: HTTPValidators
    fresh_for: float | None = None   # the response's lifetime (Cache-Control / Expires)
    ttl: float | None = None         # the feed's <ttl>, in seconds
    records: list[ItemRecord] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)   # identities whose posts were removed
    released: list[str] = field(default_factory=list)  # adopted posts their items now own
    adopted: int = 0                 # posts on disk the state did not know, now recorded
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    sanitized: int = 0


async def fetch_and_update(
    fetcher: Fetcher, job: ChannelJob,
    known: Callable[[], Awaitable[dict[str, ItemRecord]]] | None, gate: Gate | None = None,
    offload: Callable[[Callable[[], ChannelUpdate | FeedError]],
                      Awaitable[ChannelUpdate | FeedError]] | None = None,
) -> ChannelUpdate | FeedError:
    """Fetch the channel's feed (within ``gate``, see Fetcher.fetch) and write its new and
    changed posts; ``known`` gives what the store knows of the channel's items (``None``: nothing,
    a channel never run).

    Every failure comes back as a FeedError (NotModified for a 304), never raised: an unreadable
    feed, posts that cannot be written, a bug. ``offload``, if given, runs the synchronous part
    of a large feed elsewhere (a thread), so the event loop goes on serving other downloads.
    """
    try:
        fetched = await fetcher.fetch(job.channel.fetch_url, job.validators, gate)
    except FeedError as exc:
        if job.channel.access_key and job.channel.access_key in str(exc):  # never recorded
            return FeedError(str(exc).replace(job.channel.access_key, "***"))
        return exc
    except Exception:  # a bug (ours or the HTTP client's): in a worker, raising would lose the job
        return _internal_error()
    if known is not None:
        job = replace(job, known=await known())
    if offload is None or len(fetched.content) < OFFLOAD_ABOVE:
        return update_or_error(job, fetched)
    return await offload(lambda: update_or_error(job, fetched))


def update_or_error(job: ChannelJob, fetched: Fetched) -> ChannelUpdate | FeedError:
    from . import update  # on first use: see the module's docstring
    try:
        return update.update_channel(job, fetched)
    except FeedError as exc:
        return exc
    except Exception:  # a bug must cost one feed, not the run
        return _internal_error()


def _internal_error() -> FeedError:
    """The exception being handled, as the feed's error."""
    exc = sys.exception()
    error = FeedError(f"internal error ({type(exc).__name__}: {exc}); please report it")
    error.details = traceback.format_exc()  # crosses a process boundary, for --verbose
    return error
