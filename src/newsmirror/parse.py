"""Bytes -> :class:`ParsedFeed`: RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1.

Hand-written on lxml rather than feedparser or fastfeedparser because posts must carry the body
exactly as served: both of those strip, sanitise or re-serialise descriptions (13 of the 16 golden
cases come out different), and neither lets us harden the XML parser against entity expansion and
external entities the way lxml's parser options do.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import copy
import html
import json
import re
from typing import Any, Callable, Iterable

import charset_normalizer
from lxml import etree

from .dates import parse_date
from .exceptions import FeedError
from .types import Entry, ParsedFeed

NS_MEDIA = "http://search.yahoo.com/mrss/"
NS_XHTML = "http://www.w3.org/1999/xhtml"

# No DTD loading, no entity substitution, no network: XXE and entity blow-ups cannot happen.
_XML_PARSER_OPTIONS = dict(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
    huge_tree=False, recover=True, remove_pis=True, collect_ids=False,
)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*(?:\?>|$)", re.I)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)
_XML_DECL_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.I)
# XML 1.0 forbids these; feeds contain them anyway (NUL bytes, stray control characters).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_ILLEGAL_BYTES = bytes(range(0, 9)) + b"\x0b\x0c" + bytes(range(0x0e, 0x20))
# Labels browsers treat as supersets; decoding GBK text as GB2312 fails on common characters.
_ENCODING_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
                     "big5": "big5hkscs", "iso-8859-1": "cp1252", "latin-1": "cp1252",
                     "us-ascii": "utf-8", "ascii": "utf-8"}
_IMAGE_TYPES = ("image/",)
# An HTML page where a feed was expected: a login wall, an error page, a site's front page.
_HTML_START = re.compile(rb"^(?:\s|<!--.*?-->|<\?xml[^>]*>)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I | re.S)


def parse_feed(data: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed document. Raises :class:`FeedError` with a one-line reason."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.strip() and not data.strip():
        raise FeedError("empty document")
    if head.startswith((b"{", b"[")) or (content_type or "").lower().startswith(
        ("application/feed+json", "application/json")
    ):
        return _parse_json_feed(data, url)
    if _HTML_START.match(head):
        raise FeedError("not a feed: got an HTML page")
    return _parse_xml_feed(data, url, content_type)


# ---------------------------------------------------------------------------------------- XML

def decode_document(data: bytes, content_type: str | None = None) -> str:
    """Decode an XML document: BOM, then its declaration, then HTTP charset, then UTF-8, then a guess."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"),
                          (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    candidates: list[str] = []
    declared = _XML_DECL_ENCODING.match(data)
    if declared:
        candidates.append(declared.group(1).decode("ascii"))
    charset = _http_charset(content_type)
    if charset:
        candidates.append(charset)
    candidates.append("utf-8")
    for label in candidates:
        label = _ENCODING_ALIASES.get(label.lower(), label.lower())
        try:
            return data.decode(label)
        except (LookupError, UnicodeDecodeError):
            continue
    guess = charset_normalizer.from_bytes(data[:200_000]).best()
    if guess is not None and guess.encoding:
        encoding = _ENCODING_ALIASES.get(guess.encoding.lower(), guess.encoding)
        return data.decode(encoding, errors="replace")
    return data.decode("utf-8", errors="replace")


def _http_charset(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _xml_input(data: bytes, content_type: str | None) -> bytes | str:
    """What lxml gets: the bytes themselves when they are clean UTF-8 (the common case, and
    the fast one), else text we decoded, without its now misleading declaration."""
    declared = _XML_DECL_ENCODING.match(data)
    labels = {label.lower().replace("_", "-") for label in
              (declared.group(1).decode("ascii") if declared else "utf-8",
               _http_charset(content_type) or "utf-8")}
    if labels <= {"utf-8", "utf8"} and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            # translate() runs at memory speed; a regex scan of 100 KB costs ten times more. The
            # non-characters are looked for in the text: in the bytes of Chinese text (many
            # \xef lead bytes) that search took three times as long as decoding.
            clean = len(data.translate(None, _XML_ILLEGAL_BYTES)) == len(data)
            if clean and "\ufffe" not in text and "\uffff" not in text:
                return data
    return _XML_ILLEGAL.sub("", _XML_DECL.sub("", decode_document(data, content_type), count=1))


# Character references to UTF-16 surrogates (D800-DFFF), which libxml2's recovering parser turns
# into bytes that are not UTF-8: they become U+FFFD, as an HTML parser makes them.
_SURROGATE_REFERENCE_PATTERN = (
    r"&#(?:[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}|0*(?:5529[6-9]|553[0-9]{2}|55[4-9][0-9]{2}"
    r"|56[0-9]{3}|57[0-2][0-9]{2}|573[0-3][0-9]|5734[0-3]));")
_SURROGATE_REFERENCE = re.compile(_SURROGATE_REFERENCE_PATTERN)
_SURROGATE_REFERENCE_BYTES = re.compile(_SURROGATE_REFERENCE_PATTERN.encode("ascii"))


def parse_xml(data: bytes, content_type: str | None = None) -> Any:
    """The root element of an XML document (feed, OPML), parsed with entities, DTDs and
    network access off. Raises :class:`FeedError`."""
    parser = etree.XMLParser(**_XML_PARSER_OPTIONS)
    source = _xml_input(data, content_type)
    if isinstance(source, bytes):
        if b"&#" in source:
            source = _SURROGATE_REFERENCE_BYTES.sub(b"&#xFFFD;", source)
    elif "&#" in source:
        source = _SURROGATE_REFERENCE.sub("&#xFFFD;", source)
    try:
        root = etree.fromstring(source, parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"XML error: {exc.msg}") from None
    except ValueError as exc:  # lxml refusing its input outright (a cut-off declaration)
        raise FeedError(str(exc)) from None
    if root is None:
        raise FeedError("no XML element found")
    return root


def _parse_xml_feed(data: bytes, url: str, content_type: str | None) -> ParsedFeed:
    try:
        root = parse_xml(data, content_type)
    except FeedError as exc:
        raise FeedError(f"not a feed: {exc}") from None
    name = _local(root).lower()  # not etree.QName: it refuses names a recovering parse made
    if name == "feed":
        return _parse_atom(root, url)
    if name in ("rss", "rdf"):
        return _parse_rss(root, url)
    if name == "html":
        raise FeedError("not a feed: got an HTML page")
    raise FeedError(f"not a feed: root element <{name}>")


def _local(element: Any) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _children(element: Any, name: str) -> Iterable[Any]:
    return (child for child in element if _local(child) == name)


def _child(element: Any, name: str, namespace: str | None = None) -> Any:
    for child in element:
        if _local(child) == name and (namespace is None or child.tag.startswith(f"{{{namespace}}}")):
            return child
    return None


def _text(element: Any) -> str:
    if element is None:
        return ""
    if len(element) == 0:  # no child elements: the usual CDATA description
        return element.text or ""
    return "".join(element.itertext())


def _fields(element: Any) -> dict[str, Any]:
    """An element's children by local name, the first of each (one pass, not one per field)."""
    fields: dict[str, Any] = {}
    for child in element:
        fields.setdefault(_local(child), child)
    return fields


def _parse_rss(root: Any, url: str) -> ParsedFeed:
    channel = _child(root, "channel")
    # RSS 2.0 / 0.9x nest items in <channel>; RSS 1.0 (RDF) puts them beside it.
    items = list(_children(channel, "item")) if channel is not None else []
    if not items:
        items = list(_children(root, "item"))
    title = _text(_child(channel, "title")).strip() if channel is not None else ""
    return ParsedFeed(url=url, title=title, kind="rss", entries=_entries(items, _rss_entry),
                      ttl=_rss_ttl(channel))


def _rss_ttl(channel: Any) -> float | None:
    """RSS 2.0 ``<ttl>``: minutes the feed may be cached (a number, or nothing)."""
    text = _text(_child(channel, "ttl")).strip() if channel is not None else ""
    return float(text) * 60 if text.isdigit() else None


def _entries(items: Iterable[Any], read: Callable[[Any], Entry]) -> tuple[Entry, ...]:
    """Each item read, but for one a recovering parse left unreadable: it must not cost the
    feed its good items."""
    entries = []
    for item in items:
        try:
            entries.append(read(item))
        except (UnicodeDecodeError, ValueError):
            continue
    return tuple(entries)


def _rss_entry(item: Any) -> Entry:
    fields = _fields(item)
    body = _text(fields.get("encoded"))  # content:encoded, the full text where there is one
    if not body.strip():
        body = _text(fields.get("description"))
    date_text = _text(fields.get("pubDate")) or _text(fields.get("date")) or None
    guid = _text(fields.get("guid")).strip() or item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    return Entry(
        title=_text(fields.get("title")).strip(),
        link=_text(fields.get("link")).strip() or None,
        guid=guid or None,
        body=body,
        date_text=date_text,
        published=parse_date(date_text),
        image=_rss_image(item),
        author=author_name(_text(fields.get("creator")) or _text(fields.get("author"))),
    )


_MEDIA_TAGS = (f"{{{NS_MEDIA}}}content", f"{{{NS_MEDIA}}}thumbnail")


def _rss_image(item: Any) -> str | None:
    """An image enclosure or Media RSS image: the lead image of an item whose body has none."""
    for child in item:
        tag = child.tag
        if not isinstance(tag, str) or not tag.endswith(("enclosure", "content", "thumbnail")):
            continue  # most children; decided without attribute lookups
        url = child.get("url")
        if not url:
            continue
        kind = child.get("type") or ""
        if _local(child) == "enclosure" and kind.startswith(_IMAGE_TYPES):
            return url
        if tag in _MEDIA_TAGS and (tag.endswith("thumbnail") or child.get("medium") == "image"
                                   or kind.startswith(_IMAGE_TYPES)):
            return url
    return None


def _atom_text(element: Any) -> str:
    """The HTML of an Atom text construct (1.0 ``type``, 0.3 ``mode``)."""
    if element is None:
        return ""
    kind = (element.get("type") or "text").lower()
    mode = (element.get("mode") or "").lower()
    if kind in ("xhtml", "application/xhtml+xml") or mode == "xml":
        div = _child(element, "div", NS_XHTML)
        holder = copy.deepcopy(div if div is not None else element)
        for node in holder.iter():
            if isinstance(node.tag, str):  # serialise as HTML: <br>, not <br></br>
                with contextlib.suppress(ValueError):  # a name a recovering parse made up
                    node.tag = _local(node)
        etree.cleanup_namespaces(holder)
        parts = [html.escape(holder.text or "", quote=False)]
        parts.extend(etree.tostring(child, encoding="unicode", method="html", with_tail=True)
                     for child in holder)
        return "".join(parts)
    if mode == "base64":
        try:
            return base64.b64decode(_text(element)).decode("utf-8", errors="replace")
        except ValueError:
            return ""
    if kind in ("html", "text/html") or mode == "escaped":
        return _text(element)
    return html.escape(_text(element), quote=False)


def _atom_plain(element: Any) -> str:
    """An Atom text construct as plain text (titles)."""
    if element is None:
        return ""
    kind = (element.get("type") or "text").lower()
    text = _text(element)
    if kind in ("html", "text/html") or (element.get("mode") or "") == "escaped":
        text = html.unescape(re.sub(r"<[^>]*>", "", text))
    return " ".join(text.split())


def _atom_link(entry: Any) -> str | None:
    fallback = None
    for link in _children(entry, "link"):
        href = link.get("href")
        if not href:
            continue
        if (link.get("rel") or "alternate") == "alternate":
            return href.strip()
        fallback = fallback or href.strip()
    return fallback


def _parse_atom(root: Any, url: str) -> ParsedFeed:
    return ParsedFeed(url=url, title=_atom_plain(_child(root, "title")), kind="atom",
                      entries=_entries(_children(root, "entry"), _atom_entry))


def _atom_entry(entry: Any) -> Entry:
    content = _child(entry, "content")
    body = _atom_text(content) if content is not None and content.get("src") is None else ""
    if not body.strip():
        body = _atom_text(_child(entry, "summary"))
    date_text = None
    for name in ("published", "issued", "updated", "modified", "created"):
        date_text = _text(_child(entry, name)).strip() or None
        if date_text:
            break
    image = None
    for link in _children(entry, "link"):
        if link.get("rel") == "enclosure" and (link.get("type") or "").startswith(_IMAGE_TYPES):
            image = link.get("href")
            break
    return Entry(
        title=_atom_plain(_child(entry, "title")),
        link=_atom_link(entry),
        guid=_text(_child(entry, "id")).strip() or None,
        body=body,
        date_text=date_text,
        published=parse_date(date_text),
        image=image or _rss_image(entry),
        author=_atom_author(entry),
    )


def _atom_author(entry: Any) -> str:
    author = _child(entry, "author")
    return author_name(_text(_child(author, "name"))) if author is not None else ""


# ---------------------------------------------------------------------------------------- JSON

def _parse_json_feed(data: bytes, url: str) -> ParsedFeed:
    try:
        doc = json.loads(decode_document(data))
    except ValueError as exc:
        raise FeedError(f"not a feed: invalid JSON: {exc}") from None
    except RecursionError:
        raise FeedError("not a feed: JSON nested too deeply") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise FeedError("not a feed: JSON without a JSON Feed version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError("not a feed: JSON Feed without an items array")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        body = _json_str(item.get("content_html"))
        if not body:
            body = html.escape(_json_str(item.get("content_text")), quote=False)
        if not body:
            body = _json_str(item.get("summary"))
        date_text = _json_str(item.get("date_published")) or _json_str(item.get("date_modified")) or None
        link = _json_str(item.get("url")) or _json_str(item.get("external_url")) or None
        entries.append(Entry(
            title=" ".join(_json_str(item.get("title")).split()),
            link=link,
            guid=_json_str(item.get("id")) or None,
            body=body,
            date_text=date_text,
            published=parse_date(date_text),
            image=_json_str(item.get("image")) or _json_str(item.get("banner_image")) or None,
            author=author_name(_json_author(item)),
        ))
    return ParsedFeed(url=url, title=_json_str(doc.get("title")), kind="json", entries=tuple(entries))


def _json_author(item: dict[str, Any]) -> str:
    """JSON Feed 1.1 ``authors`` (the first), else 1.0's ``author``."""
    authors = item.get("authors")
    author = authors[0] if isinstance(authors, list) and authors else item.get("author")
    return _json_str(author.get("name")) if isinstance(author, dict) else ""


# RSS <author> is an e-mail address, often with the name after it: "i@example.org (DIYgod)".
_EMAIL_AND_NAME = re.compile(r"\s*[^\s@()]+@[^\s@()]+\s*(?:\((.*)\))?\s*")
_MAX_AUTHOR = 200


def author_name(text: str) -> str:
    """An item's author as a reader may see it: the name, never an e-mail address."""
    text = " ".join(text.split())
    found = _EMAIL_AND_NAME.fullmatch(text)
    if found is not None:
        text = " ".join((found.group(1) or "").split())
    return text[:_MAX_AUTHOR]


def _json_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # JSON Feed 1.0 producers sometimes send numeric ids
    return ""
