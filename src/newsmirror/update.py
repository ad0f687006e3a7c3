"""One channel's update, from its fetched feed to post files: parse, clean, render, decide, write.

It reads no state of its own: what the store knows of the channel comes in with the job, and
what the store must learn goes back in the result (:mod:`newsmirror.job`). So it can run in a
worker process (:mod:`newsmirror.workers`), while the store stays with the one process that
owns it. A channel is only ever handled by one job at a time, so its folder is never written by
two.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from .clean import DEFAULT_POLICY, CleanPolicy, clean_body, for_hexo, proxied_image
from .dates import crawl_time_of, post_date
from .decide import (
    ADOPTED,
    Change,
    adopted_identity,
    content_hash,
    decide_change,
    entry_title,
    file_name,
    picsum_number,
    select_entries,
)
from .exceptions import FeedError
from .hexo import Post, picsum_number_of, picsum_url, read_post, render_post
from .job import ChannelJob, ChannelUpdate
from .parse import parse_feed
from .store import ItemRecord, known_of
from .types import Entry, Fetched
from .urls import is_private_url, publishable_url
from .write import Folder, channel_folder


def update_channel(job: ChannelJob, fetched: Fetched) -> ChannelUpdate:
    """Write the channel's new and changed posts. Raises FeedError for a feed it cannot read,
    or for posts it cannot write (a full disk, a folder that is a file, permissions)."""
    try:
        return _update_channel(job, fetched)
    except OSError as exc:
        where = exc.filename or job.posts_dir
        raise FeedError(f"cannot write posts: {where}: {exc.strerror or exc}") from None


def _update_channel(job: ChannelJob, fetched: Fetched) -> ChannelUpdate:
    channel = job.channel
    parsed = parse_feed(fetched.content, fetched.url, fetched.content_type)
    result = ChannelUpdate(fetched.validators, fetched.fresh_for, parsed.ttl)
    chosen = select_entries(parsed.entries, channel)
    max_age = job.max_age if channel.max_age is None else channel.max_age
    if max_age is not None:  # older items are not written (the run removes their old posts)
        oldest = job.now - max_age
        chosen = [(identity, entry) for identity, entry in chosen
                  if entry.published is None or entry.published.timestamp() >= oldest]
    with Folder(channel_folder(job.posts_dir, channel.group, channel.site, channel.channel),
                    create=bool(chosen) and not job.dry_run) as folder:
        # Posts the state does not own (it was lost, or they came from elsewhere): each is
        # claimed by its item when that comes back, and recorded on its own until then.
        adopted = {record.file.casefold(): record for record in job.known.values()
                   if record.identity.startswith(ADOPTED)}
        taken = {record.file.casefold() for record in job.known.values()}
        if not job.dry_run:
            _find_unowned_posts(job, folder, taken, adopted, result)
        _write_posts(job, fetched, chosen, folder, taken, adopted, result)
        for record in adopted.values():  # not claimed: recorded as they are
            if record.identity not in job.known:
                result.records.append(record)
    return result


def _find_unowned_posts(job: ChannelJob, folder: Folder, taken: set[str],
                        adopted: dict[str, ItemRecord], result: ChannelUpdate) -> None:
    """Adopt the channel's post files that no record owns; files that are not posts in our
    format only keep their names from being used."""
    for name in folder.post_names():
        key = name.casefold()
        if key in taken:
            continue
        record = _adopted_record(folder, name, job.now)
        taken.add(key)
        if record is not None:
            adopted[key] = record
            result.adopted += 1


def _adopted_record(folder: Folder, name: str, now: float) -> ItemRecord | None:
    """A record for a post file written by newsmirror (or the reference) before the state
    knew it: its bytes' hash, its title, and when it was first seen (its crawl-time date, for
    an item without one, so that the post reads back byte for byte)."""
    try:
        data = folder.read(name)
        parts = read_post(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    if parts is None:
        return None
    first_seen = crawl_time_of(parts.date)
    if first_seen is None:
        first_seen = min(folder.modified(name), now)
    picsum = picsum_number_of(parts.image)
    return ItemRecord(adopted_identity(name), name, content_hash(data),
                      -1 if picsum is None else picsum, first_seen, now,
                      parts.title or name[:-3], None)


def _write_posts(job: ChannelJob, fetched: Fetched, chosen: list[tuple[str, Entry]],
                 folder: Folder, taken: set[str], adopted: dict[str, ItemRecord],
                 result: ChannelUpdate) -> None:
    channel = job.channel
    for identity, entry in chosen:
        record = job.known.get(identity)
        title = entry_title(entry)
        if record is None and adopted:
            # An adopted post under the name this new item would get is this item's post.
            name = file_name(title, identity, taken - adopted.keys())
            claimed = adopted.pop(name.casefold(), None)
            if claimed is not None:
                # its picsum photo as the file has it (the reference drew them at random)
                record = replace(claimed, identity=identity, picsum=claimed.picsum
                                 if claimed.picsum >= 0 else picsum_number(identity))
                if claimed.identity in job.known:
                    result.released.append(claimed.identity)
        picsum = record.picsum if record else picsum_number(identity)
        first_seen = record.first_seen if record else job.now
        policy = _policy(job.iframe_hosts)
        body = clean_body(entry.body, _base_url(entry, fetched), job.image_proxy, policy)
        post_body, changed = for_hexo(body.html, policy)
        image = (body.lead_image or _enclosure_image(entry.image, job.image_proxy)
                 or (picsum_url(picsum) if job.fallback_image == "picsum" else job.fallback_image))
        data = render_post(Post(
            title=title, group=channel.group, site=channel.site, channel=channel.channel,
            author=channel.author, date=post_date(entry.date_text, entry.published, first_seen),
            image=image, body=post_body, exact_title=job.exact_titles,
        )).encode("utf-8")
        digest = content_hash(data)
        name = record.file if record is not None else file_name(title, identity, taken)
        taken.add(name.casefold())
        change = decide_change(None if record is None else known_of(record), digest,
                               record is not None and folder.exists(name))
        if change is not Change.UNCHANGED and not job.dry_run:
            folder.write(name, data)
        setattr(result, change.value, getattr(result, change.value) + 1)
        result.sanitized += body.sanitized or changed
        result.records.append(ItemRecord(identity, name, digest, picsum, first_seen, job.now,
                                         title, entry.link, entry.author,
                                         entry.published.timestamp() if entry.published else None))
    # An empty feed is more likely a hiccup upstream than the end of a channel: it removes nothing.
    if job.retention == "window" and chosen:
        current = {identity for identity, _ in chosen}.union(result.released)
        result.gone = [identity for identity in job.known if identity not in current]
        if not job.dry_run:
            for identity in result.gone:
                folder.remove(job.known[identity].file)


def _base_url(entry: Entry, fetched: Fetched) -> str | None:
    """What the body's relative URLs resolve against: the item's link, else the feed's URL as
    it may be published (no access key); never a private address."""
    if entry.link and not is_private_url(entry.link):
        return entry.link
    return publishable_url(fetched.url)


@lru_cache(maxsize=8)
def _policy(iframe_hosts: tuple[str, ...] | None) -> CleanPolicy:
    return DEFAULT_POLICY if iframe_hosts is None else CleanPolicy(iframe_hosts=iframe_hosts)


def _enclosure_image(url: str | None, image_proxy: str) -> str | None:
    if not url or not url.startswith(("http://", "https://")) or is_private_url(url):
        return None
    return proxied_image(url, image_proxy)
