"""The RSSHub route catalogue: which group / site / channel a route path files under.

Built from any of the places RSSHub describes its routes:

- route documentation pages (Markdown): the 2021–22 layout (``# group``, ``## site``,
  ``### channel``, ``<Route example="/aljazeera/news" path="/aljazeera/news" …>``) and the
  current one (``<Route namespace="x" :data='{json}' />`` under the same three headings);
- ``/api/namespace`` of a current instance (namespaces with their routes, names and
  categories such as ``new-media``);
- ``/api/routes`` of RSSHub 1.x (only the path patterns per namespace).

Parsing is pure (bytes in, :class:`Catalog` out); :func:`load_catalog` does the I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

from .config import Config, FetchSettings, expand_routes
from .exceptions import ConfigError, FeedError
from .rsshub import namespaces
from .write import write_atomic

log = logging.getLogger("newsmirror")

# RSSHub's route categories with the labels of its Chinese and English documentation.
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "popular": ("热门", "Popular"),
    "social-media": ("社交媒体", "Social Media"),
    "new-media": ("新媒体", "New Media"),
    "traditional-media": ("传统媒体", "Traditional Media"),
    "bbs": ("论坛", "BBS"),
    "blog": ("博客", "Blog"),
    "programming": ("编程", "Programming"),
    "design": ("设计", "Design"),
    "live": ("直播", "Live"),
    "multimedia": ("音视频", "Multimedia"),
    "picture": ("图片", "Picture"),
    "anime": ("二次元", "ACG"),
    "program-update": ("程序更新", "Application Updates"),
    "university": ("大学通知", "University"),
    "forecast": ("预报预警", "Forecast and Alerts"),
    "travel": ("出行旅游", "Travel"),
    "shopping": ("购物", "Shopping"),
    "game": ("游戏", "Gaming"),
    "reading": ("阅读", "Reading"),
    "government": ("政务消息", "Government"),
    "study": ("学习", "Study"),
    "journal": ("科学期刊", "Scientific Journal"),
    "finance": ("金融", "Finance"),
    "other": ("其他", "Uncategorized"),
}
LANGUAGES = ("zh", "en")
# A fetched catalogue is used for this long before it is fetched again.
CACHE_SECONDS = 24 * 3600


def category_label(slug: str, language: str) -> str:
    labels = CATEGORY_LABELS.get(slug)
    if labels is None:  # a category newer than this table: readable all the same
        return slug.replace("-", " ").title()
    return labels[LANGUAGES.index(language)]


@dataclass(frozen=True, slots=True)
class CatalogRoute:
    """One route as the catalogue files it."""

    group: str
    site: str
    channel: str
    pattern: str        # the route's path pattern, namespace included: /36kr/news/:caty
    example: str = ""   # a concrete path the documentation gives: /36kr/news/latest
    keywords: str = ""  # other names it is found by: a namespace's name in another language

    @property
    def display_path(self) -> str:
        return self.example or self.pattern


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A concrete path found in the catalogue, with the three levels it gets."""

    route: CatalogRoute
    path: str
    params: tuple[str, ...] = ()    # the values the pattern's parameters took

    @property
    def levels(self) -> tuple[str, str, str]:
        """The route's levels; a path other than the documented example adds its parameter
        values to the channel, so ``/36kr/news/latest`` and ``/36kr/news/life`` differ."""
        route = self.route
        if self.path == route.example or not self.params:
            return route.group, route.site, route.channel
        values = " ".join(value.replace("/", " ") for value in self.params if value)
        return route.group, route.site, f"{route.channel} {values}".strip()


class Catalog:
    """Routes with their levels; finds a concrete path and searches by words."""

    def __init__(self, routes: Iterable[CatalogRoute]) -> None:
        self.routes = tuple(routes)
        self._by_example = {}
        for route in self.routes:
            if route.example:
                self._by_example.setdefault(route.example, route)
        self._patterns = [(_pattern_regex(route.pattern), route) for route in self.routes]

    def __len__(self) -> int:
        return len(self.routes)

    def match(self, path: str) -> RouteMatch | None:
        """The route for a concrete path: a documented example first, else the most specific
        pattern that matches (most literal characters)."""
        path = _normal_path(path)
        route = self._by_example.get(path)
        if route is not None:
            return RouteMatch(route, path)
        best: tuple[int, RouteMatch] | None = None
        for regex, route in self._patterns:
            if regex is None:
                continue
            found = regex.fullmatch(path)
            if found is None:
                continue
            score = _literal_length(route.pattern)
            if best is None or score > best[0]:
                params = tuple(value or "" for value in found.groups())
                best = (score, RouteMatch(route, path, params))
        return best[1] if best else None

    def search(self, words: Iterable[str]) -> list[CatalogRoute]:
        """Routes whose levels or paths contain every word (case-insensitive)."""
        needles = [word.casefold() for word in words if word]
        found = []
        for route in self.routes:
            haystack = " ".join((route.group, route.site, route.channel, route.pattern,
                                 route.example, route.keywords)).casefold()
            if all(needle in haystack for needle in needles):
                found.append(route)
        return found


# --------------------------------------------------------------------------- parsing (pure)


def parse_catalog(content: bytes, name: str, language: str = "zh") -> Catalog:
    """Any supported catalogue document; ``name`` (a file or URL) is for error messages."""
    text = content.decode("utf-8-sig", errors="replace")
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{name}: not valid JSON: {exc}") from None
        return Catalog(routes_from_metadata(data, name, language))
    routes = routes_from_docs(text)
    if not routes:
        raise ConfigError(f"{name}: no RSSHub routes found (neither route documentation nor "
                          "route metadata JSON)")
    return Catalog(routes)


_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_ROUTE_TAG = re.compile(r"<Route\b(?P<attrs>(?:[^>'\"]|'[^']*'|\"[^\"]*\")*)>", re.S)
_ATTRIBUTE = re.compile(r"""(:?[\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TAGS = re.compile(r"<[^>]*>")
_LEADING_SYMBOLS = re.compile(r"^[^\w(（\[【]+")


def routes_from_docs(text: str) -> list[CatalogRoute]:
    """Routes of a documentation page, both layouts: H1 = group, H2 = site, H3 = channel.

    A route under a site without H3 takes the site's name as its channel (the reference gave
    it the previous site's H3 instead).
    """
    routes: list[CatalogRoute] = []
    group = site = ""
    channel: str | None = None
    in_fence = False
    # Headings and Route tags in document order; tags may span lines, so scan the whole text.
    events: list[tuple[int, str, Any]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            heading = _HEADING.match(line.rstrip("\r\n"))
            if heading:
                events.append((offset, "h", (len(heading.group(1)), _heading_text(heading.group(2)))))
        offset += len(line)
    for tag in _ROUTE_TAG.finditer(text):
        events.append((tag.start(), "r", tag.group("attrs")))
    events.sort(key=lambda event: event[0])
    for _, kind, value in events:
        if kind == "h":
            level, title = value
            if level == 1:
                group, site, channel = title, "", None
            elif level == 2:
                site, channel = title, None
            else:
                channel = title
            continue
        if not group or not site:
            continue
        for pattern, example, name in _route_tag(value):
            routes.append(CatalogRoute(group, site, channel or name or site, pattern, example))
    return routes


def _heading_text(raw: str) -> str:
    """``💻 Programming`` -> ``Programming``; ``36kr <Site url="36kr.com"/>`` -> ``36kr``."""
    text = html.unescape(_TAGS.sub(" ", raw))
    text = re.sub(r"\{#[^}]*\}\s*$", "", text)  # a Markdown anchor
    return " ".join(_LEADING_SYMBOLS.sub("", text.strip()).split())


def _route_tag(attrs: str) -> list[tuple[str, str, str]]:
    """(pattern, example, name) for each path of one ``<Route …>`` tag."""
    values = {m.group(1): html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
              for m in _ATTRIBUTE.finditer(attrs)}
    if ":data" in values:  # the current layout: JSON, the path relative to the namespace
        try:
            data = json.loads(values[":data"])
        except ValueError:
            return []
        namespace = values.get("namespace", "")
        return [(_join(namespace, path), data.get("example") or "", data.get("name") or "")
                for path in _paths(data.get("path"))]
    example = values.get("example", "")
    pattern = values.get("path", "") or example
    if not pattern:
        return []
    return [(_normal_path(pattern), _normal_path(example) if example else "", "")]


def routes_from_metadata(data: Any, name: str, language: str = "zh") -> list[CatalogRoute]:
    """Routes of ``/api/namespace`` (current RSSHub) or ``/api/routes`` (RSSHub 1.x)."""
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        return _routes_from_api_routes(data["data"], language)
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(f"{name}: not RSSHub route metadata (/api/namespace or /api/routes)")
    routes = []
    for namespace, info in data.items():
        site = _localized(info, "name", language) or namespace
        ns_categories = info.get("categories") or []
        for path, route in (info.get("routes") or {}).items():
            if not isinstance(route, dict):
                continue
            categories = route.get("categories") or ns_categories
            group = category_label(_main_category(categories), language)
            channel = _localized(route, "name", language) or path.strip("/") or site
            for pattern in _paths(route.get("path", path)):
                routes.append(CatalogRoute(group, site, channel, _join(namespace, pattern),
                                           _normal_path(route["example"]) if route.get("example") else ""))
    return routes


def _routes_from_api_routes(data: dict[str, Any], language: str) -> list[CatalogRoute]:
    """RSSHub 1.x knows only the patterns. The bundled namespace table gives the site's name,
    its category (the group) and, for a pattern it documents, the route's name and example;
    a namespace it lacks is filed under "other" with its pattern's literal segments."""
    table = namespaces()
    routes = []
    for namespace, info in data.items():
        if not namespace or "." in namespace or not isinstance(info, dict):
            continue  # "/" and "/robots.txt" are not feeds
        known = table.get(namespace)
        site, keywords, group = namespace, "", category_label("other", language)
        documented: dict[str, tuple[str, str, str]] = {}
        if known is not None:
            site = (known.zh_name or known.name) if language == "zh" else known.name
            keywords = " ".join(filter(None, (namespace, known.name, known.zh_name)))
            group = category_label(known.category, language)
            # Parameter names and trailing optional parameters change between RSSHub
            # versions; the route stays the same.
            for path, route in known.routes.items():
                documented.setdefault(path, route)
                documented.setdefault(_route_shape(path), route)
        for pattern in info.get("routes") or []:
            pattern = _normal_path(pattern)
            below = pattern[len(namespace) + 1:] or "/"
            route = documented.get(below) or documented.get(_route_shape(below))
            if route is None:
                literal = [part for part in pattern.split("/")[2:]
                           if part and not part.startswith(":") and part != "*"]
                routes.append(CatalogRoute(group, site, " ".join(literal) or site, pattern, "", keywords))
                continue
            name, zh_name, example = route
            regex = _pattern_regex(pattern)
            if example and (regex is None or not regex.fullmatch(_normal_path(example))):
                example = ""  # documented for a later form of the route
            routes.append(CatalogRoute(
                group, site, ((zh_name or name) if language == "zh" else name) or site, pattern,
                _normal_path(example) if example else "", " ".join(filter(None, (keywords, name, zh_name)))))
    return routes


def _route_shape(pattern: str) -> str:
    """``/collection/:id/:getAll?`` -> ``/collection/:``: parameters unnamed, trailing
    optional ones gone."""
    segments = pattern.rstrip("/").split("/")
    while segments and (segments[-1].endswith(("?", "*")) and segments[-1].startswith(":")):
        segments.pop()
    return "/".join(":" if segment.startswith(":") else segment for segment in segments) or "/"


def _main_category(categories: list[str]) -> str:
    """The first real category: "popular" is a cross-cutting list, not a place."""
    for category in categories:
        if category != "popular":
            return category
    return "popular" if categories else "other"


def _localized(info: dict[str, Any], key: str, language: str) -> str:
    if language == "zh" and isinstance(info.get("zh"), dict) and info["zh"].get(key):
        return str(info["zh"][key]).strip()
    return str(info.get(key) or "").strip()


def _paths(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [path for path in value if isinstance(path, str)]
    return []


def _join(namespace: str, path: str) -> str:
    path = path if path.startswith("/") else "/" + path
    return _normal_path(f"/{namespace}{path}" if namespace else path)


def _normal_path(path: str) -> str:
    path = path.strip()
    if not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/") or "/"


# Pattern syntax of koa-router / hono: ":name", ":name?", ":name{regex}", ":name(regex)",
# ":name+" / ":name*" and "*" (the rest of the path).
_PARAM = re.compile(r":(\w+)(\{(?:[^{}]|\{[^{}]*\})*\}|\((?:[^()]|\([^()]*\))*\))?([?+*])?")


def _pattern_regex(pattern: str) -> re.Pattern[str] | None:
    out = []
    for segment in pattern.split("/")[1:]:
        if segment == "*":
            out.append(r"(?:/(.*))?")
            continue
        whole = _PARAM.fullmatch(segment)
        if whole:
            custom, modifier = whole.group(2), whole.group(3)
            greedy = modifier in ("+", "*") or (custom is not None and "." in custom)
            value = r"(.+)" if greedy else r"([^/]+)"
            out.append(rf"(?:/{value})?" if modifier in ("?", "*") else rf"/{value}")
            continue
        parts, last = [], 0
        for param in _PARAM.finditer(segment):  # a parameter inside a segment: ":id.html"
            parts.append(re.escape(segment[last:param.start()]))
            parts.append(r"([^/]+?)")
            last = param.end()
        parts.append(re.escape(segment[last:]))
        out.append("/" + "".join(parts))
    try:
        return re.compile("".join(out) or "/")
    except re.error:
        return None


def _literal_length(pattern: str) -> int:
    return len(_PARAM.sub("", pattern).replace("*", ""))


# --------------------------------------------------------------------------- loading (I/O)


def catalog_urls(source: str, base: str) -> list[str]:
    """Where to fetch a URL catalogue from, in order. Empty means the instance at ``base``.
    A URL with no path (``http://127.0.0.1:1200``) is an instance's base; one whose path may
    be a base too (``https://example.org/rsshub``) is tried as a document first."""
    if not source:
        return [f"{base}/api/namespace", f"{base}/api/routes"]
    path = urlsplit(source).path
    if "/api/" in path or re.search(r"\.(?:json|md|markdown)$", path, re.I):
        return [source]
    root = source.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    endpoints = [f"{root}/api/namespace", f"{root}/api/routes"]
    return endpoints if path.strip("/") == "" else [source, *endpoints]


def load_catalog(source: str, *, base: str, language: str = "zh", folder: Path | None = None,
                 cache_dir: Path | None = None,
                 fetch_settings: FetchSettings | None = None) -> Catalog:
    """The catalogue from a documentation page or folder of pages, a metadata JSON file, a
    URL, or (``source`` empty) the instance at ``base``. Raises :class:`ConfigError`.

    URL catalogues are cached in ``cache_dir`` for a day; when fetching fails, an older cached
    copy is used (with a warning) rather than failing the run.
    """
    if source and not source.startswith(("http://", "https://")):
        path = Path(source).expanduser()
        if folder is not None and not path.is_absolute():
            path = folder / path
        return _load_local(path, language)
    errors = []
    for url in catalog_urls(source, base):
        cache = cache_dir / f"catalog-{hashlib.sha256(url.encode()).hexdigest()[:16]}" if cache_dir else None
        if cache is not None and cache.is_file() and time.time() - cache.stat().st_mtime < CACHE_SECONDS:
            return parse_catalog(cache.read_bytes(), url, language)
        try:
            content = _fetch(url, fetch_settings)
            catalog = parse_catalog(content, url, language)
        except (FeedError, ConfigError) as exc:
            if cache is not None and cache.is_file():
                log.warning("catalogue %s: %s; using the copy from %s", url, exc,
                            time.strftime("%Y-%m-%d %H:%M", time.gmtime(cache.stat().st_mtime)))
                return parse_catalog(cache.read_bytes(), url, language)
            errors.append(f"{url}: {exc}")
            continue
        if cache is not None:
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(cache, content)
            except OSError as exc:  # costs a fetch next time, no more
                log.warning("catalogue cache %s: %s", cache, exc.strerror)
        return catalog
    raise ConfigError("cannot load the RSSHub route catalogue: " + "; ".join(errors))


def _load_local(path: Path, language: str) -> Catalog:
    if path.is_dir():
        pages = sorted(p for p in path.rglob("*.md") if p.is_file())
        if not pages:
            raise ConfigError(f"{path}: no route documentation pages (*.md) in this folder")
        routes: list[CatalogRoute] = []
        for page in pages:
            routes.extend(routes_from_docs(_read(page).decode("utf-8", errors="replace")))
        return Catalog(routes)
    return parse_catalog(_read(path), str(path), language)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such catalogue file or folder") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _fetch(url: str, settings: FetchSettings | None) -> bytes:
    # Imported here: aiohttp (and asyncio) are slow to import, and most commands never fetch
    # a catalogue.
    import asyncio

    from .fetch import Fetcher

    settings = settings or FetchSettings()
    # Catalogues are large (the full /api/namespace is several MB), feeds are capped lower.
    settings = dataclasses.replace(settings, concurrency=1, per_host=1,
                                   max_bytes=max(settings.max_bytes, 100_000_000))

    async def get() -> bytes:
        async with Fetcher(settings) as fetcher:
            return (await fetcher.fetch(url)).content

    return asyncio.run(get())


def catalog_for(config: Config) -> Catalog:
    """The catalogue a config names (``[rsshub] catalog``, else its instance)."""
    return load_catalog(config.rsshub.catalog, base=config.rsshub.base,
                        language=config.rsshub.language, folder=config.path.resolve().parent,
                        cache_dir=config.output.state.parent, fetch_settings=config.fetch)


def with_routes(config: Config) -> Config:
    """The config with its ``[[route]]`` entries expanded into channels; the catalogue is
    loaded only when some route leaves a level to it. Raises :class:`ConfigError`."""
    if not config.routes:
        return config
    catalog: Catalog | None = None
    where = f"{config.path}: [rsshub] catalog"

    def levels_for(path: str) -> tuple[str, str, str] | None:
        nonlocal catalog
        if catalog is None:
            try:
                catalog = catalog_for(config)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        found = catalog.match(path)
        return found.levels if found else None

    return expand_routes(config, levels_for)
