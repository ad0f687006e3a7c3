"""The public facade: :class:`Mirror` wires config, fetch, parse, clean, store and write.

It holds the run's control flow only; each decision lives in :mod:`newsmirror.decide`, each
format in its own module, and all SQL in :mod:`newsmirror.store`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from . import __version__
from .clean import clean_body
from .config import Channel, Config
from .dates import now as crawl_now
from .dates import post_date
from .decide import Change, content_hash, decide_change, file_name, item_identity, picsum_number
from .exceptions import Deferred, FeedError, NotModified
from .fetch import Fetcher
from .hexo import Post, picsum_url, render_post
from .parse import parse_feed
from .store import FeedState, ItemRecord, RunLock, Store, known_of
from .types import Fetched, HTTPValidators
from .write import channel_folder, post_path, remove_post, remove_stale_temp_files, write_atomic

log = logging.getLogger("newsmirror")

OK, NOT_MODIFIED, FAILED, DEFERRED = "ok", "not modified", "failed", "deferred"
# Bump when the post bytes for the same input change, so stored validators stop short-circuiting.
OUTPUT_FORMAT = 1


@dataclass(slots=True)
class FeedOutcome:
    """What one run did with one channel."""

    channel: str
    url: str
    status: str                  # OK, NOT_MODIFIED, FAILED or DEFERRED
    message: str = ""
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    sanitized: int = 0           # items whose HTML had to be sanitised


@dataclass(slots=True)
class RunReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)
    posts_dir: Path | None = None

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    def total(self, name: str) -> int:
        return sum(getattr(outcome, name) for outcome in self.outcomes)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == FAILED]

    @property
    def exit_code(self) -> int:
        """0 when every feed was fine, 1 when some failed (the others were still written)."""
        return 1 if self.failed else 0

    def summary(self) -> str:
        return (
            f"feeds: {self.count(OK)} ok, {self.count(NOT_MODIFIED)} not modified, "
            f"{self.count(FAILED)} failed, {self.count(DEFERRED)} deferred; "
            f"items: {self.total('new')} new, {self.total('updated')} updated, "
            f"{self.total('unchanged')} unchanged, {self.total('removed')} removed"
        )


def settings_hash(config: Config, channel: Channel) -> str:
    """What, besides the feed, shapes a channel's posts; validators hold only while it is equal."""
    parts = (OUTPUT_FORMAT, channel.url, channel.key, channel.author, channel.max_items,
             channel.include.pattern if channel.include else None,
             channel.exclude.pattern if channel.exclude else None,
             config.output.image_proxy, config.output.retention)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


class Mirror:
    """Runs a configuration: ``Mirror(load_config(path)).run()``."""

    def __init__(self, config: Config) -> None:
        self.config = config

    # ----------------------------------------------------------------------------- run

    def run(self, *, dry_run: bool = False,
            on_feed: Callable[[FeedOutcome], None] | None = None) -> RunReport:
        """Fetch every channel and write its posts. Feed errors are reported, never raised."""
        report = RunReport(posts_dir=self.config.output.posts_dir)
        now = crawl_now()
        if dry_run:
            store = Store.for_dry_run(self.config.output.state)
            with store:
                asyncio.run(self._run(store, now, report, dry_run, on_feed))
            return report
        with RunLock(self.config.output.state), Store(self.config.output.state) as store:
            remove_stale_temp_files(self.config.output.posts_dir)
            asyncio.run(self._run(store, now, report, dry_run, on_feed))
        return report

    async def _run(self, store: Store, now: float, report: RunReport, dry_run: bool,
                   on_feed: Callable[[FeedOutcome], None] | None) -> None:
        async with Fetcher(self.config.fetch) as fetcher:
            tasks = []
            for channel in self.config.channels:
                state = store.feed_state(channel.key)
                if state is not None and state.retry_after and now < state.retry_after:
                    outcome = FeedOutcome(channel.key, channel.url, DEFERRED,
                                          f"server asked to wait until {_clock(state.retry_after)}")
                    self._report(report, outcome, on_feed)
                    continue
                tasks.append(asyncio.ensure_future(
                    self._fetch(fetcher, channel, state)
                ))
            for next_done in asyncio.as_completed(tasks):
                channel, state, result = await next_done
                outcome = self._settle(store, channel, state, result, now, dry_run)
                self._report(report, outcome, on_feed)

    def _report(self, report: RunReport, outcome: FeedOutcome,
                on_feed: Callable[[FeedOutcome], None] | None) -> None:
        report.outcomes.append(outcome)
        log.info("feed %s: %s %s new=%d updated=%d", outcome.channel, outcome.status,
                 outcome.message, outcome.new, outcome.updated)
        if on_feed is not None:
            on_feed(outcome)

    async def _fetch(self, fetcher: Fetcher, channel: Channel, state: FeedState | None,
                     ) -> tuple[Channel, FeedState | None, Fetched | FeedError]:
        validators = None
        if (state is not None and state.url == channel.url
                and state.settings_hash == settings_hash(self.config, channel)):
            validators = state.validators
        try:
            return channel, state, await fetcher.fetch(channel.url, validators)
        except FeedError as exc:
            return channel, state, exc

    def _settle(self, store: Store, channel: Channel, state: FeedState | None,
                result: Fetched | FeedError, now: float, dry_run: bool) -> FeedOutcome:
        outcome = FeedOutcome(channel.key, channel.url, OK)
        if isinstance(result, NotModified):
            outcome.status = NOT_MODIFIED
            if not dry_run:
                store.record_not_modified(channel.key, channel.url, now)
            return outcome
        try:
            if isinstance(result, FeedError):
                raise result
            self._write_channel(store, channel, result, now, dry_run, outcome)
        except FeedError as exc:
            outcome.status = FAILED
            outcome.message = str(exc)
            if not dry_run:
                store.record_failure(channel.key, channel.url, str(exc), now,
                                     exc.until if isinstance(exc, Deferred) else None)
            return outcome
        if not dry_run:
            store.record_fetch_ok(channel.key, channel.url, result.validators,
                                  settings_hash(self.config, channel), now)
        return outcome

    def _write_channel(self, store: Store, channel: Channel, fetched: Fetched, now: float,
                       dry_run: bool, outcome: FeedOutcome) -> None:
        parsed = parse_feed(fetched.content, fetched.url, fetched.content_type)
        output = self.config.output
        folder = channel_folder(output.posts_dir, channel.group, channel.site, channel.channel)
        known = store.known_items(channel.key)
        taken = {record.file.casefold() for record in known.values()}
        records: list[ItemRecord] = []
        seen: set[str] = set()
        for entry in parsed.entries:
            if len(records) >= channel.max_items:
                break
            if not channel.wants(entry.title):
                continue
            identity = item_identity(entry)
            if identity in seen:  # the same item twice in one feed: the first one counts
                continue
            seen.add(identity)
            record = known.get(identity)
            picsum = record.picsum if record else picsum_number(identity)
            first_seen = record.first_seen if record else now
            body = clean_body(entry.body, entry.link or fetched.url, output.image_proxy)
            outcome.sanitized += body.sanitized
            image = body.lead_image or _enclosure_image(entry.image, output.image_proxy) or picsum_url(picsum)
            text = render_post(Post(
                title=entry.title, group=channel.group, site=channel.site,
                channel=channel.channel, author=channel.author,
                date=post_date(entry.date_text, entry.published, first_seen),
                image=image, body=body.html,
            ))
            digest = content_hash(text)
            name = record.file if record is not None else file_name(entry.title, identity, taken)
            taken.add(name.casefold())
            path = post_path(folder, name)
            change = decide_change(
                None if record is None else known_of(record), digest,
                record is not None and path.exists(),
            )
            if change is not Change.UNCHANGED and not dry_run:
                write_atomic(path, text)
            setattr(outcome, change.value, getattr(outcome, change.value) + 1)
            records.append(ItemRecord(identity, name, digest, picsum, first_seen, now,
                                      entry.title, entry.link))
        if dry_run:
            return
        # Only now, with every file in place, does the store learn of them (crash safety).
        store.record_items(channel.key, records)
        if output.retention == "window":
            gone = [identity for identity in known if identity not in seen]
            for identity in gone:
                remove_post(post_path(folder, known[identity].file))
            store.forget_items(channel.key, gone)
            outcome.removed = len(gone)

    # ----------------------------------------------------------------------------- status

    def status(self) -> list[FeedState]:
        """Per channel of the config: what the store knows (channels never run included)."""
        with Store(self.config.output.state, read_only=True) as store:
            states = {state.channel: state for state in store.feed_states()}
        result = []
        for channel in self.config.channels:
            state = states.get(channel.key)
            if state is None:
                state = FeedState(channel.key, channel.url, HTTPValidators(), None, None, None,
                                  None, None, 0, None, 0)
            result.append(state)
        return result


def _enclosure_image(url: str | None, image_proxy: str) -> str | None:
    if not url or not url.startswith(("http://", "https://")):
        return None
    if image_proxy and url.startswith("http://"):
        return image_proxy + url
    return url


def _clock(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
