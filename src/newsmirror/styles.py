"""Which of a feed's CSS may stay in a published body: styling that stays inside the body.

A declaration may stay when its property only shapes the element it is on (typography, colour,
box, lists, tables, flex and grid layout) and its URLs load nothing from the reader's own
machine or network. Nothing that lifts content out of the flow over the page (``position``
other than static / relative, ``z-index``, offsets, transforms, negative margins, outlines and
shadows that paint far outside the box) and nothing that runs script in an old browser.

A ``<style>`` rule may stay when every selector starts from a class or id of the body's own
elements and does not reach out to siblings, and its declarations may stay. Parsing is
tinycss2's (CSS Syntax Level 3), so comments, escapes and odd spacing read as a browser reads them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Iterable

import tinycss2
from tinycss2 import ast

_PROPERTIES = frozenset("""
    color background background-color background-image background-position background-repeat
    background-size background-clip background-origin background-attachment
    font font-family font-size font-style font-weight font-variant font-stretch
    font-feature-settings font-kerning line-height letter-spacing word-spacing text-align
    text-align-last text-decoration text-decoration-line text-decoration-color
    text-decoration-style text-decoration-thickness text-underline-offset text-indent
    text-transform text-shadow text-overflow text-justify text-emphasis white-space word-break
    word-wrap overflow-wrap hyphens tab-size direction unicode-bidi vertical-align quotes
    margin margin-top margin-right margin-bottom margin-left margin-block margin-inline
    margin-block-start margin-block-end margin-inline-start margin-inline-end
    padding padding-top padding-right padding-bottom padding-left padding-block padding-inline
    padding-block-start padding-block-end padding-inline-start padding-inline-end
    border border-top border-right border-bottom border-left border-width border-style
    border-color border-radius border-top-left-radius border-top-right-radius
    border-bottom-left-radius border-bottom-right-radius border-top-width border-right-width
    border-bottom-width border-left-width border-top-style border-right-style
    border-bottom-style border-left-style border-top-color border-right-color
    border-bottom-color border-left-color border-collapse border-spacing
    box-sizing width height min-width min-height max-width max-height aspect-ratio
    display float clear overflow overflow-x overflow-y visibility opacity cursor
    list-style list-style-type list-style-position list-style-image
    table-layout caption-side empty-cells content counter-reset counter-increment
    flex flex-basis flex-direction flex-flow flex-grow flex-shrink flex-wrap order gap row-gap
    column-gap justify-content justify-items justify-self align-content align-items align-self
    place-content place-items place-self grid grid-area grid-template grid-template-areas
    grid-template-columns grid-template-rows grid-auto-columns grid-auto-rows grid-auto-flow
    grid-column grid-column-start grid-column-end grid-row grid-row-start grid-row-end
    columns column-count column-width column-rule column-span object-fit object-position
    image-rendering page-break-before page-break-after page-break-inside break-before
    break-after break-inside orphans widows writing-mode text-orientation font-synthesis
    -webkit-text-size-adjust text-size-adjust -webkit-font-smoothing user-select
""".split())
_POSITIONS_IN_FLOW = frozenset(("static", "relative", "initial", "inherit", "unset", "revert"))
_NEGATIVE_FORBIDDEN = re.compile(r"^(margin|padding)")
_SCRIPT = re.compile(r"expression|javascript:|vbscript:|-moz-binding|behavior")
# Functions whose string arguments are URLs a browser loads.
_URL_FUNCTIONS = frozenset(("url", "src", "image-set", "-webkit-image-set", "image", "cross-fade"))
_AT_RULES_WITH_RULES = frozenset(("media", "supports"))
_FUNCTIONAL_ALTERNATIVES = frozenset(("is", "where", "matches", "-webkit-any", "-moz-any", "host",
                                      "host-context"))
_OUTSIDE = frozenset(("html", "body", "head", "root", "host", "scope"))

UrlCheck = Callable[[str], bool]   # True when a URL that loads by itself may stay


def _walk(tokens: Iterable[ast.Node]) -> Iterable[ast.Node]:
    """Every token, however deep in functions and blocks."""
    for token in tokens:
        yield token
        if isinstance(token, ast.FunctionBlock):
            yield from _walk(token.arguments)
        elif isinstance(token, (ast.SquareBracketsBlock, ast.ParenthesesBlock, ast.CurlyBracketsBlock)):
            yield from _walk(token.content)


def _urls(tokens: Iterable[ast.Node]) -> Iterable[str]:
    for token in _walk(tokens):
        if isinstance(token, ast.URLToken):
            yield token.value
        elif isinstance(token, ast.FunctionBlock) and token.lower_name in _URL_FUNCTIONS:
            for argument in token.arguments:
                if isinstance(argument, ast.StringToken):
                    yield argument.value


def _words(tokens: Iterable[ast.Node]) -> Iterable[str]:
    """Every identifier, function name, URL and string: what a script check must see."""
    for token in _walk(tokens):
        if isinstance(token, ast.IdentToken):
            yield token.lower_value
        elif isinstance(token, ast.FunctionBlock):
            yield token.lower_name
        elif isinstance(token, (ast.URLToken, ast.StringToken)):
            yield token.value.lower()


def _has_negative(tokens: Iterable[ast.Node]) -> bool:
    return any(
        (isinstance(t, (ast.NumberToken, ast.DimensionToken, ast.PercentageToken)) and t.value < 0)
        or (isinstance(t, ast.LiteralToken) and t.value == "-") for t in _walk(tokens))


def _has_error(tokens: Iterable[ast.Node]) -> bool:
    return any(isinstance(token, ast.ParseError) for token in _walk(tokens))


def declaration_allowed(declaration: ast.Declaration, url_allowed: UrlCheck) -> bool:
    name = declaration.lower_name
    value = declaration.value
    if _has_error(value):
        return False  # a bad url( or string: browsers drop it, and so do we
    if name.startswith("--"):
        pass  # a custom property is inert until an allowed property uses it
    elif name == "position":
        idents = [t.lower_value for t in value if isinstance(t, ast.IdentToken)]
        if not idents or any(i not in _POSITIONS_IN_FLOW for i in idents):
            return False
    elif name not in _PROPERTIES:
        return False
    if _NEGATIVE_FORBIDDEN.match(name) and _has_negative(value):
        return False
    if any(_SCRIPT.search(word) for word in _words(value)):
        return False
    return all(url_allowed(url) for url in _urls(value))


# A declaration list of the everyday shape (``text-align:center; color: #333``): words,
# unsigned numbers, hashes, plain strings and colour functions; no escapes, comments, URLs,
# functions that load, signs or ``!important``. Its tokens are plain to read, and none of them
# is one that declaration_allowed refuses, so only the property names need looking at.
_SP = r"[ \t\n\r\f]"
_ATOM = (r"""(?:[a-zA-Z_\u0080-\U0010ffff][a-zA-Z0-9_\u0080-\U0010ffff-]*"""
         r"""|[0-9]*\.?[0-9]+(?:[a-zA-Z]+|%)?|#[a-zA-Z0-9_-]+"""
         r"""|"[^"\\\n\r\f]*"|'[^'\\\n\r\f]*'|(?:rgba?|hsla?)\([0-9.%, \t\n\r\f/]*\))""")
_SEPARATOR = rf"(?:{_SP}*[,/]{_SP}*|{_SP}+)"
_DECLARATION = rf"{_SP}*(-?[a-zA-Z][a-zA-Z-]*){_SP}*:{_SP}*{_ATOM}(?:{_SEPARATOR}{_ATOM})*{_SP}*"
_PLAIN_DECLARATIONS = re.compile(rf"{_DECLARATION}(?:;{_DECLARATION})*;?{_SP}*")
_PLAIN_NAME = re.compile(rf"(?:^|;){_SP}*(-?[a-zA-Z][a-zA-Z-]*){_SP}*:")


def _plainly_allowed(css: str) -> bool:
    """Whether ``css`` is of the everyday shape and all its properties are allowed."""
    if _PLAIN_DECLARATIONS.fullmatch(css) is None or _SCRIPT.search(css.lower()):
        return False
    return all(name.lower() in _PROPERTIES for name in _PLAIN_NAME.findall(css))


@lru_cache(maxsize=4096)  # a feed's template repeats its inline styles in every item
def filter_declarations(css: str, url_allowed: UrlCheck) -> str:
    """A ``style`` attribute's value with only what may stay: the value itself when all of it
    may (the usual case: its bytes are kept), ``""`` when nothing may, else the kept
    declarations re-serialised."""
    return css if _plainly_allowed(css) else _filter_parsed(css, url_allowed)


def _filter_parsed(css: str, url_allowed: UrlCheck) -> str:
    kept: list[ast.Declaration] = []
    dropped = False
    for item in tinycss2.parse_blocks_contents(css, skip_comments=True, skip_whitespace=True):
        if isinstance(item, ast.Declaration) and declaration_allowed(item, url_allowed):
            kept.append(item)
        else:
            dropped = True  # a declaration that may not stay, a nested rule, a parse error
    if not dropped:
        return css
    return "; ".join(f"{d.name}:{tinycss2.serialize(d.value).strip()}"
                     f"{' !important' if d.important else ''}" for d in kept)


def declarations_allowed(css: str, url_allowed: UrlCheck) -> bool:
    return filter_declarations(css, url_allowed) == css


def _split_selectors(prelude: list[ast.Node]) -> list[list[ast.Node]]:
    selectors: list[list[ast.Node]] = [[]]
    for token in prelude:
        if isinstance(token, ast.LiteralToken) and token.value == ",":
            selectors.append([])
        else:
            selectors[-1].append(token)
    return selectors


def _selector_anchors(tokens: list[ast.Node]) -> frozenset[str] | None:
    """The classes (``.x``) and ids (``#x``) of a complex selector's first compound: it stays
    inside the body if one of them is the body's own, and it goes only inwards from there.
    ``None`` for a selector that never may (no anchor, siblings, the page's elements)."""
    while tokens and isinstance(tokens[0], (ast.WhitespaceToken, ast.Comment)):
        tokens = tokens[1:]
    anchors: set[str] = set()
    index = 0
    previous: ast.Node | None = None
    # the first compound selector: up to whitespace or a combinator
    while index < len(tokens):
        token = tokens[index]
        if isinstance(token, ast.WhitespaceToken):
            break
        if isinstance(token, ast.LiteralToken) and token.value in (">", "+", "~"):
            break
        if isinstance(token, ast.HashToken):
            anchors.add("#" + token.value)
        if isinstance(token, ast.IdentToken) and isinstance(previous, ast.LiteralToken) \
                and previous.value == ".":
            anchors.add("." + token.value)
        if isinstance(token, ast.FunctionBlock) and isinstance(previous, ast.LiteralToken) \
                and previous.value == ":" and token.lower_name in _FUNCTIONAL_ALTERNATIVES:
            return None
        previous = token
        index += 1
    rest = tokens[index:]
    while rest and isinstance(rest[0], ast.WhitespaceToken):
        rest = rest[1:]
    if rest and isinstance(rest[0], ast.LiteralToken) and rest[0].value in ("+", "~"):
        return None   # the body's siblings are the page's
    if not anchors or set(_words(tokens)) & _OUTSIDE:
        return None
    return frozenset(anchors)


def _rules_anchors(rules: list[ast.Node], url_allowed: UrlCheck) -> list[frozenset[str]] | None:
    """Each selector's anchors, or ``None`` if some rule may never stay."""
    anchors: list[frozenset[str]] = []
    for rule in rules:
        if isinstance(rule, (ast.WhitespaceToken, ast.Comment)):
            continue
        if isinstance(rule, ast.QualifiedRule):
            for selector in _split_selectors(rule.prelude):
                found = _selector_anchors(selector)
                if found is None:
                    return None
                anchors.append(found)
            if not declarations_allowed(tinycss2.serialize(rule.content), url_allowed):
                return None
        elif isinstance(rule, ast.AtRule) and rule.lower_at_keyword in _AT_RULES_WITH_RULES:
            if rule.content is None or any(_SCRIPT.search(w) for w in _words(rule.prelude)):
                return None
            inner = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
            found_inner = _rules_anchors(inner, url_allowed)
            if found_inner is None:
                return None
            anchors += found_inner
        else:
            return None  # @import, @font-face, @keyframes, @namespace, parse errors
    return anchors


@lru_cache(maxsize=1024)  # a feed's template repeats its <style> in every item
def _stylesheet_anchors(css: str, url_allowed: UrlCheck) -> tuple[frozenset[str], ...] | None:
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    anchors = _rules_anchors(rules, url_allowed)
    return None if anchors is None else tuple(anchors)


def stylesheet_allowed(css: str, names: frozenset[str], url_allowed: UrlCheck) -> bool:
    """Whether a ``<style>`` element's text only styles the body's own elements, harmlessly.
    ``names`` are the body's classes (``.x``) and ids (``#x``)."""
    anchors = _stylesheet_anchors(css, url_allowed)
    return anchors is not None and all(found & names for found in anchors)
