"""Reading and validating ``newsmirror.toml``.

Every problem is reported as one :class:`ConfigError` naming the file and the entry, before
anything is fetched or written.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import quote, urlencode, urlsplit

from . import __version__
from .exceptions import ConfigError
from .types import reduce_by_slots

DEFAULT_USER_AGENT = f"newsmirror/{__version__} (+https://github.com/newsmirror/newsmirror)"
DEFAULT_RSSHUB_BASE = "https://rsshub.app"
RETENTIONS = ("keep", "window")
TITLE_STYLES = ("reference", "exact")
# Characters that cannot appear in one level of the category path (it becomes a folder name).
UNSAFE_FOLDER_CHARS = re.compile(r"[/\\\x00-\x1f\x7f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class FetchSettings:
    concurrency: int = 16
    per_host: int = 4
    timeout: float = 20.0
    max_bytes: int = 20_000_000
    retries: int = 2
    user_agent: str = DEFAULT_USER_AGENT
    interval: float = 0.0         # seconds a channel waits between fetches at least


@dataclass(frozen=True, slots=True)
class OutputSettings:
    dir: Path
    state: Path
    image_proxy: str = ""
    max_items: int = 15
    retention: str = "keep"
    # An item without an image: "picsum" (the reference's random photo), "" (none) or a URL.
    fallback_image: str = "picsum"
    titles: str = "reference"     # "exact": the item's own title in the front matter
    max_age: float | None = None  # seconds: older posts are removed (None: kept)

    @property
    def posts_dir(self) -> Path:
        return self.dir / "source" / "_posts"


@dataclass(frozen=True, slots=True)
class Channel:
    group: str
    site: str
    channel: str
    url: str                      # resolved: http(s):// or file://
    author: str
    max_items: int
    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None
    # The RSSHub instance's access key ([rsshub] key): sent with the request, never written.
    access_key: str = field(default="", repr=False)
    interval: float | None = None  # its own [fetch] interval, in seconds (None: the global one)
    max_age: float | None = None   # its own [output] max_age, in seconds (None: the global one)

    __reduce__ = reduce_by_slots  # each job carries its channel to a worker

    @property
    def fetch_url(self) -> str:
        """The URL as requested: with the access key, if the channel's instance needs one."""
        if not self.access_key:
            return self.url
        return self.url + ("&" if urlsplit(self.url).query else "?") + urlencode({"key": self.access_key})

    @property
    def key(self) -> str:
        """The channel's key in the store: its three category levels."""
        return f"{self.group}/{self.site}/{self.channel}"

    def wants(self, title: str) -> bool:
        """Whether the include / exclude filters keep an item with this title."""
        if self.include is not None and not self.include.search(title):
            return False
        return self.exclude is None or not self.exclude.search(title)


@dataclass(frozen=True, slots=True)
class RSSHubSettings:
    base: str = DEFAULT_RSSHUB_BASE
    catalog: str = ""             # docs page or folder, metadata JSON, URL; "" = the instance
    language: str = "zh"          # of the category labels taken from route metadata
    key: str = field(default="", repr=False)  # the instance's access key (ACCESS_KEY)


@dataclass(frozen=True, slots=True)
class HealthSettings:
    failing_after: int = 3        # failures in a row that flag a channel
    stale_days: float = 7         # days without a new item that flag a channel


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """The built-in static site, rendered into ``dir`` (default ``<output.dir>/public``)."""

    enabled: bool = False         # `newsmirror run` builds it after fetching
    title: str = "newsmirror"
    base_url: str = ""            # absolute URL of the site, for feeds and the sitemap
    per_page: int = 20
    language: str = "zh-CN"
    templates: Path | None = None  # a folder whose files override the bundled templates
    search: bool = True           # a Pagefind full-text index
    sources: bool = True          # publish sources.opml (the public feeds, without secrets)
    fallback_image: str = ""      # a card's picture for an item without one ("": a typographic card)
    # Where the pages go; None: <output.dir>/public, which is also Hexo's output folder, so a
    # mirror that also runs `hexo generate` names another one.
    dir: Path | None = None

    @property
    def root(self) -> str:
        """The path the site lives under ("/", or "/news/" for https://example.org/news/)."""
        path = urlsplit(self.base_url).path if self.base_url else "/"
        return path if path.endswith("/") else path + "/"


@dataclass(frozen=True, slots=True)
class CleanSettings:
    """What a published body may keep beyond the built-in rules."""

    iframe_hosts: tuple[str, ...] | None = None   # None: the built-in players (clean.py)


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """A ``[[route]]`` before the catalogue gives it its levels."""

    number: int
    path: str
    table: dict[str, Any]         # the entry as written (validated)


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    rsshub: RSSHubSettings
    output: OutputSettings
    fetch: FetchSettings
    channels: tuple[Channel, ...] = field(default_factory=tuple)
    routes: tuple[RouteEntry, ...] = field(default_factory=tuple)
    health: HealthSettings = HealthSettings()
    site: SiteSettings = SiteSettings()
    clean: CleanSettings = CleanSettings()

    def max_age_of(self, channel: Channel) -> float | None:
        """How old the channel's posts may get, in seconds (None: kept however old)."""
        return self.output.max_age if channel.max_age is None else channel.max_age

    @property
    def public_dir(self) -> Path:
        """The folder the built-in site is rendered into."""
        return self.site.dir or self.output.dir / "public"

    @property
    def shares_hexo_public(self) -> bool:
        """The site is rendered into the Hexo site's own output folder, which `hexo generate`
        overwrites and `hexo clean` deletes."""
        return self.site.dir is None and (self.output.dir / "_config.yml").is_file()


_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "rsshub": {"base": str, "catalog": str, "language": str, "key": str},
    "clean": {"iframe_hosts": list},
    "health": {"failing_after": int, "stale_days": (int, float)},
    "site": {"enabled": bool, "title": str, "base_url": str, "per_page": int, "language": str,
             "templates": str, "search": bool, "sources": bool, "fallback_image": str,
             "dir": str},
    "output": {
        "dir": str, "state": str, "image_proxy": str, "max_items": int, "retention": str,
        "fallback_image": str, "titles": str, "max_age": (str, int, float),
    },
    "fetch": {
        "concurrency": int, "per_host": int, "timeout": (int, float), "max_bytes": int,
        "retries": int, "user_agent": str, "interval": (str, int, float),
    },
}
# RSSHub's common parameters (docs.rsshub.app, "Parameters"), passed on the feed's URL.
RSSHUB_PARAMS: dict[str, type] = {
    "limit": int, "filter": str, "filterout": str, "filter_title": str,
    "filter_description": str, "filter_author": str, "filter_time": int,
    "filter_case_sensitive": bool, "mode": str,
}
_LEVELS = ("group", "site", "channel")
_CHANNEL_KEYS: dict[str, type | tuple[type, ...]] = {
    "group": str, "site": str, "channel": str, "url": str, "author": str,
    "max_items": int, "include": str, "exclude": str, "interval": (str, int, float),
    "max_age": (str, int, float),
    **RSSHUB_PARAMS,
}
_CHANNEL_REQUIRED = ("group", "site", "channel", "url")
_ROUTE_KEYS: dict[str, type | tuple[type, ...]] = {
    **{k: v for k, v in _CHANNEL_KEYS.items() if k != "url"}, "path": str,
}


def load_config(path: str | Path) -> Config:
    """Read, validate and resolve a config file. Raises :class:`ConfigError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Validate an already-decoded TOML document; ``path`` anchors relative paths."""
    where = str(path)
    unknown = set(data) - set(_SCHEMA) - {"channel", "route"}
    if unknown:
        raise ConfigError(f"{where}: unknown table or key {_names(unknown)}"
                          f"{_did_you_mean(unknown, [*_SCHEMA, 'channel', 'route'])}")
    tables = {name: _table(data, name, where) for name in _SCHEMA}
    for name, table in tables.items():
        _check_keys(table, _SCHEMA[name], f"{where}: [{name}]")

    folder = path.resolve().parent
    hub = tables["rsshub"]
    base = hub.get("base", DEFAULT_RSSHUB_BASE).rstrip("/")
    if urlsplit(base).scheme not in ("http", "https"):
        raise ConfigError(f"{where}: [rsshub] base must be an http(s) URL, not {base!r}")
    language = hub.get("language", "zh")
    if language not in ("zh", "en"):
        raise ConfigError(f"{where}: [rsshub] language must be 'zh' or 'en', not {language!r}")
    rsshub = RSSHubSettings(base=base, catalog=hub.get("catalog", ""), language=language,
                            key=hub.get("key", ""))
    health = HealthSettings(
        failing_after=_positive(tables["health"].get("failing_after", 3),
                                f"{where}: [health] failing_after"),
        stale_days=_positive(tables["health"].get("stale_days", 7), f"{where}: [health] stale_days"),
    )

    out = tables["output"]
    out_dir = _resolve_path(out.get("dir", "site"), folder)
    state = _resolve_path(out["state"], folder) if "state" in out else out_dir / ".newsmirror" / "state.db"
    retention = out.get("retention", "keep")
    if retention not in RETENTIONS:
        raise ConfigError(f"{where}: [output] retention must be one of {RETENTIONS}, not {retention!r}")
    image_proxy = out.get("image_proxy", "")
    if image_proxy and urlsplit(image_proxy).scheme not in ("http", "https"):
        raise ConfigError(f"{where}: [output] image_proxy must be an http(s) URL prefix")
    titles = out.get("titles", "reference")
    if titles not in TITLE_STYLES:
        raise ConfigError(f"{where}: [output] titles must be one of {TITLE_STYLES}, not {titles!r}")
    output = OutputSettings(
        dir=out_dir, state=state, image_proxy=image_proxy,
        max_items=_positive(out.get("max_items", 15), f"{where}: [output] max_items"),
        retention=retention,
        fallback_image=_fallback_image(out.get("fallback_image", "picsum"), f"{where}: [output]", "picsum"),
        titles=titles,
        max_age=_max_age(out["max_age"], f"{where}: [output] max_age") if "max_age" in out else None,
    )

    f = tables["fetch"]
    fetch = FetchSettings(
        concurrency=_positive(f.get("concurrency", 16), f"{where}: [fetch] concurrency"),
        per_host=_positive(f.get("per_host", 4), f"{where}: [fetch] per_host"),
        timeout=float(_positive(f.get("timeout", 20), f"{where}: [fetch] timeout")),
        max_bytes=_positive(f.get("max_bytes", 20_000_000), f"{where}: [fetch] max_bytes"),
        retries=_non_negative(f.get("retries", 2), f"{where}: [fetch] retries"),
        user_agent=f.get("user_agent", DEFAULT_USER_AGENT),
        interval=_duration(f.get("interval", 0), f"{where}: [fetch] interval"),
    )

    site = _site(tables["site"], folder, where)
    if site.dir is not None:
        _check_site_dir(site.dir, output, where)
    clean = _clean(tables["clean"], where)
    channels: list[Channel] = []
    for number, entry in enumerate(_array(data, "channel", where), 1):
        channels.append(_channel(entry, f"{where}: channel #{number}", rsshub, folder,
                                 output.max_items))
    routes: list[RouteEntry] = []
    for number, entry in enumerate(_array(data, "route", where), 1):
        routes.append(_route_entry(entry, number, where))
    config = Config(path=path, rsshub=rsshub, output=output, fetch=fetch,
                    channels=tuple(channels), routes=tuple(routes), health=health, site=site,
                    clean=clean)
    if not routes:
        _check_unique(_named_channels(config.channels), where)
    return config


def expand_routes(config: Config,
                  levels_for: Callable[[str], tuple[str, str, str] | None]) -> Config:
    """The config with each ``[[route]]`` turned into a channel fetched from ``base + path``.

    ``levels_for`` gives a path's group / site / channel from the catalogue (``None``: not in
    it); it is only called for routes that do not name all three levels themselves.
    """
    where = str(config.path)
    folder = config.path.resolve().parent
    named = _named_channels(config.channels)
    for route in config.routes:
        ctx = f"{where}: route #{route.number} ({_printable(route.path)})"
        entry = dict(route.table)
        path = entry.pop("path")
        if not all(level in entry for level in _LEVELS):
            levels = levels_for(path)
            if levels is None:
                missing = ", ".join(level for level in _LEVELS if level not in entry)
                raise ConfigError(f"{ctx}: not in the RSSHub route catalogue; give {missing} "
                                  "to use it anyway (`newsmirror catalog` lists the routes)")
            for level, value in zip(_LEVELS, levels):
                entry.setdefault(level, value)
        entry["url"] = "rsshub:" + path
        named.append((f"route #{route.number}",
                      _channel(entry, ctx, config.rsshub, folder, config.output.max_items)))
    _check_unique(named, where)
    return Config(path=config.path, rsshub=config.rsshub, output=config.output,
                  fetch=config.fetch, channels=tuple(channel for _, channel in named),
                  health=config.health, site=config.site, clean=config.clean)


def _named_channels(channels: Iterable[Channel]) -> list[tuple[str, Channel]]:
    return [(f"channel #{number}", channel) for number, channel in enumerate(channels, 1)]


def rsshub_query(params: dict[str, Any]) -> str:
    """RSSHub parameters as a query string, every reserved character percent-encoded
    (``filter = "a|b&c"`` must reach RSSHub as one value)."""
    pairs = [(key, str(value).lower() if isinstance(value, bool) else str(value))
             for key, value in params.items()]
    return urlencode(pairs, quote_via=quote, safe="")


# "127.0.0.1:8801/world.xml", "localhost:1200/x", "www.example.org/feed": a host without its
# http://, which would otherwise be read as a local path or an unknown scheme.
_HOST_WITHOUT_SCHEME = re.compile(r"(?i)(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*:\d{1,5}(?:[/?#]|$)|www\.[a-z0-9-]+\.)")


def resolve_url(url: str, rsshub_base: str, folder: Path) -> str:
    """``rsshub:/x`` -> base + /x; http(s) and file URLs as they are; anything else is a path."""
    if url.startswith("rsshub:"):
        route = url[len("rsshub:"):]
        # Non-ASCII in a route (``/199it/tag/数据早报``) goes out percent-encoded, once.
        route = quote(route, safe="/%:@!$&'()*+,;=?~")
        return rsshub_base + ("" if route.startswith("/") else "/") + route
    if _HOST_WITHOUT_SCHEME.match(url):
        raise ConfigError(f"no scheme: did you mean 'http://{url}'?")
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https", "file"):
        return url
    if len(scheme) > 1:  # one letter is a Windows drive, not a scheme
        raise ConfigError(f"unsupported URL scheme {scheme!r}")
    return (folder / url).resolve().as_uri()


def _fallback_image(value: str, ctx: str, *keywords: str) -> str:
    if value in ("", *keywords):
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        choices = " or ".join(repr(k) for k in keywords)
        raise ConfigError(f"{ctx} fallback_image must be {choices + ', ' if choices else ''}'' "
                          f"or an absolute http(s) URL, not {value!r}")
    return value


def _site(table: dict[str, Any], folder: Path, where: str) -> SiteSettings:
    base_url = table.get("base_url", "")
    if base_url and (urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).netloc):
        raise ConfigError(f"{where}: [site] base_url must be an absolute http(s) URL, not {base_url!r}")
    templates = table.get("templates")
    return SiteSettings(
        enabled=table.get("enabled", False), title=table.get("title", "newsmirror"),
        base_url=base_url if not base_url or base_url.endswith("/") else base_url + "/",
        per_page=_positive(table.get("per_page", 20), f"{where}: [site] per_page"),
        language=table.get("language", "zh-CN"),
        templates=_resolve_path(templates, folder) if templates else None,
        search=table.get("search", True), sources=table.get("sources", True),
        fallback_image=_fallback_image(table.get("fallback_image", ""), f"{where}: [site]"),
        dir=_resolve_path(table["dir"], folder) if table.get("dir") else None,
    )


def _check_site_dir(site_dir: Path, output: OutputSettings, where: str) -> None:
    """The built site owns its folder (it removes the pages it no longer makes), so that folder
    may hold neither the posts nor the state, nor lie among the posts."""
    posts, state = output.posts_dir.resolve(), output.state.parent.resolve()
    for owned, what in ((posts, "the posts"), (state, "the state")):
        if site_dir == owned or site_dir in owned.parents:
            raise ConfigError(f"{where}: [site] dir {str(site_dir)!r} would hold {what}; "
                              "name a folder of its own, such as \"public\"")
    if posts in site_dir.parents:
        raise ConfigError(f"{where}: [site] dir {str(site_dir)!r} is inside the posts folder")


def _clean(table: dict[str, Any], where: str) -> CleanSettings:
    hosts = table.get("iframe_hosts")
    if hosts is None:
        return CleanSettings()
    from .urls import ip_literal, is_private_host
    for host in hosts:
        if (not isinstance(host, str) or not re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+", host)
                or ip_literal(host) is not None or is_private_host(host)):
            raise ConfigError(f"{where}: [clean] iframe_hosts: {host!r} is not a public host "
                              "name (lower case, no scheme or path; no IP address or local name)")
    return CleanSettings(iframe_hosts=tuple(hosts))


def _array(data: dict[str, Any], name: str, where: str) -> list[Any]:
    entries = data.get(name, [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: {name!r} must be an array of tables ([[{name}]])")
    return entries


def _check_unique(named: Iterable[tuple[str, Channel]], where: str) -> None:
    """No two entries (``channel #2``, ``route #1``) may file under the same three levels."""
    seen: dict[str, str] = {}
    for name, channel in named:
        if channel.key in seen:
            raise ConfigError(f"{where}: {name} ({_printable(channel.key)}) repeats {seen[channel.key]}")
        seen[channel.key] = name


def _route_entry(entry: Any, number: int, where: str) -> RouteEntry:
    ctx = f"{where}: route #{number}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{ctx} must be a table")
    if "path" in entry and isinstance(entry["path"], str):
        ctx += f" ({_printable(entry['path'])})"
    _check_keys(entry, _ROUTE_KEYS, ctx)
    path = entry.get("path", "")
    if not path.startswith("/") or "?" in path or "#" in path:
        raise ConfigError(f"{ctx}: path must be an RSSHub route starting with '/', without a "
                          "query (use the parameter keys: limit, filter, mode, …)")
    _check_filled(path, ctx)
    return RouteEntry(number, path, entry)


def _check_filled(route: str, ctx: str) -> None:
    """A route pattern pasted as it is (``/zhihu/daily/section/:sectionId``) would only fail
    at RSSHub, with a 404 that does not say why."""
    from .rsshub import unfilled_message
    problem = unfilled_message(route)
    if problem:
        raise ConfigError(f"{ctx}: {problem}")


def _channel(entry: Any, ctx: str, rsshub: RSSHubSettings, folder: Path, default_max: int) -> Channel:
    if not isinstance(entry, dict):
        raise ConfigError(f"{ctx} must be a table")
    label = _printable("/".join(str(entry.get(k, "?")) for k in ("group", "site", "channel")))
    if "(" not in ctx:
        ctx = f"{ctx} ({label})"
    _check_keys(entry, _CHANNEL_KEYS, ctx)
    missing = [k for k in _CHANNEL_REQUIRED if k not in entry]
    if missing:
        raise ConfigError(f"{ctx}: missing {_names(missing)}")
    for level in ("group", "site", "channel"):
        value = entry[level]
        if not value.strip() or UNSAFE_FOLDER_CHARS.search(value) or value.startswith((".", "_")):
            raise ConfigError(
                f"{ctx}: {level} {value!r} cannot be a folder name: empty, '/', '\\', control "
                "characters, or a leading '.' or '_' (Hexo skips such folders)"
            )
    try:
        url = resolve_url(entry["url"], rsshub.base, folder)
    except ConfigError as exc:
        raise ConfigError(f"{ctx}: url {entry['url']!r}: {exc}") from None
    if entry["url"].startswith("rsshub:"):
        _check_filled(entry["url"][len("rsshub:"):], ctx)
    elif url.startswith(rsshub.base + "/"):
        _check_filled(urlsplit(url[len(rsshub.base):]).path, ctx)
    params = {key: entry[key] for key in RSSHUB_PARAMS if key in entry}
    if params:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{ctx}: RSSHub parameters ({_names(params)}) need an rsshub: "
                              "or http(s) URL")
        if params.get("mode", "fulltext").lower() != "fulltext":
            raise ConfigError(f"{ctx}: mode must be 'fulltext', not {params['mode']!r}")
        for key in ("limit", "filter_time"):
            if key in params:
                _positive(params[key], f"{ctx}: {key}")
        url += ("&" if urlsplit(url).query else "?") + rsshub_query(params)
    return Channel(
        group=entry["group"], site=entry["site"], channel=entry["channel"], url=url,
        author=entry.get("author", entry["site"]),
        max_items=_positive(entry.get("max_items", default_max), f"{ctx}: max_items"),
        include=_regex(entry.get("include"), f"{ctx}: include"),
        exclude=_regex(entry.get("exclude"), f"{ctx}: exclude"),
        access_key=rsshub.key if url.startswith(rsshub.base + "/") else "",
        interval=_duration(entry["interval"], f"{ctx}: interval") if "interval" in entry else None,
        max_age=_max_age(entry["max_age"], f"{ctx}: max_age") if "max_age" in entry else None,
    )


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}


def parse_duration(value: str | int | float) -> float | None:
    """Seconds from ``"15m"``, ``"1h"``, ``"90s"``, ``"1d"``, ``"1h30m"`` or a number of
    seconds; ``None`` if it is none of those."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    text = value.strip().lower().replace(" ", "")
    if not text:
        return None
    position, total = 0, 0.0
    while position < len(text):
        match = _DURATION.match(text, position)
        if match is None or (not match.group(2) and match.end() != len(text)):
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return total


def _duration(value: Any, ctx: str) -> float:
    seconds = parse_duration(value)
    if seconds is None:
        raise ConfigError(f"{ctx} must be a duration such as \"15m\", \"2h\", \"1d\" or a "
                          f"number of seconds, not {value!r}")
    return seconds


def _max_age(value: Any, ctx: str) -> float:
    seconds = _duration(value, ctx)
    if seconds <= 0:
        raise ConfigError(f"{ctx} must be longer than 0 (leave it out to keep every post)")
    return seconds


def _table(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return table


def _check_keys(table: dict[str, Any], schema: dict[str, Any], ctx: str) -> None:
    unknown = set(table) - set(schema)
    if unknown:
        raise ConfigError(f"{ctx}: unknown key {_names(unknown)}{_did_you_mean(unknown, schema)}")
    for key, value in table.items():
        expected = schema[key]
        # bool is an int in Python; a TOML true is never a number here.
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            kinds = expected if isinstance(expected, tuple) else (expected,)
            wanted = " or ".join({int: "an integer", float: "a number", str: "a string",
                                  bool: "true or false"}[k] for k in kinds)
            raise ConfigError(f"{ctx}: {key} must be {wanted}, not {value!r}")


def _did_you_mean(unknown: Iterable[str], known: Iterable[str]) -> str:
    """`` (did you mean 'dir'?)`` for the first unknown name close to a known one, else ""."""
    import difflib
    for name in sorted(unknown):
        close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.75)
        if close:
            return f" (did you mean {close[0]!r}?)"
    return ""


def _regex(pattern: str | None, ctx: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{ctx}: bad regex {pattern!r}: {exc}") from None


def _positive(value: int | float, ctx: str) -> Any:
    if value <= 0:
        raise ConfigError(f"{ctx} must be greater than 0, not {value!r}")
    return value


def _non_negative(value: int, ctx: str) -> int:
    if value < 0:
        raise ConfigError(f"{ctx} must not be negative, not {value!r}")
    return value


def _resolve_path(value: str, folder: Path) -> Path:
    return (folder / Path(value).expanduser()).resolve()


def _printable(text: str) -> str:
    """Control characters escaped, so an error stays on one line."""
    return _CONTROL_CHARS.sub(lambda match: repr(match.group())[1:-1], text)


def _names(keys: Any) -> str:
    return ", ".join(repr(k) for k in sorted(keys))
