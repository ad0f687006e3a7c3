"""The ``newsmirror`` command: a thin layer over :class:`newsmirror.Mirror`.

Exit codes: 0 all feeds fine, 1 some feeds failed (the others were written), 2 config error
(nothing was written), 3 the state is locked by another run or unusable.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, NoReturn

import click

from . import __version__
from .config import Config, load_config
from .core import FAILED, FeedOutcome, Mirror
from .exceptions import ConfigError, LockedError, StorageError

# 0 (all fine) and 1 (some feeds failed) come from RunReport.exit_code.
EXIT_CONFIG, EXIT_STATE = 2, 3
DEFAULT_CONFIG = "newsmirror.toml"


def _config_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--config`` on the group and on every command, whichever place the user puts it."""
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
        default=None, help=f"Config file (default: ./{DEFAULT_CONFIG}).",
    )(function)


def _load(ctx: click.Context, config_path: Path | None) -> Config:
    path = config_path or ctx.obj.get("config_path") or Path(DEFAULT_CONFIG)
    try:
        return load_config(path)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"newsmirror: error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsmirror")
@_config_option
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the summary.")
@click.option("-v", "--verbose", is_flag=True, help="Log every feed's details.")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, quiet: bool, verbose: bool) -> None:
    """Mirror feeds (RSS, Atom, JSON Feed, RSSHub routes) into Hexo posts."""
    ctx.ensure_object(dict)
    ctx.obj.update(config_path=config_path, quiet=quiet, verbose=verbose)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@main.command()
@_config_option
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the summary.")
@click.option("-v", "--verbose", is_flag=True, help="A line for every feed, even on a terminal.")
@click.option("-n", "--dry-run", is_flag=True, help="Fetch and decide, but write no file and no state.")
@click.pass_context
def run(ctx: click.Context, config_path: Path | None, quiet: bool, verbose: bool, dry_run: bool) -> None:
    """Fetch every channel and write its posts."""
    quiet = quiet or ctx.obj["quiet"]
    verbose = verbose or ctx.obj["verbose"]
    config = _load(ctx, config_path)
    mirror = Mirror(config)
    progress = _Progress(len(config.channels), quiet=quiet, verbose=verbose)
    try:
        report = mirror.run(dry_run=dry_run, on_feed=progress.feed_done)
    except (LockedError, StorageError) as exc:
        progress.close()
        _fail(str(exc), EXIT_STATE)
    except OSError as exc:  # the state's folder cannot be made or used
        progress.close()
        _fail(f"{exc.filename or config.output.state}: {exc.strerror or exc}", EXIT_STATE)
    progress.close()
    for outcome in report.failed:
        click.echo(f"failed: {outcome.channel} ({outcome.url}): {outcome.message}", err=True)
    prefix = "dry run, nothing written: " if dry_run else ""
    click.echo(prefix + report.summary())
    if not quiet and not dry_run:
        click.echo(f"posts: {report.posts_dir}")
    sys.exit(report.exit_code)


class _Progress:
    """A bar on a terminal, one plain line per feed otherwise (logs, cron mail)."""

    def __init__(self, total: int, *, quiet: bool, verbose: bool) -> None:
        self.quiet = quiet
        self.lines = verbose or not sys.stderr.isatty()
        self.bar = None
        if not quiet and not self.lines:
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="feed", file=sys.stderr, leave=False)

    def feed_done(self, outcome: FeedOutcome) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if outcome.status == FAILED:
                self.bar.write(f"failed: {outcome.channel}: {outcome.message}", file=sys.stderr)
        elif self.lines and not self.quiet:
            detail = (outcome.message if outcome.status == FAILED else
                      f"{outcome.new} new, {outcome.updated} updated, {outcome.unchanged} unchanged")
            click.echo(f"{outcome.status}: {outcome.channel}: {detail}", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@main.command()
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, config_path: Path | None, as_json: bool) -> None:
    """Per channel: last success, last error, failures in a row, items."""
    config = _load(ctx, config_path)
    try:
        states = Mirror(config).status()
    except StorageError as exc:
        _fail(str(exc), EXIT_STATE)
    rows = [{
        "channel": s.channel, "url": s.url, "last_ok": _iso(s.last_ok),
        "last_error_at": _iso(s.last_error_at), "last_error": s.last_error,
        "failures": s.failures, "retry_after": _iso(s.retry_after), "items": s.items,
    } for s in states]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        line = f"{row['channel']}: {row['items']} items, last ok {row['last_ok'] or 'never'}"
        if row["failures"]:
            line += f", {row['failures']} failures in a row, last error: {row['last_error']}"
        click.echo(line)


@main.command()
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def channels(ctx: click.Context, config_path: Path | None, as_json: bool) -> None:
    """The channels as newsmirror understood the config."""
    config = _load(ctx, config_path)
    rows = [{
        "group": c.group, "site": c.site, "channel": c.channel, "url": c.url,
        "author": c.author, "max_items": c.max_items,
        "include": c.include.pattern if c.include else None,
        "exclude": c.exclude.pattern if c.exclude else None,
    } for c in config.channels]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"config: {config.path}")
    click.echo(f"posts: {config.output.posts_dir}")
    click.echo(f"state: {config.output.state}")
    for row in rows:
        extra = "".join(f", {k} {row[k]!r}" for k in ("include", "exclude") if row[k])
        click.echo(f"{row['group']} / {row['site']} / {row['channel']}: {row['url']}"
                   f" (max {row['max_items']}{extra})")


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


if __name__ == "__main__":  # pragma: no cover
    main()
