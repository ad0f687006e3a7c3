"""The ``newsmirror`` command: a thin layer over :class:`newsmirror.Mirror`.

Exit codes: 0 all feeds fine, 1 some feeds failed (the others were written), 2 config error
(nothing was written), 3 the state is locked by another run or unusable, 130 interrupted
(Ctrl-C; what was done is kept).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, NoReturn

import click

from . import __version__
from .catalog import LANGUAGES, CatalogRoute, category_label, load_catalog
from .config import DEFAULT_RSSHUB_BASE, Config
from .core import DEFERRED, FAILED, NOT_DUE, FeedOutcome, Mirror, read_config
from .exceptions import ConfigError, LockedError, StorageError
from .rsshub import unfilled_parameters
from .wording import plural

# 0 (all fine) and 1 (some feeds failed) come from RunReport.exit_code.
EXIT_CONFIG, EXIT_STATE = 2, 3
EXIT_INTERRUPTED = 130   # 128 + SIGINT, as shells report it
DEFAULT_CONFIG = "newsmirror.toml"


def _config_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--config`` on the group and on every command, whichever place the user puts it."""
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
        default=None, help=f"Config file (default: ./{DEFAULT_CONFIG}).",
    )(function)


def _config_path(ctx: click.Context, config_path: Path | None) -> Path:
    return config_path or ctx.obj.get("config_path") or Path(DEFAULT_CONFIG)


def _load(ctx: click.Context, config_path: Path | None, *, routes: bool = True) -> Config:
    """The config, its ``[[route]]`` entries expanded through the catalogue unless told not."""
    try:
        return read_config(_config_path(ctx, config_path), routes=routes)
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
@click.option("-q", "--quiet", is_flag=True,
              help="Nothing when all went well (for cron); failures and the summary otherwise.")
@click.option("-v", "--verbose", is_flag=True, help="A line for every feed, even on a terminal.")
@click.option("-n", "--dry-run", is_flag=True, help="Fetch and decide, but write no file and no state.")
@click.option("--all", "every_channel", is_flag=True,
              help="Fetch every channel, due or not (a server's Retry-After still holds).")
@click.pass_context
def run(ctx: click.Context, config_path: Path | None, quiet: bool, verbose: bool, dry_run: bool,
        every_channel: bool) -> None:
    """Fetch the channels that are due and write their posts."""
    quiet = quiet or ctx.obj["quiet"]
    verbose = verbose or ctx.obj["verbose"]
    config = _load(ctx, config_path)
    mirror = Mirror(config)
    progress = _Progress(len(config.channels), quiet=quiet, verbose=verbose)
    try:
        report = mirror.run(dry_run=dry_run, every_channel=every_channel,
                            on_feed=progress.feed_done, on_start=progress.feed_started,
                            on_tick=progress.tick)
    except (LockedError, StorageError) as exc:
        progress.close()
        _fail(str(exc), EXIT_STATE)
    except OSError as exc:  # the state's folder cannot be made or used
        progress.close()
        _fail(f"{exc.filename or config.output.state}: {exc.strerror or exc}", EXIT_STATE)
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"newsmirror: interrupted: {progress.done} of {progress.total} feeds done and "
                   "recorded; the others are fetched on the next run", err=True)
        sys.exit(EXIT_INTERRUPTED)
    progress.close()
    for old, new, count in report.moved:
        # Said even when quiet: files moved on disk, which a Hexo site's git history will show.
        verb = "would move" if dry_run else "moved"
        click.echo(f"{verb} {plural(count, 'post')}: {old} -> {new} (the channel's levels changed)")
    for old, new, reason in report.not_moved:
        click.echo(f"not moved: {old} -> {new}: {reason}; its posts stay in the old folder",
                   err=True)
    for outcome in report.failed:
        click.echo(f"failed: {outcome.channel} ({outcome.url}): {outcome.message}", err=True)
    prefix = "dry run, nothing written: " if dry_run else ""
    # Quiet and all well: not a line (cron mails whatever a job prints).
    silent = quiet and report.exit_code == 0
    adopted = report.total("adopted")
    if adopted and not silent:
        click.echo(f"adopted {plural(adopted, 'post')} on disk that the state did not know "
                   "(it was lost or new): kept as they are, and on the site")
    if not silent:
        click.echo(prefix + report.summary())
    if not quiet and not dry_run:
        click.echo(f"posts: {report.posts_dir}")
    if config.site.enabled and not dry_run:
        _build(mirror, quiet=quiet, silent=silent)
    sys.exit(report.exit_code)


def _build(mirror: Mirror, *, quiet: bool, full: bool = False, silent: bool = False) -> None:
    try:
        built = mirror.build_site(full=full)
    except KeyboardInterrupt:
        # Every page is written whole, and the build's record of them only at its end: the
        # next build redoes what this one did not finish.
        click.echo("newsmirror: interrupted: the site is brought up to date by the next build",
                   err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (LockedError, StorageError) as exc:
        _fail(str(exc), EXIT_STATE)
    except OSError as exc:
        _fail(f"{exc.filename or mirror.config.public_dir}: {exc.strerror or exc}", EXIT_STATE)
    if not silent:
        click.echo(built.summary())
    for path in built.missing[:10]:
        click.echo(f"missing post: {path}", err=True)
    if built.outside_changes:
        # Not silenced by --quiet: something else writes into the site's folder.
        changed = plural(built.outside_changes, "page")
        click.echo(f"site: rewrote {changed} that something other than newsmirror had changed "
                   "or removed since the last build", err=True)
        if mirror.config.shares_hexo_public:
            click.echo(f"site: {mirror.config.public_dir} is also the Hexo site's output folder "
                       "(`hexo generate` overwrites it, `hexo clean` deletes it): give the site "
                       "a folder of its own, [site] dir = \"public\"", err=True)
    if not quiet:
        click.echo(f"site: {mirror.config.public_dir} "
                   f"(preview: newsmirror serve --config {mirror.config.path})")


@main.command()
@_config_option
@click.option("-n", "--dry-run", is_flag=True, help="List what would go; remove nothing.")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary, not a line per post.")
@click.pass_context
def prune(ctx: click.Context, config_path: Path | None, dry_run: bool, quiet: bool) -> None:
    """Remove the posts the mirror no longer owns: of channels no longer in the config, older
    than max_age, or in a folder that is no channel's of the config. A Hexo site's own posts,
    and anything not in newsmirror's post format, are left alone."""
    from .prune import GONE_CHANNEL, NO_CHANNEL, TOO_OLD

    mirror = Mirror(_load(ctx, config_path))
    try:
        report = mirror.prune(dry_run=dry_run)
    except (LockedError, StorageError) as exc:
        _fail(str(exc), EXIT_STATE)
    except OSError as exc:
        _fail(f"{exc.filename or mirror.config.output.posts_dir}: {exc.strerror or exc}", EXIT_STATE)
    verb = "would remove" if dry_run else "removed"
    if not quiet:
        for path, why in report.removed:
            click.echo(f"{verb}: {path} ({why})")
    reasons = ", ".join(f"{report.count(why)} {label}" for why, label in (
        (GONE_CHANNEL, "of channels no longer in the config"), (TOO_OLD, "older than max_age"),
        (NO_CHANNEL, "in no channel's folder")) if report.count(why))
    click.echo(f"{'dry run, nothing removed: ' if dry_run else ''}{verb} "
               f"{plural(len(report.removed), 'post')}" + (f" ({reasons})" if reasons else ""))


@main.command()
@_config_option
@click.option("--min-wait", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds between the end of a round and the next, at least.")
@click.option("--max-wait", type=click.FloatRange(min=1), default=3600.0, show_default=True,
              help="Seconds between rounds at most, even when no channel is due sooner.")
@click.pass_context
def watch(ctx: click.Context, config_path: Path | None, min_wait: float, max_wait: float) -> None:
    """Run due channels as they come due, building the site after each round (SIGTERM or
    Ctrl-C stops, within seconds, nothing lost). One line per round."""
    import signal
    import threading
    import time

    from .dates import now as crawl_now

    config = _load(ctx, config_path)
    mirror = Mirror(config)
    stop = threading.Event()
    in_round = threading.Event()

    def on_signal(number: int, frame: object) -> None:
        stop.set()
        if in_round.is_set():  # the round stops as Ctrl-C stops a run: what is done is kept
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"watching {len(config.channels)} channels ({config.path}); SIGTERM or Ctrl-C stops")
    rounds = 0
    while not stop.is_set():
        rounds += 1
        in_round.set()
        try:
            report = mirror.run()
            line = report.summary()
            if config.site.enabled and not stop.is_set():
                line += "; site: " + mirror.build_site().summary()
        except KeyboardInterrupt:
            click.echo(f"{_iso(time.time())} round {rounds}: stopped; what it finished is recorded")
            break
        except (LockedError, StorageError) as exc:
            line = f"skipped: {exc}"  # another run holds the state: try again next round
        except OSError as exc:
            line = f"skipped: {exc.filename or config.output.state}: {exc.strerror or exc}"
        finally:
            in_round.clear()
        click.echo(f"{_iso(time.time())} round {rounds}: {line}")
        try:
            due = mirror.next_due()
        except StorageError:
            due = None
        wait = 0.0 if due is None else due - crawl_now()
        stop.wait(min(max(wait, min_wait), max(max_wait, min_wait)))
    click.echo("newsmirror: watch stopped")


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def init(folder: Path) -> None:
    """Make a new mirror in FOLDER: a commented newsmirror.toml, .gitignore and a GitHub
    Actions workflow that runs it on a schedule and publishes the site to GitHub Pages."""
    from .scaffold import scaffold
    try:
        made = scaffold(folder)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except OSError as exc:
        _fail(f"{exc.filename or folder}: {exc.strerror or exc}", EXIT_CONFIG)
    for path in made.written:
        click.echo(f"wrote {path}")
    click.echo(f"next: cd {folder} && newsmirror run   (then `newsmirror serve` to preview)")


@main.command()
@_config_option
@click.option("--full", is_flag=True, help="Render every page, not only what changed.")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary.")
@click.pass_context
def build(ctx: click.Context, config_path: Path | None, full: bool, quiet: bool) -> None:
    """Render the built-in site into [site] dir (default <output.dir>/public) from the state
    and the posts."""
    _build(Mirror(_load(ctx, config_path)), quiet=quiet or ctx.obj["quiet"], full=full)


@main.command()
@_config_option
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.pass_context
def serve(ctx: click.Context, config_path: Path | None, port: int, bind: str) -> None:
    """Preview the built site over HTTP (Ctrl-C stops)."""
    from .serve import serve_site
    config = _load(ctx, config_path)
    if not (config.public_dir / "index.html").exists():
        _fail(f"{config.public_dir}: no site yet; run `newsmirror build` first", EXIT_CONFIG)
    try:
        serve_site(config.public_dir, config.site.root, bind, port,
                   lambda url: click.echo(f"serving {config.public_dir} at {url} (Ctrl-C stops)"))
    except OSError as exc:
        _fail(f"cannot listen on {bind}:{port}: {exc.strerror or exc}", EXIT_CONFIG)


class _Progress:
    """A bar on a terminal, one plain line per feed otherwise (logs, cron mail).

    The bar moves as each feed finishes and, while some take long, names the slowest still in
    flight. It is drawn from the run's own ticks, not tqdm's monitor thread: while another
    thread runs, the run's workers cannot simply be forked."""

    SLOW = 5.0   # seconds in flight before a feed is named

    def __init__(self, total: int, *, quiet: bool, verbose: bool) -> None:
        self.total, self.done = total, 0
        self.quiet = quiet
        self.lines = verbose or not sys.stderr.isatty()
        self.bar = None
        self.in_flight: dict[str, float] = {}
        if not quiet and not self.lines:
            from tqdm import tqdm
            tqdm.monitor_interval = 0
            self.bar = tqdm(total=total, unit="feed", file=sys.stderr, leave=False,
                            mininterval=0, miniters=1, dynamic_ncols=True)

    def feed_started(self, channel: str) -> None:
        self.in_flight[channel] = time.monotonic()

    def feed_done(self, outcome: FeedOutcome) -> None:
        self.done += 1
        self.in_flight.pop(outcome.channel, None)
        if self.bar is not None:
            if outcome.status == FAILED:
                self.bar.write(f"failed: {outcome.channel}: {outcome.message}", file=sys.stderr)
            self.bar.set_postfix_str(self._slowest(), refresh=False)
            self.bar.update(1)
        elif self.lines and not self.quiet:
            detail = (outcome.message if outcome.status in (FAILED, DEFERRED, NOT_DUE) else
                      f"{outcome.new} new, {outcome.updated} updated, {outcome.unchanged} unchanged")
            click.echo(f"{outcome.status}: {outcome.channel}: {detail}", err=True)

    def tick(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(self._slowest(), refresh=False)
            self.bar.refresh()

    def _slowest(self, most: int = 2) -> str:
        now = time.monotonic()
        slow = sorted((since, channel) for channel, since in self.in_flight.items()
                      if now - since >= self.SLOW)
        if not slow:
            return ""
        named = ", ".join(f"{channel} ({now - since:.0f} s)" for since, channel in slow[:most])
        more = f" and {len(slow) - most} more" if len(slow) > most else ""
        return f"waiting for {named}{more}"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@main.command()
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--failing-after", type=click.IntRange(min=1), default=None,
              help="Flag channels failing this many runs in a row ([health] failing_after, 3).")
@click.option("--stale-days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Flag channels with no new item for this many days ([health] stale_days, 7).")
@click.option("--check", is_flag=True, help="Exit with 1 when any channel is flagged.")
@click.pass_context
def status(ctx: click.Context, config_path: Path | None, as_json: bool,
           failing_after: int | None, stale_days: float | None, check: bool) -> None:
    """Per channel: last success, last new item, failures in a row, items, and flags."""
    config = _load(ctx, config_path)
    mirror = Mirror(config)
    try:
        report = mirror.health(failing_after=failing_after, stale_days=stale_days)
    except StorageError as exc:
        _fail(str(exc), EXIT_STATE)
    unowned = mirror.unowned_posts()
    prunable = len(mirror.prune(dry_run=True).removed)
    rows = [{
        "channel": h.state.channel, "url": h.state.url, "last_ok": _iso(h.state.last_ok),
        "last_new": _iso(h.state.last_new), "last_error_at": _iso(h.state.last_error_at),
        "last_error": h.state.last_error, "failures": h.state.failures,
        "retry_after": _iso(h.state.retry_after), "items": h.state.items, "flags": h.flags,
        "next_fetch": _iso(h.next_fetch),
    } for h in report]
    flagged = [row for row in rows if row["flags"]]
    running = mirror.run_in_progress()
    if running is not None:
        # The run records each channel as it finishes (committed about once a second).
        pid, started = running
        done = "" if started is None else (
            f": {sum(1 for h in report if (h.state.last_attempt or 0) >= started)} of "
            f"{plural(len(rows), 'channel')} done so far, below")
        click.echo(f"a run is in progress (pid {pid}"
                   f"{'' if started is None else ', started ' + _iso(started)}){done}", err=as_json)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            line = (f"{row['channel']}: {plural(row['items'], 'item')}, last ok {row['last_ok'] or 'never'},"
                    f" last new item {row['last_new'] or 'never'},"
                    f" next fetch {row['next_fetch'] or 'on the next run'}")
            if row["failures"]:
                line += f", {plural(row['failures'], 'failure')} in a row, last error: {row['last_error']}"
            click.echo(line)
            for flag in row["flags"]:
                click.echo(f"  ! {flag}")
        click.echo(f"{plural(len(rows), 'channel')}, {len(flagged)} flagged")
    if unowned:
        click.echo(f"! {plural(unowned, 'post file')} on disk {'is' if unowned == 1 else 'are'} "
                   "not in the state (it was lost, or is younger than them): the next run adopts "
                   "them", err=as_json)
    if prunable:
        click.echo(f"! {plural(prunable, 'post')} {'is' if prunable == 1 else 'are'} no longer the "
                   "mirror's: `newsmirror prune --dry-run` lists them", err=as_json)
    if check and flagged:
        sys.exit(1)


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


@main.command()
@_config_option
@click.argument("words", nargs=-1)
@click.option("--source", help="Docs page or folder, metadata JSON, or URL "
              "(default: [rsshub] catalog, else the instance at [rsshub] base).")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None,
              help="Category labels of route metadata (default: [rsshub] language, zh).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--toml", "as_toml", is_flag=True, help="As [[route]] entries to paste into the config.")
@click.pass_context
def catalog(ctx: click.Context, config_path: Path | None, words: tuple[str, ...],
            source: str | None, lang: str | None, as_json: bool, as_toml: bool) -> None:
    """List RSSHub routes (those matching all WORDS) with the group / site / channel each gets."""
    path = _config_path(ctx, config_path)
    config = _load(ctx, config_path, routes=False) if path.exists() else None
    hub = config.rsshub if config is not None else None
    try:
        found = load_catalog(
            source if source is not None else (hub.catalog if hub else ""),
            base=hub.base if hub else DEFAULT_RSSHUB_BASE,
            language=lang or (hub.language if hub else "zh"),
            folder=Path.cwd() if source is not None else path.resolve().parent,
            cache_dir=config.output.state.parent if config is not None else None,
            fetch_settings=config.fetch if config is not None else None,
        ).search(words)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    if as_json:
        click.echo(json.dumps([{"group": r.group, "site": r.site, "channel": r.channel,
                                "pattern": r.pattern, "example": r.example or None}
                               for r in found], ensure_ascii=False, indent=2))
        return
    for route in found:
        if as_toml:
            click.echo(_route_toml(route))
        else:
            click.echo(f"{route.group} / {route.site} / {route.channel}  {route.display_path}")
    if not as_toml:
        click.echo(f"{len(found)} route{'' if len(found) == 1 else 's'}", err=True)


def _route_toml(route: CatalogRoute) -> str:
    """A [[route]] to paste: the documented example when the pattern has parameters (with a
    note of what to change), else the pattern, whose unfilled parameters the config refuses
    until they are filled."""
    lines = ["[[route]]", f"# {route.group} / {route.site} / {route.channel}"]
    parameters = ", ".join(f":{name}" for name, _ in unfilled_parameters(route.pattern))
    if parameters and route.example:
        lines.append(f"# {route.pattern}: the documented example; put your own {parameters}")
    elif parameters:
        lines.append(f"# fill in {parameters}")
    lines.append(f"path = {json.dumps(route.display_path, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


@main.group()
def opml() -> None:
    """Export the channels as OPML, or import an OPML file into the config."""


@opml.command("export")
@_config_option
@click.option("-o", "--output", type=click.File("wb"), default="-", help="File (default: stdout).")
@click.pass_context
def opml_export(ctx: click.Context, config_path: Path | None, output: Any) -> None:
    """Channels as outlines nested group → site → channel, with xmlUrl."""
    from .opml import export_opml  # lxml: a hundredth of a second every run would pay

    config = _load(ctx, config_path)
    output.write(export_opml(config.channels, title=f"newsmirror: {config.path.name}"))


@opml.command("import")
@_config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--group", "default_group", default=None,
              help="Group for feeds outside any folder (default: 其他, or Uncategorized with "
                   "[rsshub] language = \"en\").")
@click.option("-n", "--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@click.pass_context
def opml_import(ctx: click.Context, config_path: Path | None, file: Path,
                default_group: str | None, dry_run: bool) -> None:
    """Append the feeds of FILE to the config as [[channel]] entries (duplicates skipped).
    A config that does not exist yet is created, holding them."""
    from .config import parse_config
    from .opml import append_channels, plan_import, read_opml

    path = _config_path(ctx, config_path)
    creating = not path.exists()
    config = parse_config({}, path) if creating else _load(ctx, config_path)
    try:
        feeds = read_opml(file.read_bytes(), str(file),
                          default_group=default_group or category_label("other", config.rsshub.language))
        plan = plan_import(config, feeds)
        if plan.add and not dry_run:
            append_channels(path, plan.add, header=_IMPORTED.format(file.name) if creating else "")
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except OSError as exc:
        _fail(f"{exc.filename or path}: {exc.strerror or exc}", EXIT_CONFIG)
    for feed, why in plan.skipped:
        click.echo(f"skipped: {feed.key} ({feed.url}): {why}", err=True)
    verb = "would add" if dry_run else "added"
    for feed in plan.add:
        click.echo(f"{verb}: {feed.key} ({feed.url})")
    where = "" if dry_run else f" ({'created ' if creating and plan.add else ''}{path})"
    click.echo(f"{plural(len(plan.add), 'channel')} {'would be added' if dry_run else 'added'}, "
               f"{len(plan.skipped)} skipped{where}")


_IMPORTED = """\
# newsmirror: the feeds of {} (`newsmirror opml import`). Every other setting has its
# default: posts go to site/source/_posts, the state to site/.newsmirror. See the README.
"""


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


if __name__ == "__main__":  # pragma: no cover
    main()
