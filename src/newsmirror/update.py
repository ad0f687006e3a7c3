"""One channel's update, from fetched bytes to post files: parse, clean, render, decide, write.

It reads no state of its own: what the store knows of the channel comes in with the job, and
what the store must learn goes back in the result. So it can run in a worker process, one
channel per worker at a time (a channel's folder is never written by two at once), while the
store stays with the one process that owns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .clean import clean_body, proxied_image
from .config import Channel
from .dates import post_date
from .decide import (
    Change,
    content_hash,
    decide_change,
    file_name,
    picsum_number,
    select_entries,
)
from .exceptions import FeedError
from .hexo import Post, picsum_url, render_post
from .parse import parse_feed
from .store import ItemRecord, known_of
from .types import Entry, Fetched, HTTPValidators
from .write import Folder, channel_folder


@dataclass(frozen=True, slots=True)
class ChannelJob:
    fetched: Fetched
    channel: Channel
    posts_dir: Path
    image_proxy: str
    retention: str
    known: dict[str, ItemRecord]    # what the store knows of this channel's items
    now: float
    dry_run: bool


@dataclass(slots=True)
class ChannelUpdate:
    """What was done, and what the store must now record (the files are already in place)."""

    validators: HTTPValidators
    records: list[ItemRecord] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)   # identities whose posts were removed
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    sanitized: int = 0


def update_channel(job: ChannelJob) -> ChannelUpdate:
    """Write the channel's new and changed posts. Raises FeedError for a feed it cannot read,
    or for posts it cannot write (a full disk, a folder that is a file, permissions)."""
    try:
        return _update_channel(job)
    except OSError as exc:
        where = exc.filename or job.posts_dir
        raise FeedError(f"cannot write posts: {where}: {exc.strerror or exc}") from None


def _update_channel(job: ChannelJob) -> ChannelUpdate:
    channel, fetched = job.channel, job.fetched
    parsed = parse_feed(fetched.content, fetched.url, fetched.content_type)
    result = ChannelUpdate(fetched.validators)
    taken = {record.file.casefold() for record in job.known.values()}
    chosen = select_entries(parsed.entries, channel)
    with Folder(channel_folder(job.posts_dir, channel.group, channel.site, channel.channel),
                    create=bool(chosen) and not job.dry_run) as folder:
        _write_posts(job, chosen, folder, taken, result)
    return result


def _write_posts(job: ChannelJob, chosen: list[tuple[str, Entry]], folder: Folder,
                 taken: set[str], result: ChannelUpdate) -> None:
    channel, fetched = job.channel, job.fetched
    for identity, entry in chosen:
        record = job.known.get(identity)
        picsum = record.picsum if record else picsum_number(identity)
        first_seen = record.first_seen if record else job.now
        body = clean_body(entry.body, entry.link or fetched.url, job.image_proxy)
        image = body.lead_image or _enclosure_image(entry.image, job.image_proxy) or picsum_url(picsum)
        text = render_post(Post(
            title=entry.title, group=channel.group, site=channel.site, channel=channel.channel,
            author=channel.author, date=post_date(entry.date_text, entry.published, first_seen),
            image=image, body=body.html,
        ))
        digest = content_hash(text)
        name = record.file if record is not None else file_name(entry.title, identity, taken)
        taken.add(name.casefold())
        change = decide_change(None if record is None else known_of(record), digest,
                               record is not None and folder.exists(name))
        if change is not Change.UNCHANGED and not job.dry_run:
            folder.write(name, text.encode("utf-8"))
        setattr(result, change.value, getattr(result, change.value) + 1)
        result.sanitized += body.sanitized
        result.records.append(ItemRecord(identity, name, digest, picsum, first_seen, job.now,
                                         entry.title, entry.link))
    # An empty feed is more likely a hiccup upstream than the end of a channel: it removes nothing.
    if job.retention == "window" and chosen:
        current = {identity for identity, _ in chosen}
        result.gone = [identity for identity in job.known if identity not in current]
        if not job.dry_run:
            for identity in result.gone:
                folder.remove(job.known[identity].file)


def _enclosure_image(url: str | None, image_proxy: str) -> str | None:
    if not url or not url.startswith(("http://", "https://")):
        return None
    return proxied_image(url, image_proxy)
