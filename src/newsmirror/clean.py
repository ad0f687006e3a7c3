"""Making a feed's HTML safe to publish, and fixing its images, while keeping benign bytes.

Two tools with two jobs:

* the *decision* whether a body can run script is made on a real HTML5 parse (lexbor, through
  selectolax) of the exact text that will be published, so it sees what a browser sees;
* the *edits* a safe body needs (``referrerpolicy`` on images, lazy ``data-src`` promoted to
  ``src``, relative URLs resolved, the image proxy) are splices into the original text at the
  positions of the tags, so every byte that needs no change stays as served (FORMAT.md §1).

A body that is not safe as served goes through the nh3 (ammonia) sanitiser, whose output is
checked again; it is the only case in which markup is re-serialised.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urljoin, urlsplit

import nh3
from selectolax.lexbor import LexborHTMLParser

from .types import CleanBody

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
# What ``<iframe>`` may carry: a video player from another origin runs there, not in our page.
_IFRAME_SCHEMES = frozenset(("http", "https"))
_URL_STRIP = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
_CSS_DANGER = re.compile(r"expression\(|javascript:|vbscript:|-moz-binding|behavior:|@import|url\(\s*['\"]?\s*data:(?!image/)")
_CSS_NOISE = re.compile(r"/\*.*?\*/|\\|\s", re.S)
_LAZY_SOURCES = ("data-src", "data-original", "data-lazy-src", "data-actualsrc")


# ------------------------------------------------------------------------------ the decision

def _url_is_safe(value: str, element: str, attribute: str) -> bool:
    if value.startswith(("https://", "http://")):
        return True  # the usual case, and what the full check below concludes for it
    url = _URL_STRIP.sub("", value).lower()
    match = _SCHEME.match(url)
    if match is None:
        return not url.startswith(("&", "%"))  # relative, or an entity-trick we refuse outright
    scheme = match.group(1)
    if element == "iframe":
        return scheme in _IFRAME_SCHEMES
    if scheme == "data":
        return element in _IMAGE_ELEMENTS and attribute in ("src", "srcset") and url.startswith("data:image/")
    return scheme in _SAFE_SCHEMES


def css_is_safe(css: str) -> bool:
    """No CSS that runs script in any browser (old IE expressions, bindings, script URLs)."""
    return not _CSS_DANGER.search(_CSS_NOISE.sub("", css).lower())


def _srcset_urls(value: str) -> Iterator[str]:
    for candidate in value.split(","):
        candidate = candidate.strip()
        if candidate:
            yield candidate.split()[0]


def unsafe_reason(markup: str) -> str | None:
    """Why this HTML could run script or navigate away when put in a page, or ``None``."""
    return _inspect(markup)[0]


@dataclass(slots=True)
class _Inspection:
    """What the HTML5 parse saw, besides the verdict."""

    subtle: bool = False   # comments, bogus comments, raw-text or RCDATA elements
    edited: int = 0        # <img> and <a> elements: the tags fix_images may edit


def _inspect(markup: str) -> tuple[str | None, _Inspection]:
    """(why the HTML is unsafe or ``None``, what else the parse saw).

    Subtleties are what takes an HTML5 tokenizer beyond plain text, start tags and end tags.
    """
    tree = LexborHTMLParser(markup)
    seen = _Inspection()
    for node in tree.root.traverse(include_text=False):
        tag = node.tag
        if tag is None or tag in _SPECIAL_TAGS:  # one set lookup for the usual <p>, <span>…
            if tag is None or tag == "-comment" or tag in _RAW_TEXT:
                seen.subtle = True
                if tag is None:
                    continue
            elif tag in _TAGS_WE_EDIT:
                seen.edited += 1
            if tag in _FORBIDDEN_ELEMENTS:
                return f"<{tag}> element", seen
            if tag == "style" and not css_is_safe(node.text(deep=True) or ""):
                return "<style> with script", seen
            if tag == "iframe" and "srcdoc" in node.attributes:
                return "<iframe srcdoc>", seen
        attributes = node.attributes
        if not attributes:
            continue
        for name, value in attributes.items():
            name = name.lower()
            value = value or ""
            # An event attribute left empty (RSSHub's bare ``onclick``) runs nothing.
            if name.startswith("on") and value.strip():
                return f"{name} attribute", seen
            if name in _URL_ATTRIBUTES and not _url_is_safe(value, tag, name):
                return f"{tag} {name}={value[:40]!r}", seen
            if name in _SRCSET_ATTRIBUTES and not all(
                _url_is_safe(url, tag, "srcset") for url in _srcset_urls(value)
            ):
                return f"{tag} {name}={value[:40]!r}", seen
            if name == "style" and not css_is_safe(value):
                return "style attribute with script", seen
            if name == "srcdoc" or name.startswith("xlink:"):
                return f"{name} attribute", seen
    return None, seen


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


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "style" and not css_is_safe(value):
        return None
    if attribute in ("src", "href", "poster", "cite") and not _url_is_safe(value, element, attribute):
        return None
    if attribute == "srcset" and not all(_url_is_safe(u, element, "srcset") for u in _srcset_urls(value)):
        return None
    return value


def sanitize(markup: str) -> str:
    """Remove everything that could run script, keeping ordinary article markup."""
    return nh3.clean(
        markup,
        tags=set(_SANITIZER_TAGS),
        attributes={k: set(v) for k, v in _SANITIZER_ATTRIBUTES.items()},
        generic_attribute_prefixes={"data-"},
        url_schemes=set(_SAFE_SCHEMES),
        attribute_filter=_filter_attribute,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


# ------------------------------------------------------------------------------ the edits

@dataclass(slots=True)
class _Attribute:
    name: str              # lower case
    value: str | None      # raw text, entities not decoded; None for a bare attribute
    value_start: int       # where the raw value starts (after an opening quote)
    value_end: int
    quoted: bool


@dataclass(slots=True)
class _StartTag:
    name: str
    start: int
    end: int               # just past '>'
    insert_at: int         # where a new attribute goes (before '/>' or '>')
    attributes: list[_Attribute]

    def get(self, name: str) -> _Attribute | None:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute  # HTML5: the first of duplicate attributes wins
        return None


# HTML5 whitespace is exactly these five; Python's \s would also split on U+3000 and friends.
_SPACE = "\t\n\f\r "
_RAW_TEXT = frozenset(("style", "title", "textarea", "xmp", "script", "noscript", "iframe",
                       "noembed", "noframes"))


_COMMENT_END = re.compile(r"--!?>")
_BARE_TAG = re.compile(rf"</?([a-zA-Z][^{_SPACE}/>]*)>")


def iter_start_tags(markup: str) -> Iterator[_StartTag]:
    """Start tags as an HTML5 tokenizer sees them, skipping comments and raw-text content."""
    i, n = 0, len(markup)
    while True:
        i = markup.find("<", i)
        if i < 0 or i + 1 >= n:
            return
        nxt = markup[i + 1]
        if nxt == "!" and markup.startswith("<!--", i):
            j = i + 4
            if markup.startswith(">", j) or markup.startswith("->", j):  # <!--> and <!--->
                i = markup.find(">", j) + 1
                continue
            end = _COMMENT_END.search(markup, j)
            i = n if end is None else end.end()
            continue
        if nxt in "!?" or (nxt == "/" and not markup[i + 2:i + 3].isalpha()):
            j = markup.find(">", i + 2)  # bogus comment
            i = n if j < 0 else j + 1
            continue
        if not nxt.isascii() or not (nxt.isalpha() or nxt == "/"):
            i += 1
            continue
        simple = _BARE_TAG.match(markup, i)  # <p>, </p>, <br>: most tags, read in one step
        if simple is not None:
            i = simple.end()
            if nxt != "/":
                name = simple.group(1).lower()
                yield _StartTag(name, simple.start(), i, i - 1, [])
                if name in _RAW_TEXT:
                    i = _raw_text_end(markup, name, i)
            continue
        if nxt == "/":
            # an end tag, which may carry (ignored) attributes with quoted ">" in them
            tag = _scan_start_tag(markup, i + 1)
            if tag is None:
                return
            i = tag.end
            continue
        tag = _scan_start_tag(markup, i)
        if tag is None:
            return
        yield tag
        i = tag.end
        if tag.name in _RAW_TEXT:
            i = _raw_text_end(markup, tag.name, i)


def _raw_text_end(markup: str, name: str, start: int) -> int:
    """Where the content of a raw-text element (style, title, …) ends: at its end tag."""
    close = re.compile(rf"</{re.escape(name)}[{_SPACE}/>]", re.I).search(markup, start)
    return len(markup) if close is None else close.start()


_TAG_NAME = re.compile(rf"[^{_SPACE}/>]*+")
# Separators, then the tag's end or one attribute as the HTML5 tokenizer reads it; possessive,
# so hostile input cannot make it backtrack.
_NEXT_ATTRIBUTE = re.compile(
    rf"""[{_SPACE}/]*+(?:(>)|([^{_SPACE}/>][^{_SPACE}/>=]*+)"""
    rf"""(?:[{_SPACE}]*+=[{_SPACE}]*+("[^"]*+"|'[^']*+'|(?!["'])[^{_SPACE}>]*+))?+)""")
_DANGLING_EQUALS = re.compile(rf"[{_SPACE}]*+=")


def _scan_start_tag(s: str, start: int) -> _StartTag | None:
    i = _TAG_NAME.match(s, start + 1).end()
    name = s[start + 1:i].lower()
    attributes: list[_Attribute] = []
    match_next = _NEXT_ATTRIBUTE.match
    while True:
        match = match_next(s, i)
        if match is None:
            return None  # the input ends inside the tag
        if match.group(1) is not None:  # ">": "/>" too, and a new attribute goes before its "/"
            end = match.end()
            insert_at = end - 2 if end - 2 >= i and s[end - 2] == "/" else end - 1
            return _StartTag(name, start, end, insert_at, attributes)
        value = match.group(3)
        if value is None:
            if _DANGLING_EQUALS.match(s, match.end()):
                return None  # a quote that never closes: the rest of the input is its value
            attributes.append(_Attribute(match.group(2).lower(), None, match.end(), match.end(), False))
        elif value[:1] in ("'", '"'):
            attributes.append(_Attribute(match.group(2).lower(), value[1:-1], match.start(3) + 1,
                                         match.end(3) - 1, True))
        else:
            attributes.append(_Attribute(match.group(2).lower(), value, match.start(3),
                                         match.end(3), False))
        i = match.end()


def _absolute(url: str, base: str | None) -> str:
    if base is None or _SCHEME.match(url.strip().lower()):
        return url
    try:
        return urljoin(base, url.strip())
    except ValueError:
        return url


def _is_http(url: str) -> bool:
    return url.startswith(("https://", "http://")) or urlsplit(url).scheme in ("http", "https")


_EDITED_TAG_START = re.compile(rf"<(?:img|a)(?=[{_SPACE}/>])", re.I)
_TAGS_WE_EDIT = frozenset(("img", "a"))
# Every tag _inspect looks at by name.
_SPECIAL_TAGS = _RAW_TEXT | _TAGS_WE_EDIT | _FORBIDDEN_ELEMENTS | {"-comment"}


def _edited_tags(markup: str, seen: _Inspection | None) -> Iterator[_StartTag]:
    """The <img> and <a> start tags, found the quick way when that is provably right.

    In a body without comments or raw text, every "<img" or "<a" followed by a separator is a
    tag unless it sits in a quoted attribute value; so when their count equals the parser's
    count of img and a elements, each occurrence is one of them. Otherwise: tokenize it all.
    """
    if seen is not None and not seen.subtle:
        starts = [m.start() for m in _EDITED_TAG_START.finditer(markup)]
        if len(starts) == seen.edited:
            for start in starts:
                tag = _scan_start_tag(markup, start)
                if tag is None:
                    return  # a tag cut off by the end of the input: the tokenizer stops there too
                yield tag
            return
    for tag in iter_start_tags(markup):
        if tag.name in _TAGS_WE_EDIT:
            yield tag


def fix_images(markup: str, base_url: str | None, image_proxy: str = "",
               seen: _Inspection | None = None) -> tuple[str, str | None]:
    """Splice the image and link fixes into the text; return it with the lead image.

    ``seen``, the inspection of this very text, lets the tags be found without tokenizing
    everything.
    """
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), non-overlapping
    lead: str | None = None
    for tag in _edited_tags(markup, seen):
        if tag.name == "a":
            href = tag.get("href")
            if href is not None and href.value:
                _replace_url(edits, href, html.unescape(href.value), base_url, "")
            continue
        if tag.name != "img":
            continue
        src = tag.get("src")
        url: str | None = None
        if src is not None and src.value and src.value.strip():
            url = _replace_url(edits, src, html.unescape(src.value), base_url, image_proxy)
        else:
            for lazy_name in _LAZY_SOURCES:
                lazy = tag.get(lazy_name)
                if lazy is not None and lazy.value and lazy.value.strip():
                    candidate = _absolute(html.unescape(lazy.value).strip(), base_url)
                    if _is_http(candidate):
                        url = proxied_image(candidate, image_proxy)
                        new = f' src="{html.escape(url)}"'
                        if src is not None:  # an empty src="" is replaced in place
                            edits.append((src.value_start - (1 if src.quoted else 0),
                                          src.value_end + (1 if src.quoted else 0),
                                          f'"{html.escape(url)}"'))
                        else:
                            edits.append((tag.insert_at, tag.insert_at, new))
                        break
        if tag.get("referrerpolicy") is None:
            edits.append((tag.insert_at, tag.insert_at, _referrer_policy_insert(markup, tag)))
        if lead is None and url is not None and (_is_http(url)):
            lead = url
    if not edits:
        return markup, lead
    return _apply(markup, edits), lead


def _referrer_policy_insert(markup: str, tag: _StartTag) -> str:
    """`` referrerpolicy="no-referrer"`` as the last attribute, spaced like its neighbours."""
    if markup[tag.insert_at - 1] in _SPACE:
        return REFERRER_POLICY[1:] + (" " if markup.startswith("/>", tag.insert_at) else "")
    return REFERRER_POLICY


def proxied_image(url: str, image_proxy: str) -> str:
    """An http:// image through the image proxy (FORMAT.md §2); other URLs as they are."""
    if image_proxy and url.startswith("http://"):
        return image_proxy + url
    return url


def _replace_url(edits: list[tuple[int, int, str]], attribute: _Attribute, url: str,
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


# ------------------------------------------------------------------------------ together

def clean_body(markup: str, base_url: str | None = None, image_proxy: str = "") -> CleanBody:
    """The body as it will be published, and its lead image (``None`` if it has no image)."""
    sanitized = False
    reason, seen = _inspect(markup)
    if reason is not None:
        markup = sanitize(markup)
        sanitized = True
    fixed, lead = fix_images(markup, base_url, image_proxy, None if sanitized else seen)
    # The edits are escaped URLs and one attribute, spliced where our tokenizer saw a tag. On a
    # body made only of text, tags and end tags it reads tags exactly as the HTML5 tokenizer
    # does, so the safe verdict carries over; anywhere subtler, the result is parsed again.
    recheck = fixed is not markup and (sanitized or seen.subtle)
    if recheck and unsafe_reason(fixed) is not None:
        # The edits only add http(s) URLs and one attribute; if the result still is not safe the
        # text fooled our tokenizer, so publish the sanitiser's canonical form instead.
        fixed, lead = fix_images(sanitize(fixed), base_url, image_proxy)
        sanitized = True
        if unsafe_reason(fixed) is not None:
            fixed, lead = html.escape(markup), None
    return CleanBody(html=fixed, lead_image=lead, sanitized=sanitized)
