"""The built-in static site: the mirrored articles as a news site in ``config.public_dir``.

Articles come from the store (which item is where) and the post files it points to (image,
date, body), so the site shows exactly what the Hexo posts hold. Builds are incremental, in
the manner of Pelican's content cache: a cache file beside the state remembers each article's
content hash and what it needs for listings, and each page's signature (a hash of everything
rendered into it); a page is rendered and written only when its signature changed.

Pagination is stable: listing pages are cut from the oldest article up, so a full page never
changes when articles arrive; only the first page (the newest articles) and the page just
before it do.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import logging
import marshal
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import zlib
from collections import defaultdict
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import quote

import jinja2
from markupsafe import Markup, escape
from selectolax.lexbor import LexborHTMLParser

from . import __version__
from .clean import loads_safely, make_safe
from .config import Config
from .dates import parse_date
from .decide import folder_name
from .hexo import PostParts, picsum_number_of, read_post
from .opml import export_opml
from .store import ItemRecord, Store
from .urls import publishable_url
from .write import channel_folder, write_and_close, write_atomic
from .wording import plural

log = logging.getLogger("newsmirror")

# Bump when the pages for the same input change (templates, markup): every page is rebuilt.
SITE_FORMAT = 3
# Entries per Atom feed, full text: the site's feed, and each group's, site's and channel's
# (fewer: there are hundreds of them, and together they were a third of a full build's bytes).
FEED_ITEMS = 20
CATEGORY_FEED_ITEMS = 10
# Articles per search index. Pagefind cannot update an index, so the newest articles (those
# past the last full shard) sit in small tail shards: an incremental build re-indexes one of
# those (0.3 s here for 100 articles, against 0.7 s for 500), and once they add up to a full
# shard it is indexed whole, once per SEARCH_SHARD new articles.
SEARCH_SHARD = 500
SEARCH_TAIL_SHARD = 100
SUMMARY_CHARS = 140
# Characters of article bodies a build holds from reading the posts until their pages render
# (50 MB or so of Chinese text); past that, a body is read again for its page. A full build at
# 50,000 articles would otherwise hold them all at once (270 MB), and re-reading all costs a
# fifth more time; a site of up to ~10,000 articles reads each post once.
BODIES_HELD = 25_000_000
# Listing cards rendered once and held for their other listings (about 2 KB each); past that,
# a card is rendered for each listing it is on.
CARDS_HELD = 15_000
_CACHE_NAME = "site-cache.marshal"
_SEARCH_CACHE_NAME = "search-cache.marshal"
_CACHE_FORMAT = 6
CACHE_CHUNK = 5_000  # articles per marshalled piece of the cache

LABELS = {
    "zh": {"home": "首页", "categories": "分类", "archives": "归档", "search": "搜索",
           "original": "阅读原文", "newer": "较新", "older": "较早", "articles": "篇文章",
           "not_found": "页面不存在", "not_found_text": "这个地址没有内容。", "feed": "订阅",
           "sources": "来源 (OPML)", "page": "第 {n} 页", "search_hint": "搜索标题与正文",
           "skip": "跳到正文", "breadcrumb": "位置", "pages": "分页", "by": "作者", "date": "日期",
           "category": "分类"},
    "en": {"home": "Home", "categories": "Categories", "archives": "Archives", "search": "Search",
           "original": "Original article", "newer": "Newer", "older": "Older",
           "articles": "articles", "not_found": "Page not found",
           "not_found_text": "There is nothing at this address.", "feed": "Feed",
           "sources": "Sources (OPML)", "page": "Page {n}", "search_hint": "Search titles and text",
           "skip": "Skip to content", "breadcrumb": "Breadcrumb", "pages": "Pages", "by": "By",
           "date": "Date", "category": "Category"},
}


@dataclass(frozen=True, slots=True)
class Article:
    """One article as pages list and show it."""

    key: str                 # channel key + identity: unique in the site
    content_hash: str        # of the post file: an article page is rebuilt when it changes
    group: str
    site: str
    channel: str
    title: str
    link: str | None
    author: str
    date: float              # for ordering and display (the post's date, else first seen)
    month: str               # of the date, "YYYY/MM": its archive page
    image: str
    summary: str
    path: str                # site path of its page: posts/<group>/<site>/<channel>/<name>.html
    file: str                # its post file, relative to the posts folder
    seen: float              # when the mirror first saw it: the search shards' order
    href: str                # ``path`` as it goes into links (percent-encoded)
    category_hrefs: tuple[str, str, str]   # its group, site and channel pages, likewise


@dataclass(slots=True)
class BuildReport:
    articles: int = 0
    written: int = 0
    removed: int = 0
    unchanged: int = 0
    search_indexed: int = 0          # search shards indexed anew
    missing: list[str] = field(default_factory=list)   # posts the store knows but the disk lacks
    outside_changes: int = 0         # pages changed or removed since the last build, written again
    seconds: float = 0.0

    def summary(self) -> str:
        text = (f"site: {plural(self.articles, 'article')}; {plural(self.written, 'page')} "
                f"written, {self.unchanged} unchanged, {self.removed} removed")
        if self.search_indexed:
            text += f"; {plural(self.search_indexed, 'search shard')} indexed"
        if self.missing:
            text += f"; {plural(len(self.missing), 'post')} missing on disk"
        return text + f" ({self.seconds:.2f} s)"


# A page as the last build wrote it: its signature, size and modification time (ns).
_Written = tuple[str, int, int]


@dataclass(slots=True)
class _Page:
    path: str                # relative to public/, e.g. "categories/g/index.html"
    template: str
    context: dict[str, Any]  # its own; with ``common`` (shared by every page) when rendered
    signature: str
    shard: int | None = None  # an article page: the search shard it belongs to
    common: dict[str, Any] = field(default_factory=dict)


def build_site(config: Config, *, full: bool = False) -> BuildReport:
    """Render the site into ``config.public_dir``; only what changed unless ``full``."""
    try:
        return _build(config, full)
    finally:
        gc.unfreeze()  # what the build froze (see _long_lived_objects) can be collected again


def _build(config: Config, full: bool) -> BuildReport:
    started = time.monotonic()
    report = BuildReport()
    public = config.public_dir
    cache_path = config.output.state.parent / _CACHE_NAME
    search_cache_path = config.output.state.parent / _SEARCH_CACHE_NAME
    environment = _environment(config)
    settings = _settings_signature(config)
    with _long_lived_objects():
        cache = _load_cache(cache_path, search_cache_path)
        if full or cache.get("settings") != settings or not public.is_dir():
            # Every page is rendered again, and a page the new settings no longer make (the
            # OPML turned off, say) is still known, so that it goes.
            if cache.get("pages") and not public.is_dir():
                report.outside_changes = len(cache["pages"])  # the whole folder was removed
            cache = {"articles": {}, "pages": dict.fromkeys(cache.get("pages", {}))}
        articles, bodies = _collect(config, cache["articles"], report)
        read_now = set(bodies)
        report.articles = len(articles)
        seen_order = sorted(articles, key=lambda a: (a.seen, a.key))
        shards = _search_shards(seen_order) if config.site.search else []
        by_level = _by_level(articles)
    # A generator: the article pages come first, shard by shard, and each search shard is
    # indexed as soon as its pages are in place, while the next ones render.
    pages = _pages(config, articles, shards, by_level)
    environment.globals["body_of"] = _Bodies(config.output.posts_dir, bodies,
                                             _in_feeds(articles, by_level))
    environment.globals["card"] = _Cards(environment, config.site.root)
    old_pages: dict[str, _Written | None] = cache["pages"]
    public.mkdir(parents=True, exist_ok=True)
    report.written += _copy_static(public)
    search = _SearchIndexer(config, public, shards, cache.get("search", {}))
    try:
        new_pages = _render(environment, public, pages, old_pages, search, report)
    except BaseException:
        search.abandon()
        raise
    for path in old_pages.keys() - new_pages.keys():
        report.removed += _remove_page(public, path)
    search.ready(None)  # no more shards
    del environment.globals["card"], environment.globals["body_of"]
    # An unchanged build leaves the cache alone (writing it costs 0.1 s at 10,000 articles); a
    # changed one writes it while the search index is being built, so that its bytes (60 MB at
    # 50,000 articles) are not held while Pagefind runs. The search shards' signatures follow
    # once Pagefind is done, in a file of their own.
    if (report.written or report.removed or read_now
            or len(articles) != len(cache["articles"])):
        _save_cache(cache_path, _serialise_cache(settings, seen_order, new_pages,
                                                 cache["articles"], read_now, cache.get("file")))
    indexed, report.search_indexed = search.result()
    if indexed != cache.get("search", {}):
        _save_cache(search_cache_path, [marshal.dumps(indexed)])
    report.seconds = time.monotonic() - started
    return report


def _render(environment: jinja2.Environment, public: Path, pages: Iterable[_Page],
            old_pages: dict[str, _Written | None], search: _SearchIndexer, report: BuildReport
            ) -> dict[str, _Written]:
    """Write the pages that changed: their signature is unlike ``old_pages``', or the file is
    not the one the last build wrote (something else, such as ``hexo generate`` sharing the
    folder, replaced or removed it). Hand each search shard to ``search`` once its article
    pages are in place. Returns what was written, for the next build."""
    new_pages: dict[str, _Written] = {}
    templates: dict[str, jinja2.Template] = {}
    folders: set[str] = set()  # made (or found) in this build: one mkdir each, not one per page
    shard: int | None = None
    for page in pages:
        if page.shard != shard:
            if shard is not None:
                search.ready(shard)  # all its pages are in place
            shard = page.shard
        target = f"{public}/{page.path}"
        old = old_pages.get(page.path)
        if old is not None and old[0] == page.signature:
            if _same_file(target, old):
                new_pages[page.path] = old
                report.unchanged += 1
                continue
            report.outside_changes += 1
        template = templates.get(page.template)
        if template is None:
            template = templates[page.template] = environment.get_template(page.template)
        folder = target.rpartition("/")[0]
        if folder not in folders:
            os.makedirs(folder, exist_ok=True)
            folders.add(folder)
        _write_page(target, template.render(page.common, **page.context).encode("utf-8"))
        written = os.stat(target)
        new_pages[page.path] = (page.signature, written.st_size, written.st_mtime_ns)
        report.written += 1
    if shard is not None:
        search.ready(shard)
    return new_pages


def _same_file(target: str, written: _Written) -> bool:
    """The file is still the one a build wrote: same size and modification time (a stat, not
    a read: an unchanged build at 50,000 articles looks at every page)."""
    try:
        found = os.stat(target)
    except FileNotFoundError:
        return False
    return (found.st_size, found.st_mtime_ns) == written[1:]


@contextmanager
def _long_lived_objects() -> Iterator[None]:
    """Loading the cache and listing the pages allocate a few hundred thousand objects that
    live for the whole build and form no garbage cycles. The collector would scan them again
    and again as they pile up (0.05 s of an unchanged build at 10,000 articles), so it waits,
    and afterwards leaves them out of its scans (gc.freeze) while the pages render."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------- articles


def _collect(config: Config, cached: dict[str, Any], report: BuildReport
             ) -> tuple[list[Article], dict[str, str | None]]:
    """Every article of the config's channels, newest first; bodies of those read now, as
    many as BODIES_HELD allows."""
    articles: list[Article] = []
    bodies: dict[str, str | None] = {}  # None: read now, but not held (BODIES_HELD)
    held = 0
    if not config.output.state.exists():
        return articles, bodies
    with Store(config.output.state, read_only=True) as store:
        hashes = store.content_hashes()
        for channel in config.channels:
            folder = channel_folder(config.output.posts_dir, channel.group, channel.site,
                                    channel.channel)
            records: dict[str, ItemRecord] | None = None  # read when an article is not cached
            names = (channel.group, channel.site, channel.channel)
            # The channel's folder names and category links, made once and shared by its
            # articles (and so by the cache, which marshal writes them into once).
            levels: list[str] | None = None
            category_hrefs: tuple[str, ...] = ()
            for identity, content_hash in hashes.get(channel.key, ()):
                key = f"{channel.key}\x00{identity}"
                known = cached.get(key)
                if (isinstance(known, list) and len(known) == len(_ARTICLE_FIELDS)
                        and known[1] == content_hash):
                    articles.append(_article_from_cache(known))
                    continue
                if records is None:
                    records = store.known_items(channel.key)
                record = records[identity]
                parts = _read_parts(folder / record.file)
                if parts is None:
                    report.missing.append(str(folder / record.file))
                    continue
                body = _site_body(parts.body)
                name = record.file[:-3] if record.file.endswith(".md") else record.file
                if levels is None:
                    levels = _levels(*names)
                    category_hrefs = tuple(_url_path(_category_path(*names[:n])) for n in (1, 2, 3))
                # A file per article, not a folder: 10,000 fewer mkdirs on a full build.
                path = "/".join(("posts", *levels, folder_name(name) + ".html"))
                article = Article(
                    key=key, content_hash=record.content_hash, group=channel.group,
                    site=channel.site, channel=channel.channel, title=record.title,
                    link=record.link if (record.link or "").startswith(("http://", "https://")) else None,
                    author=record.author or channel.author,
                    date=(date := _post_timestamp(parts.date, record.first_seen)),
                    month=_utc(date).strftime("%Y/%m"),
                    image=_card_image(parts.image, config),
                    summary=_summary(body),
                    path=path, file="/".join((*levels, record.file)), seen=record.first_seen,
                    href=_url_path(path),
                    category_hrefs=category_hrefs,
                )
                articles.append(article)
                if held < BODIES_HELD:
                    bodies[key] = body
                    held += len(body)
                else:
                    bodies[key] = None
    articles.sort(key=lambda a: (a.date, a.key), reverse=True)
    return articles, bodies


def _card_image(image: str, config: Config) -> str:
    """An article's picture on the site: its own, else ``[site] fallback_image`` ("" for a
    typographic card). The posts' stand-in (the reference's random picsum photo, or
    ``[output] fallback_image``) is not the item's, and is no picture for a news site."""
    if picsum_number_of(image) is not None or image == config.output.fallback_image:
        image = config.site.fallback_image
    return image if image and loads_safely(image) else ""


_ARTICLE_FIELDS = tuple(f.name for f in fields(Article))


def _article_to_cache(article: Article) -> list[Any]:
    # Field by field: dataclasses.asdict() deep-copies, and costs 0.7 s for 10,000 articles.
    return [getattr(article, name) for name in _ARTICLE_FIELDS]


def _article_from_cache(row: list[Any]) -> Article:
    return Article(*row)


class _Cards:
    """An article's entry in listings, rendered once per build (``_card.html``): the same card
    appears on the front page, its three category pages and its month."""

    def __init__(self, environment: jinja2.Environment, root: str) -> None:
        self.template = environment.get_template("_card.html")
        self.root = root
        self.cards: dict[str, Markup] = {}

    def __call__(self, article: Article) -> Markup:
        card = self.cards.get(article.key)
        if card is None:
            card = Markup(self.template.render(a=article, root=self.root))
            if len(self.cards) < CARDS_HELD:
                self.cards[article.key] = card
        return card


class _Bodies:
    """Article bodies as the site shows them: those read while collecting, others on demand
    (an unchanged article whose page or feed must be rendered again). A body is let go once
    used unless a feed needs it too (``in_feeds``): a full build at 50,000 articles would
    otherwise hold every body until it ends (270 MB)."""

    def __init__(self, posts_dir: Path, known: dict[str, str | None], in_feeds: set[str]) -> None:
        self.posts_dir = posts_dir
        self.known = known
        self.in_feeds = in_feeds

    def __call__(self, article: Article) -> str:
        key = article.key
        kept = key in self.in_feeds
        body = self.known.get(key) if kept else self.known.pop(key, None)
        if body is None:
            parts = _read_parts(self.posts_dir / article.file)
            body = _site_body(parts.body) if parts else ""
            if kept:
                self.known[key] = body
        return body


def _read_parts(path: Path) -> PostParts | None:
    """A post file's image, date and body; ``None`` if it is gone or not in our format."""
    try:
        return read_post(path.read_text("utf-8"))
    except OSError:
        return None


def _post_timestamp(date: str, first_seen: float) -> float:
    """The post's date line as a time; an item without one ("Invalid Date") sorts as first seen."""
    moment = parse_date(date)
    return moment.timestamp() if moment is not None else first_seen


def _site_body(html: str) -> str:
    """The body as the site shows it: the feed's own styling cannot reach the page (no style
    or link elements, no style, class or id attributes) and images load lazily, without a
    referrer. The body is already safe (cleaned when it was written)."""
    tree = LexborHTMLParser(f"<div>{html}</div>")
    root = tree.body.child if tree.body is not None else None
    if root is None:
        return ""
    for node in root.css("style, link, meta, title"):
        node.decompose()
    for node in root.css("[style], [class], [id]"):
        for name in ("style", "class", "id"):
            if name in node.attributes:
                del node.attrs[name]
    for image in root.css("img"):
        image.attrs["loading"] = "lazy"
        image.attrs["decoding"] = "async"
        image.attrs["referrerpolicy"] = "no-referrer"
    # Checked again as re-serialised, in its place in a page: a post written by an older
    # version, or edited by hand, is published only as safe as a new one.
    return make_safe(root.inner_html or "")[0]


_BLOCK_END = re.compile(r"<(br|/p|/div|/li|/h[1-6]|/tr|/td|/blockquote|/pre)\b", re.I)


def _summary(body: str) -> str:
    # Blocks end with a space, inline elements join as they read ("<b>4,200</b>, then").
    text = " ".join((LexborHTMLParser(_BLOCK_END.sub(r" <\1", body)).text(separator="") or "").split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS].rstrip() + "…"


def _levels(*levels: str) -> list[str]:
    return [folder_name(level) for level in levels]


def _category_path(*levels: str) -> str:
    """``categories/<group>/[<site>/[<channel>/]]``, the listing of one category level."""
    return "/".join(("categories", *_levels(*levels), ""))


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


# --------------------------------------------------------------------------- pages


def _by_level(articles: list[Article]) -> dict[tuple[str, ...], list[Article]]:
    """Each category level's articles (group, site, channel), newest first, gathered in one
    pass (filtering the articles once per site and channel cost 3.5 s of an unchanged build
    at 50,000)."""
    by_level: defaultdict[tuple[str, ...], list[Article]] = defaultdict(list)
    for article in articles:
        by_level[(article.group,)].append(article)
        by_level[(article.group, article.site)].append(article)
        by_level[(article.group, article.site, article.channel)].append(article)
    return by_level


def _in_feeds(articles: list[Article], by_level: dict[tuple[str, ...], list[Article]]
              ) -> set[str]:
    """The articles some Atom feed carries in full (the newest of the site and of each
    category level): the only ones whose body is needed after their own page."""
    keys = {article.key for article in articles[:FEED_ITEMS]}
    for items in by_level.values():
        keys.update(article.key for article in items[:CATEGORY_FEED_ITEMS])
    return keys


def _pages(config: Config, articles: list[Article], shards: list[list[Article]],
           by_level: dict[tuple[str, ...], list[Article]]) -> Iterator[_Page]:
    site = config.site
    labels = LABELS["zh" if site.language.lower().startswith("zh") else "en"]
    # Escaped once here, not on each of their thousands of uses in a build.
    common = {"site": site, "labels": {key: escape(value) for key, value in labels.items()},
              "root": escape(site.root), "version": __version__}
    tree = _category_tree(articles)
    archive = defaultdict(list)
    for article in articles:
        archive[article.month].append(article)

    def page(path: str, template: str, signature: Any, shard: int | None = None,
             **context: Any) -> _Page:
        # marshal version 2: a deterministic encoding (later versions share repeated objects
        # by reference, which depends on how they were made), several times cheaper than repr
        digest = hashlib.sha256(marshal.dumps((template, signature), 2)).hexdigest()
        context["path"] = path  # (merged with common only if the page is rendered)
        return _Page(path, template, context, digest, shard, common)

    # Articles, each with the neighbours it links to (newest first), in the order of the
    # search shards: a shard can be indexed once its own pages are written.
    for shard, number, article in _article_order(articles, shards):
        newer = articles[number - 1] if number > 0 else None
        older = articles[number + 1] if number + 1 < len(articles) else None
        # What the page shows: the article (its content hash stands for title, date and body)
        # and its neighbours' links. Plain strings: a dataclass repr costs 10x more.
        yield page(article.path, "article.html",
                   (article.key, article.content_hash, article.link, article.author,
                    newer and newer.path, newer and newer.title, older and older.path,
                    older and older.title),
                   shard, article=article, newer=newer, older=older, title=article.title)

    # The front page and the site's feed, then each category level's listing and feed.
    yield from _listing(page, "", site.title, articles, site.per_page, crumbs=[])
    yield from _feed(page, "atom.xml", site.title, articles, FEED_ITEMS)
    for group, sites in tree.items():
        group_path = _category_path(group)
        group_items = by_level[(group,)]
        yield from _listing(page, group_path, group, group_items, site.per_page,
                            crumbs=[(group, group_path)], children=_children(sites, group))
        yield from _feed(page, group_path + "atom.xml", group, group_items)
        for site_name, channels in sites.items():
            site_path = _category_path(group, site_name)
            site_items = by_level[(group, site_name)]
            yield from _listing(page, site_path, site_name, site_items, site.per_page,
                                crumbs=[(group, group_path), (site_name, site_path)],
                                children=_children(channels, group, site_name))
            yield from _feed(page, site_path + "atom.xml", f"{group} / {site_name}", site_items)
            for channel_name in channels:
                channel_path = _category_path(group, site_name, channel_name)
                channel_items = by_level[(group, site_name, channel_name)]
                yield from _listing(
                    page, channel_path, channel_name, channel_items, site.per_page,
                    crumbs=[(group, group_path), (site_name, site_path),
                            (channel_name, channel_path)])
                yield from _feed(page, channel_path + "atom.xml",
                                 f"{group} / {site_name} / {channel_name}", channel_items)
    counts = [(month, len(items)) for month, items in sorted(archive.items(), reverse=True)]
    yield page("archives/index.html", "archives.html", counts, months=counts,
               title=labels["archives"])
    for month, items in archive.items():
        yield from _listing(page, f"archives/{month}/", month, items, site.per_page,
                            crumbs=[(labels["archives"], "archives/"), (month, f"archives/{month}/")])
    category_counts = _tree_counts(tree)
    yield page("categories/index.html", "categories.html", category_counts,
               tree=category_counts, title=labels["categories"])
    if site.search:
        bundles = [f"pagefind/{number:04d}/" for number in range(len(shards) or 1)]
        yield page("search/index.html", "search.html", bundles, shards=bundles,
                   title=labels["search"])
    yield page("404.html", "404.html", None, title=labels["not_found"])

    if site.sources:
        # Only feeds a reader can subscribe to, as they may be published: no file:// paths, no
        # private instance, no access key or credentials.
        public_feeds = [replace(c, url=url) for c in config.channels
                        if (url := publishable_url(c.url)) is not None]
        opml = export_opml(public_feeds, title=site.title).decode("utf-8")
        yield page("sources.opml", "raw.txt", opml, text=opml)
    if site.base_url:
        listed = ["", *(a.path for a in articles), "categories/", "archives/"]
        yield page("sitemap.xml", "sitemap.xml", listed, urls=listed,
                   updated=_utc(articles[0].date).strftime("%Y-%m-%d") if articles else None)


def _article_order(articles: list[Article], shards: list[list[Article]]
                   ) -> Iterator[tuple[int | None, int, Article]]:
    """(shard, position newest first, article) for each article, shard by shard; newest
    first when there is no search index."""
    if not shards:
        for number, article in enumerate(articles):
            yield None, number, article
        return
    position = {article.key: number for number, article in enumerate(articles)}
    for shard, members in enumerate(shards):
        for article in members:
            yield shard, position[article.key], article


def _listing(page: Any, base: str, title: str, items: list[Article], per_page: int, *,
             crumbs: list[tuple[str, str]], children: list[tuple[str, str, int]] | None = None
             ) -> Iterator[_Page]:
    """A paginated listing under ``base``: ``base/index.html`` holds the newest articles,
    ``base/page/N/`` the N-th full page counted from the oldest (stable as articles arrive)."""
    count = len(items)
    full_pages = max(count // per_page, 1)
    # newest first: the front page takes the newest full page plus the remainder
    front = count - (full_pages - 1) * per_page
    chunks = [(None, items[:front])]
    for number in range(full_pages - 1, 0, -1):
        start = count - number * per_page
        chunks.append((number, items[start:start + per_page]))
    for position, (number, chunk) in enumerate(chunks):
        path = base + (f"page/{number}/" if number else "")
        newer = None if position == 0 else (
            base + (f"page/{chunks[position - 1][0]}/" if chunks[position - 1][0] else ""))
        older = (base + f"page/{chunks[position + 1][0]}/") if position + 1 < len(chunks) else None
        # Counts and the child list show on the first page only, so older pages stay still.
        first = number is None
        signature = ([(a.key, a.content_hash) for a in chunk], newer, older, crumbs, title,
                     (count, children) if first else number)
        yield page(path + "index.html", "listing.html", signature, title=title, items=chunk,
                   newer=newer, older=older, crumbs=crumbs, count=count if first else None,
                   children=children if first else None, number=number)


def _feed(page: Any, path: str, title: str, items: list[Article],
          size: int = CATEGORY_FEED_ITEMS) -> Iterator[_Page]:
    newest = items[:size]
    updated = _utc(newest[0].date if newest else 0).isoformat()
    yield page(path, "atom.xml", ([(a.key, a.content_hash) for a in newest], title),
               title=title, items=newest, updated=updated, feed_path=path)


def _category_tree(articles: Iterable[Article]) -> dict[str, dict[str, dict[str, int]]]:
    tree: dict[str, dict[str, dict[str, int]]] = {}
    for article in articles:
        channels = tree.setdefault(article.group, {}).setdefault(article.site, {})
        channels[article.channel] = channels.get(article.channel, 0) + 1
    return tree


def _children(levels: dict[str, Any], *parents: str) -> list[tuple[str, str, int]]:
    def size(value: Any) -> int:
        return value if isinstance(value, int) else sum(size(v) for v in value.values())
    return [(name, _category_path(*parents, name), size(value)) for name, value in levels.items()]


def _tree_counts(tree: dict[str, dict[str, dict[str, int]]]) -> list[Any]:
    return [
        (group, _category_path(group), sum(sum(c.values()) for c in sites.values()),
         [(site, _category_path(group, site), sum(channels.values()),
           [(channel, _category_path(group, site, channel), n) for channel, n in channels.items()])
          for site, channels in sites.items()])
        for group, sites in tree.items()
    ]


# --------------------------------------------------------------------------- rendering


def _environment(config: Config) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if config.site.templates is not None:
        loaders.append(jinja2.FileSystemLoader(config.site.templates))
    loaders.append(jinja2.PackageLoader("newsmirror", "templates"))
    # Compiled templates are kept beside the state: compiling them costs 0.1 s a build.
    bytecode = config.output.state.parent / "templates-compiled"
    bytecode.mkdir(parents=True, exist_ok=True)
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml"), default_for_string=True),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(bytecode)),
        # A build is short: templates edited during one are seen by the next (the settings
        # signature covers them). Checking would cost a stat per page.
        auto_reload=False,
    )
    environment.filters["url"] = _url_path
    environment.filters["iso"] = lambda ts: _utc(ts).isoformat()
    environment.filters["day"] = lambda ts: _utc(ts).strftime("%Y-%m-%d")
    environment.filters["minute"] = lambda ts: _utc(ts).strftime("%Y-%m-%d %H:%M UTC")
    environment.filters["xmltext"] = _xml_text
    environment.filters["tint"] = lambda name: zlib.crc32(name.encode()) % 8
    return environment


@functools.lru_cache(maxsize=65536)
def _url_path(path: str) -> str:
    """A site path as it goes into an href (non-ASCII and spaces percent-encoded)."""
    return quote(path, safe="/:")


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Characters XML 1.0 cannot hold, dropped (Atom must parse)."""
    return _NOT_XML.sub("", text)


def _settings_signature(config: Config) -> str:
    """Everything besides the articles that shapes the pages: when it changes, all are rebuilt."""
    templates = []
    if config.site.templates is not None and config.site.templates.is_dir():
        for path in sorted(config.site.templates.rglob("*")):
            if path.is_file():
                templates.append((str(path), hashlib.sha256(path.read_bytes()).hexdigest()))
    parts = (SITE_FORMAT, __version__, repr(config.site), config.output.fallback_image, templates)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _copy_static(public: Path) -> int:
    """The bundled stylesheet; written only when it differs. Returns the files written."""
    changed = 0
    static = resources.files("newsmirror") / "templates" / "static"
    for name in ("style.css",):
        data = (static / name).read_bytes()
        target = public / "assets" / name
        if not target.exists() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, data)
            changed += 1
    return changed


def _write_page(target: str, data: bytes) -> None:
    """A page that replaces another goes through a temp file and a rename, so a reader of the
    live site never gets half of it; a new page is simply written (no one can be reading it),
    which saves a rename per page on a full build. Bytes straight to the descriptor: a text
    file object would add five system calls per page (fstat, ioctl, lseeks)."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        write_atomic(Path(target), data)
        return
    try:
        write_and_close(fd, data)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(target)
        raise


def _remove_page(public: Path, path: str) -> int:
    target = public / path
    try:
        target.unlink()
    except FileNotFoundError:
        return 0
    # Folders emptied by the removal (an article's, a category's) go too.
    folder = target.parent
    while folder != public:
        try:
            folder.rmdir()
        except OSError:
            break
        folder = folder.parent
    return 1


def _resident_mb() -> float:
    """This process's resident memory now (0 where the system does not say)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _search_shards(order: list[Article]) -> list[list[Article]]:
    """Articles in the order the mirror first saw them (``order``), cut into shards of
    SEARCH_SHARD, the rest into tail shards of SEARCH_TAIL_SHARD: new articles land in the last
    tail shard, so an incremental build re-indexes only that one (two where the new ones cross
    its end)."""
    sealed = len(order) - len(order) % SEARCH_SHARD
    tail = min(SEARCH_TAIL_SHARD, SEARCH_SHARD)
    return ([order[start:start + SEARCH_SHARD] for start in range(0, sealed, SEARCH_SHARD)]
            + [order[start:start + tail] for start in range(sealed, len(order), tail)])


class _SearchIndexer:
    """Pagefind indexes (CJK included), one per shard, each under ``pagefind/NNNN/``; the
    search page merges them. Pagefind cannot update an index, so a changed shard is indexed
    anew, from a flat folder of hard links to its article pages (each page names its own URL
    in a ``data-pagefind-meta`` tag).

    The build hands shards over (:meth:`ready`) as soon as their pages are written, and a
    thread starts Pagefind on each changed one: indexing shares the machine's cores with the
    rendering instead of waiting for it to end. One Pagefind runs while pages render, two
    once they are done, unless the build itself is large: each Pagefind holds ~140 MB for its
    500 pages, and a build of 50,000 articles ~400 MB, which with two would pass 600 MB.
    """

    SECOND_INDEXER_BELOW_MB = 256
    _ABANDON = -1

    def __init__(self, config: Config, public: Path, shards: list[list[Article]],
                 known: dict[str, str]) -> None:
        self.public = public
        self.shards = shards
        self.known = known
        self.tree = config.output.state.parent / "search-tree"
        self.signatures: dict[str, str] = {}
        self.indexed = 0
        self.unavailable = False  # Pagefind is not installed
        self.error: BaseException | None = None
        self.queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.rendered = threading.Event()  # every page is written
        self.thread: threading.Thread | None = None
        if config.site.search:
            self.thread = threading.Thread(target=self._run, name="search-index", daemon=True)
            self.thread.start()

    def ready(self, shard: int | None) -> None:
        """Shard number ``shard`` has all its pages written; ``None``: no more shards come."""
        if shard is None:
            self.rendered.set()
        if self.thread is not None:
            self.queue.put(shard)

    def abandon(self) -> None:
        """The build failed: finish what runs, index nothing more, remove nothing."""
        if self.thread is not None:
            self.queue.put(self._ABANDON)
            self.thread.join()

    def result(self) -> tuple[dict[str, str], int]:
        """After ``ready(None)``: the shards' signatures and how many were indexed anew."""
        if self.thread is None:
            return self.known, 0
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.signatures, self.indexed

    def _run(self) -> None:
        try:
            self._index()
        except BaseException as exc:  # re-raised in the building thread
            self.error = exc

    def _index(self) -> None:
        shutil.rmtree(self.tree, ignore_errors=True)
        running: list[tuple[str, str, subprocess.Popen[bytes]]] = []
        while (number := self.queue.get()) not in (None, self._ABANDON):
            self._start(number, self.shards[number], running)
        if number is None and not self.shards:  # an empty site still gets an (empty) index
            self._start(0, [], running)
        while running:
            self._finish(running.pop(0))
        if number == self._ABANDON:
            return  # the build failed: what is on disk stays as it is
        shutil.rmtree(self.tree, ignore_errors=True)
        if self.unavailable:
            self.signatures = self.known  # keep what there is
            return
        # Shards past the end (articles removed) go.
        for stale in (self.public / "pagefind").glob("[0-9][0-9][0-9][0-9]"):
            if stale.name not in self.signatures:
                shutil.rmtree(stale, ignore_errors=True)

    def _start(self, number: int, shard: list[Article],
               running: list[tuple[str, str, subprocess.Popen[bytes]]]) -> None:
        name = f"{number:04d}"
        signature = hashlib.sha256(repr([(a.key, a.content_hash, a.path) for a in shard]).encode()).hexdigest()
        output = self.public / "pagefind" / name
        if self.known.get(name) == signature and (output / "pagefind-entry.json").exists():
            self.signatures[name] = signature
            return
        if self.unavailable:
            return
        try:
            binary = _pagefind_binary()
        except ImportError:
            log.warning("search index not built: Pagefind is not installed "
                        "(pip install 'pagefind[extended]')")
            self.unavailable = True
            return
        folder = self.tree / name
        folder.mkdir(parents=True)
        for position, article in enumerate(shard):
            source, target = self.public / article.path, folder / f"{position}.html"
            try:
                os.link(source, target)
            except OSError:  # another file system, or no hard links: copy
                shutil.copyfile(source, target)
        if len(running) >= self._parallel():
            self._finish(running.pop(0))
        running.append((name, signature, subprocess.Popen(
            [str(binary), "--site", str(folder), "--output-path", str(output), "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))

    def _parallel(self) -> int:
        if self.rendered.is_set() and _resident_mb() < self.SECOND_INDEXER_BELOW_MB:
            return 2
        return 1

    def _finish(self, job: tuple[str, str, subprocess.Popen[bytes]]) -> None:
        name, signature, process = job
        _, errors = process.communicate(timeout=600)
        self.indexed += 1
        if process.returncode == 0:
            self.signatures[name] = signature
        else:
            log.warning("search index %s not built: %s", name, errors.decode(errors="replace")[-500:])


@functools.cache
def _pagefind_binary() -> Path:
    """The Pagefind executable from the pagefind[extended] wheel, run directly: through
    ``python -m pagefind`` each shard would pay for another interpreter."""
    try:
        from pagefind_bin_extended import get_executable  # type: ignore[import-not-found]
    except ImportError:
        from pagefind_bin import get_executable  # type: ignore[import-not-found,no-redef]
    return Path(get_executable())


@dataclass(frozen=True, slots=True)
class _CacheFile:
    """Where the cache's pieces of articles lie in the file they were loaded from, so that a
    piece the build did not change is written again as it was, not marshalled anew."""

    path: Path
    stamp: tuple[int, int]                 # size and modification time, when loaded
    pieces: list[tuple[list[str], int, int]]  # each piece's article keys, start, end


def _load_cache(path: Path, search_path: Path) -> dict[str, Any]:
    # marshal: four times faster than JSON both ways at 10,000 articles, and it only ever
    # builds plain values (no code runs when loading it, unlike pickle). Read whole, then
    # loaded: marshal.load on a file reads in small pieces, 3x slower.
    try:
        with open(path, "rb") as file:
            found = os.fstat(file.fileno())
            raw = memoryview(file.read())
        values = _cache_values(raw)
        data = next(values)[2]
        if not isinstance(data, dict) or data.get("format") != _CACHE_FORMAT:
            return {}  # an older or damaged cache: the build starts afresh
        articles: dict[str, Any] = {}
        pieces = []
        for start, end, piece in values:
            articles.update(piece)
            pieces.append((list(piece), start, end))
    except (OSError, ValueError, EOFError, TypeError, StopIteration):
        return {}
    if not isinstance(data.get("pages"), dict):
        return {}
    data["articles"] = articles
    data["file"] = _CacheFile(path, (found.st_size, found.st_mtime_ns), pieces)
    try:
        search = marshal.loads(search_path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        search = {}  # every shard is indexed again
    data["search"] = search if isinstance(search, dict) else {}
    return data


def _cache_values(raw: memoryview) -> Iterator[tuple[int, int, Any]]:
    """The values of a cache file, each marshalled with its length ahead of it: (where it
    starts, where it ends, the value)."""
    position = 0
    while position < len(raw):
        start = position
        length = int.from_bytes(raw[position:position + 8], "little")
        position += 8
        if length > len(raw) - position:
            raise ValueError("cut off")
        yield start, position + length, marshal.loads(raw[position:position + length])
        position += length


def _serialise_cache(settings: str, order: list[Article], pages: dict[str, _Written],
                     rows: dict[str, list[Any]], read_now: set[str],
                     previous: _CacheFile | None) -> Iterator[bytes]:
    """The cache for the next build, in pieces: the settings and pages, then the articles in
    the order the mirror first saw them, CACHE_CHUNK at a time. As one value, at 50,000
    articles its 60 MB would be held while Pagefind runs; and as new articles join the last
    piece, a piece with the same articles as last time, none of them read now, is copied from
    the ``previous`` file (marshalling it all again took 0.3 s of an incremental build at
    50,000). An article taken from the cache keeps its row as loaded; those read now get new
    ones."""
    def framed(value: Any) -> Iterator[bytes]:
        data = marshal.dumps(value)
        yield len(data).to_bytes(8, "little")
        yield data

    yield from framed({"format": _CACHE_FORMAT, "settings": settings, "pages": pages})
    old = None
    if previous is not None:
        with suppress(OSError):
            old = os.open(previous.path, os.O_RDONLY | os.O_CLOEXEC)
            found = os.fstat(old)
            if (found.st_size, found.st_mtime_ns) != previous.stamp:
                os.close(old)  # not the file the pieces were found in
                old = None
    try:
        for number, start in enumerate(range(0, len(order), CACHE_CHUNK)):
            chunk = order[start:start + CACHE_CHUNK]
            keys = [a.key for a in chunk]
            if (old is not None and number < len(previous.pieces)
                    and previous.pieces[number][0] == keys and read_now.isdisjoint(keys)):
                _, begin, end = previous.pieces[number]
                data = os.pread(old, end - begin, begin)
                if len(data) == end - begin:
                    yield data
                    continue
            yield from framed({a.key: _article_to_cache(a) if a.key in read_now else rows[a.key]
                               for a in chunk})
    finally:
        if old is not None:
            os.close(old)


def _save_cache(path: Path, serialised: Iterable[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, serialised)
