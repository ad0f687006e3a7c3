"""Start tags and where they are in the text, read as the HTML5 tokenizer reads them.

The edits :mod:`newsmirror.clean` makes (an attribute added to an image, a URL resolved, a tag
or element cut out) are splices into the served text, so they need the exact positions of
tags, which no HTML5 parser on PyPI reports. This module finds them with regular expressions
that follow the tokenizer's states for the markup a body may keep: text, start and end tags
with any attributes, comments (``<!-->`` and ``--!>`` included), bogus comments, and the
raw-text and RCDATA elements (``<style>``, ``<iframe>``, ``<title>``…) whose content is not
markup. Foreign content (SVG, MathML) is never kept, so its CDATA rules are not needed here.

The text between the tags a caller asks for is skipped by the regular expression engine in one
match, so finding the images of a 6 KB body costs one C-level scan, not a Python step per tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Container, Iterator

# HTML5 whitespace is exactly these five; Python's \s would also split on U+3000 and friends.
SPACE = "\t\n\f\r "
# Elements whose content the tokenizer reads as text up to their end tag (RAWTEXT, RCDATA and
# script data in the HTML5 spec); <plaintext> runs to the end of the input.
RAW_TEXT = frozenset(("style", "title", "textarea", "xmp", "script", "noscript", "iframe",
                      "noembed", "noframes"))


@dataclass(slots=True)
class Attribute:
    name: str              # lower case
    value: str | None      # raw text, entities not decoded; None for a bare attribute
    value_start: int       # where the raw value starts (after an opening quote)
    value_end: int
    quoted: bool


# Before a tag's '>', a character that leaves where a new attribute goes, or whether the last
# one has a value, to a full read of its attributes ('/>', '= >', 'src=/>'…).
_BEFORE_END_UNCLEAR = "/=" + SPACE


class StartTag:
    """A start tag at ``markup[start:end]``; its attributes are read when first asked for, and
    only if what the caller already knows does not answer."""

    __slots__ = ("name", "start", "end", "_markup", "_attributes", "_insert_at", "_hint",
                 "_present")

    def __init__(self, name: str, start: int, end: int, markup: str,
                 hint: Attribute | None = None, present: Container[str] | None = None) -> None:
        self.name = name       # lower case
        self.start = start
        self.end = end         # just past '>'
        self._markup = markup
        self._attributes: list[Attribute] | None = None
        self._insert_at = -1
        self._hint = hint      # the first attribute, when the scanner read it
        self._present = present  # the names of its attributes, when a parser read them

    def __repr__(self) -> str:
        return f"StartTag({self.name!r}, {self.start}, {self.end})"

    @property
    def attributes(self) -> list[Attribute]:
        if self._attributes is None:
            self._attributes, self._insert_at = _read_attributes(self._markup, self.start, self.end)
        return self._attributes

    @property
    def insert_at(self) -> int:
        """Where a new attribute goes (before '/>' or '>')."""
        if self._attributes is None:
            if self._markup[self.end - 2] not in _BEFORE_END_UNCLEAR:
                return self.end - 1  # right before the '>' that follows a name or a value
            self.attributes  # noqa: B018 (reads them)
        return self._insert_at

    def get(self, name: str) -> Attribute | None:
        if self._attributes is None:
            if self._hint is not None and self._hint.name == name:
                return self._hint  # the first attribute of that name: the one that counts
            if self._present is not None and name not in self._present:
                return None
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute  # HTML5: the first of duplicate attributes wins
        return None

    @property
    def dangling(self) -> Attribute | None:
        """The last attribute if its '=' has no value (``<img src=>``): whatever is put right
        after it would become its value."""
        if self._attributes is None and self._markup[self.end - 2] not in _BEFORE_END_UNCLEAR:
            return None  # the tag ends right after a name or a value
        last = self.attributes[-1] if self.attributes else None
        if last is not None and last.value == "" and not last.quoted and last.value_end == self.insert_at:
            return last
        return None


def attribute_insertion(markup: str, tag: StartTag, text: str, filled: bool = False) -> str:
    """What to insert at ``tag.insert_at`` to add ``text`` (attributes, each with a leading
    space) after the tag's last attribute, spaced like its neighbours. ``filled``: an edit gives
    the dangling attribute a value (else it gets an empty one, so ``text`` is not its value)."""
    if tag.dangling is not None:
        return text if filled else '""' + text
    if markup[tag.insert_at - 1] in SPACE:
        return text[1:] + (" " if markup.startswith("/>", tag.insert_at) else "")
    return text


_S = SPACE
# The attributes of a tag and its closing '>'. A name may start with '=' (the tokenizer makes
# it part of the name); a name followed by '=' must have a value, so a quote that never closes
# makes the tag unterminated rather than turning into more names. Possessive throughout, so
# hostile input cannot make it backtrack.
_VALUE = rf"""(?:"[^"]*+"|'[^']*+'|(?!["'])[^{_S}>]*+)"""
_ATTRIBUTES = (rf"""(?:[{_S}/]*+[^{_S}/>][^{_S}/>=]*+(?:[{_S}]*+=[{_S}]*+{_VALUE}|(?![{_S}]*+=)))*+"""
               rf"""[{_S}/]*+>""")
_NAME_END = rf"(?=[{_S}/>])"
_COMMENT = r"!--(?:-?>|[\s\S]*?--!?>)"
_BOGUS = r"(?:!(?!--)|\?|/(?![a-zA-Z]))[^>]*+>"
_END_TAG = rf"/[a-zA-Z][^{_S}/>]*+{_ATTRIBUTES}"
_LONE_LT = r"(?![a-zA-Z!?/])(?!\Z)"   # '<' before anything but a letter, '!', '?' or '/'


def _raw_elements(names: list[str]) -> str:
    """Raw-text elements' start tags and text, up to their end tag, which the scanner then
    reads as any end tag (and so finds cut off); <plaintext> runs to the end. (One alternative
    per name: a backreference inside a possessive repeat trips CPython's re.)"""
    patterns = []
    for name in names:
        if name == "plaintext":
            patterns.append(rf"plaintext{_NAME_END}{_ATTRIBUTES}[\s\S]*+")
        else:
            patterns.append(rf"{name}{_NAME_END}{_ATTRIBUTES}(?:[^<]++|<(?!/{name}[{_S}/>]))*+"
                            rf"(?=</{name}[{_S}/>])")
    return "|".join(patterns)


@lru_cache(maxsize=8)
def _scanner(names: frozenset[str] | None) -> re.Pattern[str]:
    """Everything up to the next start tag named in ``names`` (any start tag when None), then
    that tag, the end of the input, or (neither matching) a construct the input cuts off."""
    # After a '<', the alternatives most often taken come first: end tags, then start tags.
    after_lt = [_END_TAG]
    if names is not None:
        raw = sorted((RAW_TEXT | {"plaintext"}) - names)
        special = "|".join(re.escape(n) for n in sorted(RAW_TEXT | {"plaintext"} | names))
        after_lt.append(rf"(?!(?:{special}){_NAME_END})[a-zA-Z][^{_S}/>]*+{_ATTRIBUTES}")
        after_lt.append(_raw_elements(raw))
        alternatives = []
        if "a" in names:
            # <a href="…">, the usual link, has its href read here: no need to read the tag
            alternatives.append(rf"""a{_NAME_END}(?:[{_S}]++href[{_S}]*+=[{_S}]*+"(?P<href>[^"]*+)")?+""")
        if names - {"a"}:
            alternatives.append(rf"(?:{'|'.join(re.escape(n) for n in sorted(names - {'a'}))}){_NAME_END}")
        tag = rf"<(?:{'|'.join(alternatives)}){_ATTRIBUTES}"
    else:
        tag = rf"<[a-zA-Z][^{_S}/>]*+{_ATTRIBUTES}"
    if names is None or "a" not in names:
        tag += "(?P<href>(?!))?"  # never matches: the group is there for the reader
    after_lt += [_COMMENT, _BOGUS, _LONE_LT]
    skip = rf"(?:[^<]++|<(?:{'|'.join(after_lt)}))*+"
    return re.compile(rf"{skip}(?:(?P<tag>{tag})|(?P<end>\Z))?+", re.I)


_TAG_NAME = re.compile(rf"[^{_S}/>]*+")
# One attribute; between two of them there is only whitespace and '/', which no name starts with.
_ATTRIBUTE = re.compile(rf"""([^{_S}/>][^{_S}/>=]*+)(?:[{_S}]*+=[{_S}]*+({_VALUE}))?+""")


def _read_attributes(s: str, start: int, end: int) -> tuple[list[Attribute], int]:
    """The attributes of the start tag at ``s[start:end]``, and where a new one goes."""
    i = _TAG_NAME.match(s, start + 1).end()
    attributes: list[Attribute] = []
    for match in _ATTRIBUTE.finditer(s, i, end - 1):
        value = match.group(2)
        if value is None:
            attributes.append(Attribute(match.group(1).lower(), None, match.end(), match.end(), False))
        elif value[:1] in ("'", '"'):
            attributes.append(Attribute(match.group(1).lower(), value[1:-1], match.start(2) + 1,
                                        match.end(2) - 1, True))
        else:
            attributes.append(Attribute(match.group(1).lower(), value, match.start(2),
                                        match.end(2), False))
        i = match.end()
    # ">" ends it; after a "/" ending the tag ("/>"), a new attribute goes before the "/"
    return attributes, (end - 2 if end - 2 >= i and s[end - 2] == "/" else end - 1)


# A start tag, and its first attribute when that is written name="value" (as a tag's src or
# href usually is), so that asking for it needs no full read.
_START_TAG = re.compile(rf"""<([a-zA-Z][^{_S}/>]*+)"""
                        rf"""(?:[{_S}]++([^{_S}/>="'<][^{_S}/>="'<]*+)="([^"]*+)")?+{_ATTRIBUTES}""")


def start_tag_at(markup: str, start: int, name: str | None = None,
                 present: Container[str] | None = None) -> StartTag | None:
    """The start tag that begins at ``markup[start]`` (where a parser saw one; ``name``: what
    the parser made of it; ``present``: the names of the attributes it read), or None if the
    text ends inside it."""
    match = _START_TAG.match(markup, start)
    if match is None:
        return None
    hint = None
    if match.start(2) >= 0:
        hint = Attribute(match.group(2).lower(), match.group(3), match.start(3), match.end(3), True)
    return StartTag(name or match.group(1).lower(), start, match.end(), markup, hint, present)


def iter_start_tags(markup: str, unterminated: list[int] | None = None,
                    names: frozenset[str] | None = None) -> Iterator[StartTag]:
    """The start tags (only those named in ``names``, if given), skipping comments and the
    content of raw-text elements.

    If the text ends inside a tag, a comment or a raw-text element, where that construct starts
    is appended to ``unterminated``."""
    scan = _scanner(names).match
    position, n = 0, len(markup)
    while True:
        match = scan(markup, position)
        found = match.group("tag")
        if found is None:
            if match.group("end") is None and unterminated is not None:
                unterminated.append(match.end())
            return
        start = match.start("tag")
        href = match.start("href")
        hint = None if href < 0 else Attribute("href", match.group("href"), href, match.end("href"), True)
        tag = StartTag(_TAG_NAME.match(markup, start + 1).group().lower(), start, match.end("tag"),
                       markup, hint)
        yield tag
        position = tag.end
        if tag.name in RAW_TEXT or tag.name == "plaintext":
            # its text is no markup; its end tag (or a cut-off one) is the scanner's again
            position = raw_text_end(markup, tag.name, position)
            if position == n:
                if unterminated is not None and tag.name != "plaintext":
                    unterminated.append(tag.start)
                return


@lru_cache(maxsize=16)
def _raw_text_close(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{re.escape(name)}[{_S}/>]", re.I)


def raw_text_end(markup: str, name: str, start: int) -> int:
    """Where the content of a raw-text element (style, title, …) ends: at its end tag."""
    if name == "plaintext":
        return len(markup)
    close = _raw_text_close(name).search(markup, start)
    return len(markup) if close is None else close.start()
