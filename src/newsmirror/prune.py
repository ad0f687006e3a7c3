"""``newsmirror prune``: remove the posts the mirror no longer owns.

Three kinds go: the posts of channels that left the config (with their state), posts older
than their channel's ``max_age``, and post files in our format in a folder that belongs to no
channel of the config (left by a rename before posts moved along, or by a lost state). Nothing
else under the posts folder is touched: a Hexo site's own posts are not ours, and a file in a
configured channel's folder that the state does not know is adopted by the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import Channel, Config
from .hexo import read_post
from .store import ItemRecord, Store
from .write import Folder, channel_folder, remove_empty_folders

GONE_CHANNEL = "its channel is no longer in the config"
TOO_OLD = "older than max_age"
NO_CHANNEL = "in no channel's folder of the config"


@dataclass(slots=True)
class PruneReport:
    removed: list[tuple[str, str]] = field(default_factory=list)  # (path under posts, why)
    forgotten: list[str] = field(default_factory=list)            # channels dropped from the state

    def count(self, reason: str) -> int:
        return sum(1 for _, why in self.removed if why == reason)


def prune(config: Config, store: Store, now: float, *, dry_run: bool) -> PruneReport:
    """Remove (or, ``dry_run``, list) what the mirror no longer owns; see the module's doc."""
    posts = config.output.posts_dir
    report = PruneReport()
    configured = {channel.key for channel in config.channels}
    for state in store.feed_states():
        if state.channel in configured:
            continue
        levels = state.channel.split("/")
        records = list(store.known_items(state.channel).values())
        _remove(report, posts, channel_folder(posts, *levels), records, GONE_CHANNEL, dry_run)
        report.forgotten.append(state.channel)
        if not dry_run:
            store.forget_channel(state.channel)
    for channel in config.channels:
        remove_aged(config, store, channel, now, report, dry_run=dry_run)
    ours = {channel_folder(posts, c.group, c.site, c.channel) for c in config.channels}
    listed = {path for path, _ in report.removed}  # a dry run leaves them in place
    for folder in sorted(_channel_folders(posts)):
        if folder in ours:
            continue
        with Folder(folder, create=False) as opened:
            strays = [name for name in sorted(opened.post_names())
                      if str((folder / name).relative_to(posts)) not in listed
                      and _is_our_post(opened, name)]
            for name in strays:
                report.removed.append((str((folder / name).relative_to(posts)), NO_CHANNEL))
                if not dry_run:
                    opened.remove(name)
        if strays and not dry_run:
            remove_empty_folders(folder, stop=posts)
    return report


def remove_aged(config: Config, store: Store, channel: Channel, now: float, report: PruneReport,
                *, dry_run: bool) -> None:
    """The channel's posts older than its max_age (a run does this for each channel it
    fetches; prune for all)."""
    max_age = config.max_age_of(channel)
    if max_age is None:
        return
    aged = [record for record in store.known_items(channel.key).values()
            if record.dated < now - max_age]
    if not aged:
        return
    posts = config.output.posts_dir
    folder = channel_folder(posts, channel.group, channel.site, channel.channel)
    _remove(report, posts, folder, aged, TOO_OLD, dry_run)  # files first: a crash leaves a known name
    if not dry_run:
        store.forget_items(channel.key, [record.identity for record in aged])


def _remove(report: PruneReport, posts: Path, folder: Path, records: list[ItemRecord],
            reason: str, dry_run: bool) -> None:
    with Folder(folder, create=False) as opened:
        for record in records:
            if opened.exists(record.file):
                report.removed.append((str((folder / record.file).relative_to(posts)), reason))
                if not dry_run:
                    opened.remove(record.file)
    if records and not dry_run:
        remove_empty_folders(folder, stop=posts)


def _channel_folders(posts: Path) -> list[Path]:
    """The group / site / channel folders under the posts folder (three levels down)."""
    if not posts.is_dir():
        return []
    return [channel for group in posts.iterdir() if group.is_dir()
            for site in group.iterdir() if site.is_dir()
            for channel in site.iterdir() if channel.is_dir()]


def _is_our_post(folder: Folder, name: str) -> bool:
    try:
        return read_post(folder.read(name).decode("utf-8")) is not None
    except (OSError, UnicodeDecodeError):
        return False
