"""OPML in and out: the channels as an outline nested group → site → channel, and an outline
(as feed readers write it) turned into channels appended to the config.

Reading and planning are pure; :func:`append_channels` is the one place that edits a config
file, with tomlkit so the user's comments and layout stay as they were.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

from lxml import etree

from .config import UNSAFE_FOLDER_CHARS, Channel, Config, parse_config
from .exceptions import ConfigError, FeedError
from .write import write_atomic


@dataclass(frozen=True, slots=True)
class OutlineFeed:
    """One feed of an OPML file, with the three levels it will be filed under."""

    group: str
    site: str
    channel: str
    url: str

    @property
    def key(self) -> str:
        return f"{self.group}/{self.site}/{self.channel}"


@dataclass(frozen=True, slots=True)
class ImportPlan:
    add: tuple[OutlineFeed, ...]
    skipped: tuple[tuple[OutlineFeed, str], ...]     # (feed, why)


def export_opml(channels: Iterable[Channel], title: str = "newsmirror") -> bytes:
    """OPML 2.0: group and site outlines hold channel outlines with ``xmlUrl`` (resolved)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], Any] = {}
    for channel in channels:
        group = folders.get((channel.group,))
        if group is None:
            group = folders[(channel.group,)] = etree.SubElement(
                body, "outline", text=channel.group, title=channel.group)
        site = folders.get((channel.group, channel.site))
        if site is None:
            site = folders[(channel.group, channel.site)] = etree.SubElement(
                group, "outline", text=channel.site, title=channel.site)
        etree.SubElement(site, "outline", type="rss", text=channel.channel,
                         title=channel.channel, xmlUrl=channel.url)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def read_opml(data: bytes, name: str, *, default_group: str) -> list[OutlineFeed]:
    """The feeds of an OPML file. Folders map to levels: group / site / feed gives all three;
    group / feed gives site = channel = the feed's name; a feed outside any folder goes to
    ``default_group``; deeper nesting keeps the outermost folder as group and the innermost
    as site. Names are ``text``, else ``title``, else the feed's host."""
    # The feed parser's hardened XML, imported here: `build` needs only the export.
    from .parse import parse_xml

    try:
        root = parse_xml(data)
    except FeedError as exc:
        raise ConfigError(f"{name}: not OPML: {exc}") from None
    if _local(root) != "opml":
        raise ConfigError(f"{name}: not OPML: the root element is <{_local(root)}>")
    body = next((child for child in root if _local(child) == "body"), None)
    if body is None:
        raise ConfigError(f"{name}: not OPML: no <body>")
    feeds: list[OutlineFeed] = []
    _walk(body, [], feeds, default_group)
    return feeds


def _walk(element: Any, folders: list[str], feeds: list[OutlineFeed], default_group: str) -> None:
    for outline in element:
        if _local(outline) != "outline":
            continue
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        label = _label(outline)
        if not url:
            _walk(outline, folders + [label or "untitled"], feeds, default_group)
            continue
        name = label or urlsplit(url).hostname or "feed"
        if not folders:
            levels = (default_group, name, name)
        elif len(folders) == 1:
            levels = (folders[0], name, name)
        else:
            levels = (folders[0], folders[-1], name)
        feeds.append(OutlineFeed(*(level_name(level) for level in levels), url=url))


def _label(outline: Any) -> str:
    return " ".join((outline.get("text") or outline.get("title") or "").split())


def _local(element: Any) -> str:
    # Not etree.QName: it refuses the names a recovering parse makes of garbage.
    return element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""


def level_name(name: str) -> str:
    """A name usable as one category level: no separators or control characters, no leading
    ``.`` or ``_`` (Hexo skips those folders)."""
    cleaned = " ".join(UNSAFE_FOLDER_CHARS.sub(" ", name).split()).lstrip("._ ")
    return cleaned or "untitled"


def plan_import(config: Config, feeds: Iterable[OutlineFeed]) -> ImportPlan:
    """Which feeds to append; a feed whose levels or URL the config (or an earlier feed of the
    file) already has is skipped, with the reason."""
    keys = {channel.key: channel.url for channel in config.channels}
    urls = {channel.url: channel.key for channel in config.channels}
    base = config.rsshub.base + "/"
    add, skipped = [], []
    for feed in feeds:
        if feed.url.startswith(base):  # back to the short form, so a new base moves it too
            feed = OutlineFeed(feed.group, feed.site, feed.channel,
                               "rsshub:/" + feed.url[len(base):])
        url = (config.rsshub.base + feed.url[len("rsshub:"):]
               if feed.url.startswith("rsshub:") else feed.url)
        if feed.key in keys:
            skipped.append((feed, f"{feed.key} is already configured"))
        elif url in urls:
            skipped.append((feed, f"{url} is already configured as {urls[url]}"))
        else:
            add.append(feed)
            keys[feed.key] = url
            urls[url] = feed.key
    return ImportPlan(tuple(add), tuple(skipped))


def append_channels(path: Path, feeds: Iterable[OutlineFeed], *, header: str = "") -> None:
    """Append ``[[channel]]`` tables to a config file, keeping everything else as written; a
    missing file is created, starting with ``header``.

    The result is checked as a config before it replaces the file (atomically).
    """
    import tomlkit  # only `opml import` edits a config

    text = path.read_text("utf-8") if path.exists() else header
    document = tomlkit.parse(text)
    tables = document.get("channel")
    if tables is None:
        tables = tomlkit.aot()
        document.append("channel", tables)
    for feed in feeds:
        table = tomlkit.table()
        for key in ("group", "site", "channel", "url"):
            table[key] = getattr(feed, key)
        tables.append(table)
    new_text = tomlkit.dumps(document)
    parse_config(tomllib.loads(new_text), path)  # raises ConfigError; the file is untouched
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, new_text)
