"""The public facade: :class:`Mirror` wires config, fetch, parse, clean, store and write.

It holds the run's control flow only; each decision lives in :mod:`newsmirror.decide`, each
format in its own module, and all SQL in :mod:`newsmirror.store`.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from .catalog import with_routes
from .config import Channel, Config, load_config
from .dates import now as crawl_now
from .decide import health_flags, next_fetch, renamed_channels
from .exceptions import Deferred, FeedError, NotModified
from .store import FeedState, RunLock, Store, run_in_progress
from .types import HTTPValidators
from .write import remove_stale_temp_files

if TYPE_CHECKING:
    from .prune import PruneReport
    from .job import ChannelJob, ChannelUpdate
    from .site import BuildReport
    from .workers import FetchLimits, RunJob

log = logging.getLogger("newsmirror")

OK, NOT_MODIFIED, FAILED, DEFERRED = "ok", "not modified", "failed", "deferred"
NOT_DUE = "not due"   # its wait since the last fetch has not passed (decide.fetch_wait)
# Bump when the post bytes for the same input change, so stored validators stop short-circuiting.
OUTPUT_FORMAT = 2


@dataclass(slots=True)
class FeedOutcome:
    """What one run did with one channel."""

    channel: str
    url: str
    status: str                  # OK, NOT_MODIFIED, FAILED, DEFERRED or NOT_DUE
    message: str = ""
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    sanitized: int = 0           # items whose HTML had to be sanitised
    adopted: int = 0             # posts on disk the state did not know, now recorded


@dataclass(slots=True)
class RunReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)
    posts_dir: Path | None = None
    # Channels whose levels changed (same URL): (old key, new key, posts moved).
    moved: list[tuple[str, str, int]] = field(default_factory=list)
    # Those whose posts could not move: (old key, new key, why). They stay where they were.
    not_moved: list[tuple[str, str, str]] = field(default_factory=list)

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
            f"{self.count(FAILED)} failed, {self.count(DEFERRED)} deferred, "
            f"{self.count(NOT_DUE)} not due; "
            f"items: {self.total('new')} new, {self.total('updated')} updated, "
            f"{self.total('unchanged')} unchanged, {self.total('removed')} removed"
        )


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    state: FeedState
    flags: list[str]
    next_fetch: float | None = None   # when a run fetches it next (None: the next run)


def settings_hash(config: Config, channel: Channel) -> str:
    """What, besides the feed, shapes a channel's posts; validators hold only while it is equal."""
    parts = (OUTPUT_FORMAT, channel.url, channel.key, channel.author, channel.max_items,
             channel.include.pattern if channel.include else None,
             channel.exclude.pattern if channel.exclude else None,
             config.output.image_proxy, config.output.retention, config.clean.iframe_hosts)
    # Settings added since: in the hash only when not at their default, so that an upgrade
    # keeps every channel's validators.
    later = (config.output.fallback_image, config.output.titles, config.max_age_of(channel))
    if later != ("picsum", "reference", None):
        parts += later
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def read_config(path: Path | str, *, routes: bool = True) -> Config:
    """The config at ``path`` as the command line reads it: its ``[[route]]`` entries expanded
    into channels through the RSSHub catalogue, unless ``routes`` is false. Raises
    :class:`ConfigError` naming the file."""
    config = load_config(Path(path))
    return with_routes(config) if routes else config


def make_mirror(config_path: Path | str) -> Mirror:
    """A :class:`Mirror` of the config at ``config_path``, loaded exactly as the command line
    loads it (routes included): ``make_mirror("newsmirror.toml").run()``."""
    return Mirror(read_config(config_path))


class Mirror:
    """Runs a configuration (see :func:`make_mirror`; ``Mirror(config)`` takes a
    :class:`Config` as it is, routes not expanded)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._on_start: Callable[[str], None] | None = None
        self._on_tick: Callable[[], None] | None = None

    # ----------------------------------------------------------------------------- run

    def run(self, *, dry_run: bool = False, every_channel: bool = False,
            on_feed: Callable[[FeedOutcome], None] | None = None,
            on_start: Callable[[str], None] | None = None,
            on_tick: Callable[[], None] | None = None) -> RunReport:
        """Fetch the channels that are due (``every_channel``: all of them, though never one a
        server asked to wait with Retry-After) and write their posts. Feed errors are reported,
        never raised.

        For progress: ``on_start(channel key)`` as a channel's fetch begins, ``on_feed`` as it
        ends, and ``on_tick()`` twice a second while channels are in flight."""
        # Imported here, as in _run: `build` and `status` need none of the fetching stack, and
        # leaving it out takes a tenth of a second off their start.
        import asyncio
        report = RunReport(posts_dir=self.config.output.posts_dir)
        self._on_start, self._on_tick = on_start, on_tick
        asyncio.run(self._run(crawl_now(), report, dry_run, every_channel, on_feed))
        return report

    def due_at(self, channel: Channel, state: FeedState | None) -> float | None:
        """When the channel is due (``None``: now; it was never fetched, or its URL changed,
        which makes it a new feed to the schedule as to the validators)."""
        if state is None or state.url != channel.url:
            return None
        interval = self.config.fetch.interval if channel.interval is None else channel.interval
        return next_fetch(last_attempt=state.last_attempt, interval=interval,
                          fresh_for=state.fresh_for, ttl=state.ttl, failures=state.failures,
                          retry_after=state.retry_after)

    async def _run(self, now: float, report: RunReport, dry_run: bool, every_channel: bool,
                   on_feed: Callable[[FeedOutcome], None] | None) -> None:
        from .job import ChannelJob
        from .workers import FetchLimits, channel_runner

        limits = FetchLimits(self.config.fetch)
        output = self.config.output
        job_for = partial(ChannelJob, posts_dir=output.posts_dir, image_proxy=output.image_proxy,
                          retention=output.retention, now=now, dry_run=dry_run,
                          iframe_hosts=self.config.clean.iframe_hosts,
                          fallback_image=output.fallback_image, exact_titles=output.titles == "exact",
                          max_age=output.max_age)
        # The lock first, so that no worker outlives it; then the workers, which import the HTTP
        # client while this opens the store and reads the states (nor do they inherit the
        # store's connection).
        with self._lock(dry_run, now) as interrupted:
            async with channel_runner(len(self.config.channels), self.config.fetch) as run_job:
                with Store.for_dry_run(output.state) if dry_run else Store(output.state) as store:
                    if interrupted:
                        remove_stale_temp_files(output.posts_dir)
                    self._move_renamed_channels(store, report, dry_run)
                    await self._update_due(store, run_job, limits, job_for, now, every_channel,
                                           report, on_feed)

    def _move_renamed_channels(self, store: Store, report: RunReport, dry_run: bool) -> None:
        """A channel whose group / site / channel changed (same URL) takes its posts along to
        its new folder, and its state, so that it neither loses nor duplicates them."""
        from .write import NameClash, channel_folder, move_posts

        stored = [(state.channel, state.url) for state in store.feed_states()]
        for old, new in renamed_channels(((c.key, c.url) for c in self.config.channels), stored):
            names = [record.file for record in store.known_items(old).values()]
            if dry_run:
                report.moved.append((old, new, len(names)))
                continue
            posts = self.config.output.posts_dir
            try:
                moved = move_posts(channel_folder(posts, *old.split("/")),
                                   channel_folder(posts, *new.split("/")), names)
            except (NameClash, OSError) as exc:
                reason = str(exc) if isinstance(exc, NameClash) else f"{exc.filename}: {exc.strerror}"
                report.not_moved.append((old, new, reason))
                continue
            store.rename_channel(old, new)
            report.moved.append((old, new, moved))

    async def _update_due(self, store: Store, run_job: RunJob, limits: FetchLimits,
                          job_for: Callable[[Channel, HTTPValidators | None], ChannelJob],
                          now: float, every_channel: bool, report: RunReport,
                          on_feed: Callable[[FeedOutcome], None] | None) -> None:
        """Update every due channel not asked to wait, all at once within the fetch limits."""
        import asyncio

        due: list[tuple[Channel, FeedState | None]] = []
        for channel in self.config.channels:
            state = store.feed_state(channel.key)
            if state is not None and state.retry_after and now < state.retry_after:
                outcome = FeedOutcome(channel.key, channel.url, DEFERRED,
                                      f"server asked to wait until {_clock(state.retry_after)}")
                self._report(report, outcome, on_feed)
                continue
            when = self.due_at(channel, state)
            if not every_channel and when is not None and now < when:
                self._report(report, FeedOutcome(channel.key, channel.url, NOT_DUE,
                                                 f"next fetch at {_clock(when)}"), on_feed)
                continue
            due.append((channel, state))
        ticker = asyncio.create_task(self._tick(store)) if due else None
        with store.transaction():
            try:
                await asyncio.gather(*(
                    self._update_channel(run_job, limits, store, job_for, channel, state,
                                         report, on_feed)
                    for channel, state in due
                ))
            except asyncio.CancelledError:
                # Interrupted (Ctrl-C): keep what is recorded. It is whole: each channel's
                # records go in at once, after its posts are in place.
                store.checkpoint(every=0)
                raise
            finally:
                if ticker is not None:
                    ticker.cancel()

    async def _tick(self, store: Store) -> None:
        """Twice a second: progress, and a commit of what finished (so that `status` sees it
        while a slow feed holds the run up)."""
        import asyncio

        while True:
            await asyncio.sleep(0.5)
            store.checkpoint()
            if self._on_tick is not None:
                self._on_tick()

    @contextmanager
    def _lock(self, dry_run: bool, now: float) -> Iterator[bool]:
        """The run lock (none for a dry run, which writes nothing); gives whether the last run
        was killed or interrupted. ``now`` is the run's clock, which its records bear: `status`
        counts the channels done since."""
        if dry_run:
            yield False
            return
        with RunLock(self.config.output.state, started=now) as lock:
            yield lock.previous_run_interrupted

    def _report(self, report: RunReport, outcome: FeedOutcome,
                on_feed: Callable[[FeedOutcome], None] | None) -> None:
        report.outcomes.append(outcome)
        log.info("feed %s: %s %s new=%d updated=%d", outcome.channel, outcome.status,
                 outcome.message, outcome.new, outcome.updated)
        if on_feed is not None:
            on_feed(outcome)

    async def _update_channel(self, run_job: RunJob, limits: FetchLimits, store: Store,
                              job_for: Callable[[Channel, HTTPValidators | None], ChannelJob],
                              channel: Channel, state: FeedState | None, report: RunReport,
                              on_feed: Callable[[FeedOutcome], None] | None) -> None:
        """Fetch, parse, clean, render and write (in a worker process when there are workers),
        within the fetch limits; then record in the store."""
        validators = None
        if (state is not None and state.url == channel.url
                and state.settings_hash == settings_hash(self.config, channel)):
            validators = state.validators
        job = job_for(channel, validators)
        async with limits.place(channel.url) as place:
            if self._on_start is not None:
                self._on_start(channel.key)
            # A channel never run has no items: nothing to ask the store when its feed comes.
            known = None if state is None else (lambda: store.known_items(channel.key))
            result = await run_job(job, place, known)
        if getattr(result, "details", None):
            log.debug("feed %s: %s", channel.key, result.details)  # an internal error's traceback
        # Synchronous from here: the store is only ever used by one task at a time.
        outcome = self._settle(store, channel, result, job.now, job.dry_run)
        store.checkpoint()
        self._report(report, outcome, on_feed)

    def _settle(self, store: Store, channel: Channel, result: ChannelUpdate | FeedError,
                now: float, dry_run: bool) -> FeedOutcome:
        """Tell the store what happened; the posts of a successful update are already written."""
        outcome = FeedOutcome(channel.key, channel.url, OK)
        if isinstance(result, NotModified):
            outcome.status = NOT_MODIFIED
            if not dry_run:
                store.record_not_modified(channel.key, channel.url, now, result.fresh_for)
                outcome.removed = self._remove_aged(store, channel, now)
            return outcome
        if isinstance(result, FeedError):
            outcome.status = FAILED
            outcome.message = " ".join(str(result).split())  # one line in logs and summaries
            if not dry_run:
                store.record_failure(channel.key, channel.url, outcome.message, now,
                                     result.until if isinstance(result, Deferred) else None)
            return outcome
        outcome.new, outcome.updated, outcome.unchanged = result.new, result.updated, result.unchanged
        outcome.removed, outcome.sanitized = len(result.gone), result.sanitized
        outcome.adopted = result.adopted
        if not dry_run:
            # Forgotten first: an adopted post's record gives its file to the item that claims it.
            store.forget_items(channel.key, result.gone + result.released)
            store.record_items(channel.key, result.records)
            store.record_fetch_ok(channel.key, channel.url, result.validators,
                                  settings_hash(self.config, channel), now, result.new,
                                  result.fresh_for, result.ttl)
            outcome.removed += self._remove_aged(store, channel, now)
        return outcome

    def _remove_aged(self, store: Store, channel: Channel, now: float) -> int:
        """Remove the channel's posts older than its max_age; returns how many went."""
        if self.config.max_age_of(channel) is None:
            return 0
        from .prune import PruneReport, remove_aged

        report = PruneReport()
        remove_aged(self.config, store, channel, now, report, dry_run=False)
        return len(report.removed)

    # ----------------------------------------------------------------------------- prune

    def prune(self, *, dry_run: bool = False) -> "PruneReport":
        """Remove the posts the mirror no longer owns (:mod:`newsmirror.prune`); ``dry_run``
        lists them and changes nothing."""
        from .prune import prune

        state = self.config.output.state
        now = crawl_now()
        with self._lock(dry_run, now):
            with Store.for_dry_run(state) if dry_run else Store(state) as store:
                return prune(self.config, store, now, dry_run=dry_run)

    # ----------------------------------------------------------------------------- site

    def build_site(self, *, full: bool = False) -> BuildReport:
        """Render the built-in site into ``config.public_dir`` (only what changed)."""
        # Not imported with the package: workers need none of it.
        from .site import build_site

        with RunLock(self.config.output.state):
            return build_site(self.config, full=full)

    # ----------------------------------------------------------------------------- status

    def health(self, *, failing_after: int | None = None, stale_days: float | None = None,
               now: float | None = None) -> list[ChannelHealth]:
        """Per channel: its state and what an operator should look at (``[health]`` settings,
        unless overridden here)."""
        settings = self.config.health
        failing_after = failing_after or settings.failing_after
        stale_days = stale_days or settings.stale_days
        now = crawl_now() if now is None else now
        report = []
        for channel, state in zip(self.config.channels, self.status()):
            flags = health_flags(failures=state.failures, last_ok=state.last_ok,
                                 last_new=state.last_new, last_error=state.last_error, now=now,
                                 failing_after=failing_after, stale_days=stale_days)
            when = self.due_at(channel, state)
            report.append(ChannelHealth(state, flags, when if when is not None and when > now else None))
        return report

    def next_due(self) -> float | None:
        """The earliest time a channel of the config is due (``None``: one is due now)."""
        if not self.config.output.state.exists():
            return None
        with Store(self.config.output.state, read_only=True) as store:
            states = {state.channel: state for state in store.feed_states()}
        earliest: float | None = None
        for channel in self.config.channels:
            when = self.due_at(channel, states.get(channel.key))
            if when is None:
                return None
            earliest = when if earliest is None else min(earliest, when)
        return earliest

    def run_in_progress(self) -> tuple[int, float | None] | None:
        """(pid, its clock at the start) of a run on this state now, if there is one."""
        return run_in_progress(self.config.output.state)

    def unowned_posts(self) -> int:
        """Post files in the channels' folders that the state does not know: the state was
        lost or is younger than them. The next run that fetches their channel adopts them."""
        from .write import Folder, channel_folder

        owned: dict[str, set[str]] = {}
        if self.config.output.state.exists():
            with Store(self.config.output.state, read_only=True) as store:
                owned = store.owned_files()
        count = 0
        for channel in self.config.channels:
            mine = owned.get(channel.key, set())
            with Folder(channel_folder(self.config.output.posts_dir, channel.group, channel.site,
                                       channel.channel), create=False) as folder:
                count += sum(1 for name in folder.post_names() if name.casefold() not in mine)
        return count

    def status(self) -> list[FeedState]:
        """Per channel of the config: what the store knows (channels never run included)."""
        with Store(self.config.output.state, read_only=True) as store:
            states = {state.channel: state for state in store.feed_states()}
        result = []
        for channel in self.config.channels:
            state = states.get(channel.key)
            if state is None:
                state = FeedState(channel.key, channel.url, HTTPValidators(), None, None, None,
                                  None, None, 0, None)
            result.append(state)
        return result


def _clock(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
