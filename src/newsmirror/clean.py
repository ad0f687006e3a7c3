"""Making a feed's HTML safe to publish, and fixing its images, while keeping benign bytes.

Two tools with two jobs:

* the *decision* whether a body is safe is made on a real HTML5 parse (turbohtml's C parser,
  scripting on, as in a browser) of the body in its place in a page: wrapped as it is
  published and followed by more markup, so that a body cut off inside a tag, a comment or a
  ``<style>``, or one that leaves elements open or closes the page's, is seen as the browser
  will see it;
* the *edits* (``referrerpolicy`` on images, lazy ``data-src`` promoted to ``src``, relative
  URLs resolved, the image proxy; and the repairs: a cut-off tail dropped, open elements
  closed, frames that are not players made links, styling that reaches outside the body or
  private URLs removed) are splices into the original text at the positions of the tags, so
  every byte that needs no change stays as served (FORMAT.md §1). For a body kept as served,
  the same parse says where its images and links are (the positions of their tags), so the decision
  and the edits take one pass; other bodies are read by the small tokenizer of tags.py.
  Whatever an edit does, the parse checks the result again where it can differ.

A body that runs script, or that the repairs do not make safe, goes through the nh3 (ammonia)
sanitiser, whose output is checked again; only then is markup re-serialised. What even that
does not make safe is published as text.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Callable, Iterable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import nh3
import turbohtml
from turbohtml import Document, Element

from .hexo import markdown_inert, markdown_view
from .styles import declarations_allowed, filter_declarations, stylesheet_allowed
from .tags import (SPACE, Attribute, StartTag, attribute_insertion, iter_start_tags, raw_text_end,
                   start_tag_at)
from .types import CleanBody
from .urls import browser_host, ip_literal, is_private_host, is_private_url

REFERRER_POLICY = ' referrerpolicy="no-referrer"'

# Elements that run script, load active content, navigate or submit, or switch the parser into
# another namespace (SVG / MathML are the classic source of mutation XSS).
_FORBIDDEN_ELEMENTS = frozenset("""
    script noscript frame frameset object embed applet base meta link form input button select
    textarea option optgroup template portal param xmp plaintext noembed noframes listing svg
    math isindex keygen slot image
""".split())
_URL_ATTRIBUTES = frozenset("""
    href src action formaction poster background cite longdesc lowsrc dynsrc data codebase
    xlink:href manifest ping usemap profile classid archive icon
""".split())
_SRCSET_ATTRIBUTES = frozenset(("srcset", "imagesrcset"))
_SAFE_SCHEMES = frozenset(("http", "https", "mailto", "tel", "ftp", "magnet", "sms"))
_IMAGE_ELEMENTS = frozenset(("img", "source", "picture"))
# Attributes whose URL the browser loads without a click.
_LOADING_ATTRIBUTES = frozenset("src poster background data lowsrc dynsrc codebase".split())
_URL_STRIP = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
_CSS_DANGER = re.compile(r"expression\(|javascript:|vbscript:|-moz-binding|behavior:|@import|url\(\s*['\"]?\s*data:(?!image/)")
_CSS_NOISE = re.compile(r"/\*.*?\*/|\\|\s", re.S)
_LAZY_SOURCES = ("data-src", "data-original", "data-lazy-src", "data-actualsrc")
# Where a lazily loaded image's real picture is, besides _LAZY_SOURCES.
_LAZY_SETS = ("srcset", "data-srcset", "data-lazy-srcset")
_LAZY_ATTRIBUTES = frozenset((*_LAZY_SOURCES, *_LAZY_SETS))
# A placeholder the page's script swaps for the real picture: any inline data: image (a blank
# GIF, an empty SVG), or a stock picture named for what it is.
_PLACEHOLDER_NAME = re.compile(
    r"(?:^|[/_.-])(?:blank|spacer|pixel|transparent|placeholder|loading|lazy(?:load)?|gr[ae]y|empty|1x1)"
    r"(?:[_.-][^/?#]*)?\.(?:gif|png|svg|jpe?g|webp)(?:$|[?#])", re.I)


# ------------------------------------------------------------------------------ the policy

# Video and audio players a page may frame: a player from another origin runs there, not in our
# page. Matched on the host and its subdomains; https only.
DEFAULT_IFRAME_HOSTS = (
    "youtube.com", "youtube-nocookie.com", "player.vimeo.com", "dailymotion.com",
    "player.twitch.tv", "w.soundcloud.com", "open.spotify.com", "embed.music.apple.com",
    "bandcamp.com", "www.tiktok.com", "embed.ted.com",
    "player.bilibili.com", "v.qq.com", "player.youku.com", "open.iqiyi.com", "www.ixigua.com",
    "music.163.com", "www.acfun.cn", "tv.sohu.com", "player.video.iqiyi.com",
)


@dataclass(frozen=True, slots=True)
class CleanPolicy:
    """What the operator allows beyond the built-in rules (``[clean]``)."""

    iframe_hosts: tuple[str, ...] = DEFAULT_IFRAME_HOSTS

    def frame_allowed(self, url: str) -> bool:
        """An https player on an allowed host; never a private host."""
        if not url.strip().lower().startswith("https:"):
            return False
        host = browser_host(url)
        if host is None or ip_literal(host) is not None or is_private_host(host):
            return False
        return any(host == allowed or host.endswith("." + allowed) for allowed in self.iframe_hosts)


DEFAULT_POLICY = CleanPolicy()


# ------------------------------------------------------------------------------ the decision

def _url_is_safe(value: str, element: str, attribute: str) -> bool:
    """Whether a URL attribute's scheme can run nothing (frames have their own rule)."""
    if value.startswith(("https://", "http://")):
        return True  # the usual case, and what the full check below concludes for it
    url = _URL_STRIP.sub("", value).lower()
    match = _SCHEME.match(url)
    if match is None:
        return not url.startswith(("&", "%"))  # relative, or an entity-trick we refuse outright
    scheme = match.group(1)
    if scheme == "data":
        return element in _IMAGE_ELEMENTS and attribute in ("src", "srcset") and url.startswith("data:image/")
    return scheme in _SAFE_SCHEMES


def loads_safely(url: str) -> bool:
    """A URL that the browser loads without a click: nothing private, no script."""
    return not is_private_url(url) and _url_is_safe(url, "img", "src")


def css_is_safe(css: str) -> bool:
    """No CSS that runs script in any browser (old IE expressions, bindings, script URLs)."""
    return not _CSS_DANGER.search(_CSS_NOISE.sub("", css).lower())


def is_placeholder(url: str) -> bool:
    """Whether an image URL is a lazy-loading placeholder rather than a picture."""
    return url[:5].lower() == "data:" or _PLACEHOLDER_NAME.search(url) is not None


def _largest_candidate(srcset: str) -> str | None:
    """The widest (or densest) image of a srcset: what a reader's large screen would load."""
    best: tuple[float, str] | None = None
    for candidate in srcset.split(","):
        parts = candidate.split()
        if not parts:
            continue
        size = 1.0
        if len(parts) > 1 and parts[1][-1:] in ("w", "x"):
            try:
                size = float(parts[1][:-1]) * (1 if parts[1][-1] == "w" else 1000)  # 2x ~ 2000w
            except ValueError:
                continue
        if best is None or size > best[0]:
            best = (size, parts[0])
    return best[1] if best else None


def _srcset_urls(value: str) -> Iterator[str]:
    for candidate in value.split(","):
        candidate = candidate.strip()
        if candidate:
            yield candidate.split()[0]


def unsafe_reason(markup: str, policy: CleanPolicy = DEFAULT_POLICY) -> str | None:
    """Why this HTML is not safe to publish inside a page, or ``None``."""
    return _inspect(markup, policy).problem


# What a problem takes: a structural one (markup cut off at the end, elements left open, end
# tags that close the page's elements) and styling, frames or private URLs can be repaired in
# place; anything that runs script goes to the sanitiser.
STRUCTURE, REPAIR, UNSAFE = "structure", "repair", "unsafe"


@dataclass(slots=True)
class _Inspection:
    """What the HTML5 parse saw, besides the verdict."""

    problem: str | None = None
    kind: str | None = None
    structural: bool = False  # cut off, left open or closing the page's elements (and maybe worse)
    names: set[str] = field(default_factory=set)   # the body's classes (.x) and ids (#x)
    # What fix_images will find to do (the tree's elements are the tokenizer's start tags):
    images: bool = False          # the body has images (and so maybe a lead image)
    images_to_fix: bool = False   # an image lacks referrerpolicy or an absolute src
    http_images: bool = False     # an image's src is http:// (an image proxy would take it)
    links_to_fix: bool = False    # a link's href is not absolute
    # The body's <img> and <a> elements (tree order), which say where their tags are.
    elements: list[Element] = field(default_factory=list)

    def fail(self, kind: str, problem: str) -> _Inspection:
        if self.kind is None or _SEVERITY[kind] > _SEVERITY[self.kind]:
            self.kind, self.problem = kind, problem
        return self


_SEVERITY = {STRUCTURE: 0, REPAIR: 1, UNSAFE: 2}

# The body is parsed where it will be published: in a <div> nested in the containers a theme may
# put it in (each an element that a stray end tag in the body could close), followed by the
# <div>'s end tag and a marker element. The marker's id is random, so a body cannot forge it.
# Only if the tokenizer is in the data state at the body's end is "</div>" an end tag; only if
# the body closed what it opened and closed nothing else does the marker land right after the
# <div>, in the innermost container, with no formatting element reconstructed around it.
_MARK = f"nm{secrets.token_hex(8)}"
_CONTAINERS = ("article", "main", "section", "aside", "nav", "header", "footer", "blockquote",
               "figure", "figcaption", "details", "summary", "fieldset", "center", "address",
               "dialog", "dir", "hgroup", "search", "h2", "menu", "ol", "ul", "dl")
_BODY_OPEN = f'<div id="{_MARK}c">'
_IN_PAGE = ("<!DOCTYPE html><html><head></head><body>" + "".join(f"<{t}>" for t in _CONTAINERS)
            + _BODY_OPEN)
_BODY_CLOSE = f'</div><i id="{_MARK}e"></i>'


def _parse_in_page(markup: str, after: str = _BODY_CLOSE) -> Document:
    """The body parsed in its place in a page, as a browser does (script on), with where each
    element's start tag is in the text."""
    return turbohtml.parse(_IN_PAGE + markup + after, scripting=True)


def _context_body(document: Document) -> Element | None:
    """The body's wrapper <div> if the body left the page around it as it found it."""
    root = document.root
    if root is None or root.attrs:
        return None  # <html> tags in the body gave the page's <html> attributes
    node = root.children[-1] if root.children else None
    if not isinstance(node, Element) or node.tag != "body" or node.attrs:
        return None  # ... or its <body>
    for container in _CONTAINERS:
        children = node.children
        if len(children) != 1:
            return None  # something escaped into a container, or the chain was broken
        node = children[0]
        if not isinstance(node, Element) or node.tag != container or node.attrs:
            return None
    children = node.children
    if len(children) != 2:
        return None
    wrapper, marker = children
    if (not isinstance(wrapper, Element) or wrapper.tag != "div" or len(wrapper.attrs) != 1
            or wrapper.attrs.get("id") != _MARK + "c"
            or not isinstance(marker, Element) or marker.tag != "i" or marker.children
            or len(marker.attrs) != 1 or marker.attrs.get("id") != _MARK + "e"):
        return None
    return wrapper


def _located_tags(elements: list[Element], markup: str, links: bool) -> Iterator[StartTag]:
    """The start tags of the parse's <img> and <a> elements in ``markup``, in the text's order
    (the tree's differs where a table's content moved); without the links (``links=False``)
    and those whose href is absolute, which no fix changes. Elements the parser made without a
    tag of their own (a reopened <a>) have none, nor has a tag the body does not finish."""
    # The parser gives where each element's tag starts as a line (1-based; CR LF, CR and LF
    # each end one, as HTML5 normalises them) and a column, here counted from the body's start.
    lines = [-len(_IN_PAGE)]
    if "\r" in markup:
        lines += [match.end() for match in _NEWLINE.finditer(markup)]
    else:  # (the usual case, in a tenth of the time)
        lines += accumulate(len(line) + 1 for line in markup.split("\n")[:-1])
    for node in sorted(elements, key=_position):
        if node.tag == "a":
            href = node.attrs.get("href")
            if not links or not href or href.startswith(("https://", "http://")):
                continue
        where = node.position
        if where is None:
            continue
        # (named as the parser names it: an <image> tag makes an <img>)
        tag = start_tag_at(markup, lines[where[0] - 1] + where[1], node.tag, node.attrs)
        if tag is not None:
            yield tag


def _position(node: Element) -> tuple[int, int]:
    return node.position or (0, 0)


_NEWLINE = re.compile("\r\n?|\n")


# What _inspect does with an attribute, by its name (the parser gives names in lower case);
# of the others, only event (on…) and xlink: attributes matter.
_URL, _SRCSET, _STYLE, _CLASS, _ID, _REFUSED = "url", "srcset", "style", "class", "id", "refused"
_ATTRIBUTE_KINDS = {**{name: _URL for name in _URL_ATTRIBUTES},
                    **{name: _SRCSET for name in _SRCSET_ATTRIBUTES},
                    "style": _STYLE, "class": _CLASS, "id": _ID, "srcdoc": _REFUSED}

def _inspect(markup: str, policy: CleanPolicy = DEFAULT_POLICY) -> _Inspection:
    """The verdict on a body, from the HTML5 parse of the body in its place in a page.

    Subtleties are what takes an HTML5 tokenizer beyond plain text, start tags and end tags.
    """
    seen = _Inspection()
    if _MARK in markup:
        return seen.fail(UNSAFE, "forged context marker")
    document = _parse_in_page(markup)
    wrapper = _context_body(document)
    # A "<" at the very end is text here, but would open a tag before whatever came next.
    if wrapper is None or markup.endswith("<"):
        seen.structural = True
        seen.fail(STRUCTURE, "markup left open or closing the page's elements")
        # inspect what there is all the same, the page's <html> and <body> included (a body's
        # tags for them give them its attributes): it decides the remedy
        wrapper = document.root
        if wrapper is None:
            return seen
    styles: list[str] = []
    for node in wrapper.iter_elements(include_self=seen.structural):
        tag = node.tag
        attributes = node.attrs
        if tag in _SPECIAL_TAGS:  # one set lookup for the usual <p>, <span>…
            if tag in _FORBIDDEN_ELEMENTS:
                return seen.fail(UNSAFE, f"<{tag}> element")
            if tag == "img":
                seen.elements.append(node)
                seen.images = True
                src = attributes.get("src")
                if not src or not src.startswith(("https://", "http://")) \
                        or "referrerpolicy" not in attributes or _has_lazy_source(attributes, src):
                    seen.images_to_fix = True
                elif src.startswith("http://"):
                    seen.http_images = True
            elif tag == "a":
                seen.elements.append(node)
                href = attributes.get("href")
                if href and not href.startswith(("https://", "http://")):
                    seen.links_to_fix = True
            elif tag == "style":
                css = node.text
                if not css_is_safe(css):
                    return seen.fail(UNSAFE, "<style> with script")
                styles.append(css)
            elif tag == "iframe":
                if "srcdoc" in attributes:
                    return seen.fail(UNSAFE, "<iframe srcdoc>")
                if not policy.frame_allowed(attributes.get("src") or ""):
                    seen.fail(REPAIR, "a frame that is not an allowed player")
        if not attributes:
            continue
        for name, value in attributes.items():
            if value.__class__ is list:  # the parser splits class, rel… into words
                value = " ".join(value)
            kind = _ATTRIBUTE_KINDS.get(name)
            if kind is None:
                # An event attribute left empty (RSSHub's bare ``onclick``) runs nothing.
                if (name[:2] == "on" and value and value.strip()) or name[:6] == "xlink:":
                    return seen.fail(UNSAFE, f"{name} attribute")
                continue
            value = value or ""
            if kind is _URL:
                if tag != "iframe" and not _url_is_safe(value, tag, name):
                    return seen.fail(UNSAFE, f"{tag} {name}={value[:40]!r}")
                if name in _LOADING_ATTRIBUTES and is_private_url(value):
                    seen.fail(REPAIR, f"{tag} {name} loads a private address")
            elif kind is _SRCSET:
                for url in _srcset_urls(value):
                    if not _url_is_safe(url, tag, "srcset"):
                        return seen.fail(UNSAFE, f"{tag} {name}={value[:40]!r}")
                    if is_private_url(url):
                        seen.fail(REPAIR, f"{tag} {name} loads a private address")
            elif kind is _STYLE:
                if not css_is_safe(value):
                    seen.fail(REPAIR, "style attribute with script")
                elif not declarations_allowed(value, loads_safely):
                    seen.fail(REPAIR, "style that reaches outside the body")
            elif kind is _CLASS:
                seen.names.update("." + word for word in value.split())
            elif kind is _ID:
                seen.names.add("#" + value)
            else:
                return seen.fail(UNSAFE, f"{name} attribute")
    if styles:
        names = frozenset(seen.names)
        if not all(stylesheet_allowed(css, names, loads_safely) for css in styles):
            seen.fail(REPAIR, "<style> rules that reach outside the body")
    return seen


def _has_lazy_source(attributes: Mapping[str, object], src: str) -> bool:
    """A placeholder ``src`` that a lazy-loading attribute can replace (the fix will)."""
    return any(name in attributes for name in _LAZY_ATTRIBUTES) and is_placeholder(src)


# ------------------------------------------------------------------------------ the fallback

_SANITIZER_TAGS = frozenset("""
    a abbr acronym address area article aside audio b bdi bdo big blockquote br caption center
    cite code col colgroup data dd del details dfn div dl dt em figcaption figure font footer
    h1 h2 h3 h4 h5 h6 header hgroup hr i iframe img ins kbd li main map mark nav ol p picture pre
    q rp rt ruby s samp section small source span strike strong sub summary sup table tbody td
    tfoot th thead time tr track tt u ul var video wbr
""".split())
_GENERIC_ATTRIBUTES = {"class", "id", "style", "title", "lang", "dir", "align", "width", "height"}
_SANITIZER_ATTRIBUTES = {
    "*": _GENERIC_ATTRIBUTES,
    "a": {"href", "target", "name", "hreflang"},
    "img": {"src", "alt", "srcset", "sizes", "loading", "referrerpolicy", "border"},
    "source": {"src", "srcset", "type", "media", "sizes"},
    "video": {"src", "poster", "controls", "preload", "loop", "muted", "playsinline"},
    "audio": {"src", "controls", "preload", "loop"},
    "track": {"src", "kind", "srclang", "label"},
    "iframe": {"src", "allowfullscreen", "frameborder", "scrolling", "allow"},
    "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"},
    "col": {"span"}, "colgroup": {"span"}, "ol": {"start", "type", "reversed"},
    "li": {"value"}, "time": {"datetime"}, "data": {"value"},
    "blockquote": {"cite"}, "q": {"cite"}, "del": {"cite", "datetime"}, "ins": {"cite", "datetime"},
    "font": {"color", "face", "size"}, "details": {"open"},
}


def sanitize(markup: str, policy: CleanPolicy = DEFAULT_POLICY) -> str:
    """Remove everything that could run script, keeping ordinary article markup."""
    def keep(element: str, attribute: str, value: str) -> str | None:
        if attribute == "style":
            return (filter_declarations(value, loads_safely) or None) if css_is_safe(value) else None
        if element == "iframe" and attribute == "src":
            return value if policy.frame_allowed(value) else None
        if attribute in ("src", "href", "poster", "cite") and not _url_is_safe(value, element, attribute):
            return None
        if attribute in ("src", "poster") and is_private_url(value):
            return None
        if attribute == "srcset" and not all(_url_is_safe(u, element, "srcset") and not is_private_url(u)
                                             for u in _srcset_urls(value)):
            return None
        return value

    return nh3.clean(
        markup,
        tags=set(_SANITIZER_TAGS),
        attributes={k: set(v) for k, v in _SANITIZER_ATTRIBUTES.items()},
        generic_attribute_prefixes={"data-"},
        url_schemes=set(_SAFE_SCHEMES),
        attribute_filter=keep,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


# ------------------------------------------------------------------------------ the edits

def _absolute(url: str, base: str | None) -> str:
    if base is None or url.startswith(("https://", "http://")):
        return url
    stripped = url.strip()
    # The usual relative URL, a path from the root with no dot segments: the base's origin
    # and the path, as urljoin makes it.
    if stripped[:1] == "/" and stripped[1:2] not in ("/", "\\") and "/." not in stripped \
            and "\\" not in stripped:
        origin = _origin(base)
        if origin is not None:
            return origin + stripped
    if _SCHEME.match(stripped.lower()):
        return url
    try:
        return urljoin(base, stripped)
    except ValueError:
        return url


_ORIGIN = re.compile(r"https?://[^/?#\\\s]+")


def _origin(base: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) base URL (lower-case scheme, as urljoin keeps it)."""
    match = _ORIGIN.match(base)
    return match.group() if match is not None else None


def _is_http(url: str) -> bool:
    return url.startswith(("https://", "http://")) or urlsplit(url).scheme in ("http", "https")


_TAGS_WE_EDIT = frozenset(("img", "a"))
_IMAGES = frozenset(("img",))
# Every tag _inspect looks at by name.
_SPECIAL_TAGS = _FORBIDDEN_ELEMENTS | {"style", "iframe", "img", "a"}


def fix_images(markup: str, base_url: str | None, image_proxy: str = "", *,
               images: bool = True, links: bool = True,
               tags: Iterable[StartTag] | None = None) -> tuple[str, str | None]:
    """Splice the image and link fixes into the text; return it with the lead image. Told that
    no image needs a fix (``images=False``), it reads images only up to the lead image; told
    that no link does (``links=False``), it skips links. ``tags``: the text's <img> and <a>
    start tags (no <a> when ``links`` is false), if the parse found them already."""
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), non-overlapping
    lead: str | None = None
    if tags is None:
        tags = iter_start_tags(markup, names=_TAGS_WE_EDIT if links else _IMAGES)
    for tag in tags:
        if tag.name == "a":
            href = tag.get("href")
            if href is not None and href.value:
                _replace_url(edits, href, html.unescape(href.value), base_url, "")
            continue
        if tag.name != "img" or (lead is not None and not images):
            if not links and lead is not None:
                break
            continue
        src = tag.get("src")
        url: str | None = None
        added = ""      # attributes to add after the tag's last one
        filled = False  # whether an edit gives a dangling src= its value
        served = html.unescape(src.value).strip() if src is not None and src.value else ""
        real = _lazy_source(tag, base_url) if not served or is_placeholder(served) else None
        if real is not None:
            url = proxied_image(real, image_proxy)
            if src is not None:  # an empty or placeholder src is replaced in place
                edits.append((src.value_start - (1 if src.quoted else 0),
                              src.value_end + (1 if src.quoted else 0), f'"{html.escape(url)}"'))
                filled = src is tag.dangling
            else:
                added += f' src="{html.escape(url)}"'
        elif served:
            url = _replace_url(edits, src, html.unescape(src.value), base_url, image_proxy)
        if tag.get("referrerpolicy") is None:
            added += REFERRER_POLICY
        if added:
            edits.append((tag.insert_at, tag.insert_at, attribute_insertion(markup, tag, added, filled)))
        if lead is None and url is not None and (_is_http(url)):
            lead = url
    if not edits:
        return markup, lead
    return _apply(markup, edits), lead


def _lazy_source(tag: StartTag, base_url: str | None) -> str | None:
    """The real picture of a lazily loaded image, absolute: its data-src (or kin), else the
    largest image of its srcset (or data-srcset); None if it names none we may load."""
    for name in _LAZY_SOURCES + _LAZY_SETS:
        attribute = tag.get(name)
        if attribute is None or not attribute.value or not attribute.value.strip():
            continue
        value = html.unescape(attribute.value).strip()
        if name in _LAZY_SETS:
            value = _largest_candidate(value) or ""
        candidate = _absolute(value, base_url) if value else ""
        if _is_http(candidate) and not is_private_url(candidate) and not is_placeholder(candidate):
            return candidate
    return None


def proxied_image(url: str, image_proxy: str) -> str:
    """An http:// image through the image proxy (FORMAT.md §2); other URLs as they are."""
    if image_proxy and url.startswith("http://"):
        return image_proxy + url
    return url


def _replace_url(edits: list[tuple[int, int, str]], attribute: Attribute, url: str,
                 base_url: str | None, image_proxy: str) -> str:
    """Resolve (and for images, proxy) one URL attribute; record an edit if it changed."""
    new = proxied_image(_absolute(url, base_url), image_proxy)
    if new == url:
        return new
    raw = attribute.value or ""
    # Where only a prefix was added (proxy, base URL) the served escaping is kept after it.
    replacement = html.escape(new[: len(new) - len(url)]) + raw if new.endswith(url) else html.escape(new)
    if not attribute.quoted:
        replacement = f'"{replacement}"'
    edits.append((attribute.value_start, attribute.value_end, replacement))
    return new


def _apply(markup: str, edits: list[tuple[int, int, str]]) -> str:
    edits.sort(key=lambda e: (e[0], e[1]))
    out: list[str] = []
    position = 0
    for start, end, replacement in edits:
        out.append(markup[position:start])
        out.append(replacement)
        position = end
    out.append(markup[position:])
    return "".join(out)


# ------------------------------------------------------------------------------ the repairs

def _close_open_elements(markup: str) -> str:
    """The end tags that close what the body leaves open, innermost first: read off the parse
    as the ancestors of a marker put at the body's end ("" if the marker is not in the body)."""
    document = _parse_in_page(markup, f'<i id="{_MARK}p"></i>')
    marker = document.find("i", id=_MARK + "p")
    closers: list[str] = []
    node = marker.parent if marker is not None else None
    while isinstance(node, Element) and node.attrs.get("id") != _MARK + "c":
        closers.append(f"</{node.tag}>")
        node = node.parent
    return "".join(closers) if isinstance(node, Element) else ""


def _repair_structure(markup: str) -> str:
    """The body with a construct cut off at its end dropped and open elements closed."""
    cut: list[int] = []
    for _ in iter_start_tags(markup, cut):
        pass
    if cut:
        markup = markup[:cut[0]]
    return markup + _close_open_elements(markup)


def _element_end(markup: str, tag: StartTag) -> int:
    """Where a raw-text element (<style>, <iframe>) that starts with ``tag`` ends."""
    close = raw_text_end(markup, tag.name, tag.end)
    end = markup.find(">", close)
    return len(markup) if end < 0 else end + 1


def _frame_link(url: str) -> str:
    if url.startswith(("https://", "http://")) and not is_private_url(url):
        escaped = html.escape(url)
        return f'<p><a href="{escaped}">{escaped}</a></p>'
    return ""


def _repair_content(markup: str, names: frozenset[str], policy: CleanPolicy) -> str:
    """Frames that are not allowed players become links, styling that reaches outside the body
    loses the declarations or rules that do, and what would load a private address goes."""
    edits: list[tuple[int, int, str]] = []
    for tag in iter_start_tags(markup):
        if tag.name == "style":
            end = _element_end(markup, tag)
            css = markup[tag.end:raw_text_end(markup, "style", tag.end)]
            if not (css_is_safe(css) and stylesheet_allowed(css, names, loads_safely)):
                edits.append((tag.start, end, ""))
            continue
        if tag.name == "iframe":
            src = tag.get("src")
            url = html.unescape(src.value or "") if src is not None else ""
            if not policy.frame_allowed(url):
                edits.append((tag.start, _element_end(markup, tag), _frame_link(url.strip())))
            continue
        for attribute in tag.attributes:
            if attribute.value is None:
                continue
            value = html.unescape(attribute.value)
            if attribute.name == "style":
                kept = filter_declarations(value, loads_safely) if css_is_safe(value) else ""
                if kept != value:
                    edits.append(_set_value(attribute, kept))
            elif attribute.name in _LOADING_ATTRIBUTES or attribute.name in _SRCSET_ATTRIBUTES:
                urls = _srcset_urls(value) if attribute.name in _SRCSET_ATTRIBUTES else (value,)
                if any(is_private_url(url) for url in urls):
                    if tag.name == "img" and attribute.name == "src":
                        edits.append((tag.start, tag.end, ""))
                        break
                    edits.append(_set_value(attribute, ""))
    return _apply(markup, _outermost(edits)) if edits else markup


def _set_value(attribute: Attribute, value: str) -> tuple[int, int, str]:
    escaped = html.escape(value)
    if attribute.quoted:
        return attribute.value_start, attribute.value_end, escaped
    return attribute.value_start, attribute.value_end, f'"{escaped}"'


def _outermost(edits: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The edits without those inside another (an attribute of a tag that goes as a whole)."""
    edits.sort(key=lambda e: (e[0], -e[1]))
    kept: list[tuple[int, int, str]] = []
    for edit in edits:
        if kept and edit[0] < kept[-1][1]:
            continue
        kept.append(edit)
    return kept


# ------------------------------------------------------------------------------ together

_NOSCRIPT = re.compile(r"<noscript", re.I)
_ONLY_IMAGES = re.compile(rf"(?:[{SPACE}]*<img\b[^<>]*>)+[{SPACE}]*", re.I)


def unwrap_noscript_images(markup: str) -> str:
    """``<img src="placeholder"><noscript><img src="real"></noscript>``, the lazy-loading
    pattern of many news sites, as the real image alone. Inside our pages script runs, so a
    browser would read the ``<noscript>`` as text; and the element is one the safety check
    refuses. Any other ``<noscript>`` goes, as it does for a reader of the source page with
    script on (its "enable JavaScript" notice would otherwise show as markup text)."""
    if _NOSCRIPT.search(markup) is None:
        return markup
    edits: list[tuple[int, int, str]] = []
    previous: StartTag | None = None
    for tag in iter_start_tags(markup, names=frozenset(("img", "noscript"))):
        if tag.name == "img":
            previous = tag
            continue
        close = raw_text_end(markup, "noscript", tag.end)
        end = markup.find(">", close)
        content = markup[tag.end:close]
        if end < 0:
            continue  # cut off: the structure repairs see to it
        if not _ONLY_IMAGES.fullmatch(content):
            edits.append((tag.start, end + 1, ""))
            continue
        start = tag.start
        # The placeholder just before it goes: the real picture takes its place.
        if previous is not None and not markup[previous.end:tag.start].strip(SPACE):
            src = previous.get("src")
            if src is None or not src.value or is_placeholder(html.unescape(src.value).strip()):
                start = previous.start
        edits.append((start, end + 1, content.strip(SPACE)))
    return _apply(markup, edits) if edits else markup


def clean_body(markup: str, base_url: str | None = None, image_proxy: str = "",
               policy: CleanPolicy = DEFAULT_POLICY) -> CleanBody:
    """The body as it will be published, and its lead image (``None`` if it has no image)."""
    markup = unwrap_noscript_images(markup)
    safe, seen, sanitized = make_safe(markup, policy)
    if seen is None:
        fixed, lead = fix_images(safe, base_url, image_proxy)
    else:  # the parse of the body as served says which fixes it needs
        links = seen.links_to_fix and base_url is not None
        if seen.images or links:
            fixed, lead = fix_images(safe, base_url, image_proxy, links=links,
                                     tags=_located_tags(seen.elements, safe, links),
                                     images=seen.images_to_fix or bool(image_proxy and seen.http_images))
        else:
            fixed, lead = safe, None
    # The edits are escaped public URLs and attributes, spliced into start tags where the HTML5
    # tokenizer sees them (the positions the parse gives, or tags.py; tests/test_tags.py holds
    # both to each other and to a second parser, lexbor), so they change attributes only and
    # the verdict carries over. A body the repairs changed, which may be anything the
    # sanitiser made of it, is parsed again.
    if fixed is not safe and seen is None and unsafe_reason(fixed, policy):
        fixed, seen, sanitized = make_safe(fixed, policy)
        fixed, lead = fix_images(fixed, base_url, image_proxy)
        if unsafe_reason(fixed, policy) is not None:
            fixed, lead, sanitized = html.escape(markup), None, True
    return CleanBody(html=fixed, lead_image=lead, sanitized=sanitized)


def for_hexo(markup: str, policy: CleanPolicy = DEFAULT_POLICY) -> tuple[str, bool]:
    """(a safe body as Hexo will publish it, whether it had to change). Hexo renders posts as
    Markdown: where that changes the body (its blank lines let Markdown in, or it has code
    fences) and the result is not safe, the body is made one HTML block, checked again, and
    sanitised first if the change made it unsafe (a comment it closed)."""
    view = markdown_view(markup)
    if view is markup or (view is not None and unsafe_reason(view, policy) is None):
        return markup, False
    inert = markdown_inert(markup)
    if unsafe_reason(inert, policy) is None:
        return inert, True
    inert = markdown_inert(make_safe(sanitize(markup, policy), policy)[0])
    if unsafe_reason(inert, policy) is None:
        return inert, True
    return html.escape(markup), True


def make_safe(markup: str, policy: CleanPolicy = DEFAULT_POLICY
              ) -> tuple[str, _Inspection | None, bool]:
    """(the body safe to publish, its inspection if it kept its markup as served, whether it
    had to change). Each repair is checked by a new parse; what repairs cannot fix is
    sanitised, and what is still not safe then is published as text."""
    seen = _inspect(markup, policy)
    if seen.problem is None:
        return markup, seen, False
    repaired = markup
    if seen.structural:
        repaired = _repair_structure(repaired)
        seen = _inspect(repaired, policy)
    if seen.kind == REPAIR:
        repaired = _repair_content(repaired, frozenset(seen.names), policy)
        seen = _inspect(repaired, policy)
    if seen.problem is None:
        return repaired, None, True
    # The sanitiser's output is canonical HTML, which our tokenizer reads right: frames become
    # links there too.
    sanitized = sanitize(repaired, policy)
    sanitized = _repair_content(sanitized, frozenset(_inspect(sanitized, policy).names), policy)
    if unsafe_reason(sanitized, policy) is None:
        return sanitized, None, True
    return html.escape(markup), None, True
