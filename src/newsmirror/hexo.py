"""The Hexo post format of the reference system (FORMAT.md), byte for byte, with valid YAML.

Pure functions: no I/O. Writing the bytes to disk is :mod:`newsmirror.write`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PICSUM = "https://picsum.photos/400/300?random={n}"
# The reference replaced these in titles (FORMAT.md §2).
_TITLE_REPLACED = re.compile(r"[:/\\?*“”<>|\[\]]")
# YAML forbids these even inside quoted scalars, or folds them away (line breaks).
_YAML_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
# Plain scalars that YAML 1.1 (PyYAML) or 1.2 (js-yaml, Hexo) would read as something other than
# the string: booleans, nulls, numbers, dates.
_YAML_NON_STRING = re.compile(
    r"""(?ix)(
        y|n|yes|no|true|false|on|off|null|~|
        [-+]?(\d[\d_]*)?\.?\d[\d_]*(e[-+]?\d+)?|[-+]?0[xob][\da-f_]+|[-+]?\.(inf|nan)|\.nan|
        [-+]?\d[\d_]*(:[0-5]?\d)+(\.\d*)?|
        \d{4}-\d\d?-\d\d?([Tt ]\s*\d\d?:\d\d:\d\d(\.\d*)?\s*(Z|[-+]\d\d?(:\d\d)?)?)?|
        <<|=
    )"""
)
_PLAIN_FIRST_FORBIDDEN = set("-?:,[]{}#&*!|>'\"%@`")


def hexo_title(title: str) -> str:
    """TITLE: the item title with the reference's unsafe characters replaced by ``_``."""
    return _TITLE_REPLACED.sub("_", title)


def _double_quoted(value: str) -> str:
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif _YAML_UNPRINTABLE.match(ch):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _quoting_is_plain(value: str) -> bool:
    """Whether the reference's quote style (no escapes) reads back as exactly this string."""
    return not _YAML_UNPRINTABLE.search(value)


def yaml_title(title: str) -> str:
    """``'…'``, or ``"…"`` when the title has ``'`` (the reference's choice), escaped when needed."""
    if "'" in title:
        if '"' not in title and "\\" not in title and _quoting_is_plain(title):
            return f'"{title}"'
        return _double_quoted(title)
    if _quoting_is_plain(title):
        return f"'{title}'"
    return _double_quoted(title)


def yaml_single_quoted(value: str) -> str:
    """``'…'`` as the reference wrote image URLs; still valid YAML when the value has ``'``."""
    if _quoting_is_plain(value):
        return "'" + value.replace("'", "''") + "'"
    return _double_quoted(value)


def yaml_plain(value: str) -> str:
    """A category or author written unquoted (the reference), quoted when plain would not read back."""
    if (
        value
        and value == value.strip()
        and not _YAML_UNPRINTABLE.search(value)
        and value[0] not in _PLAIN_FIRST_FORBIDDEN
        and ": " not in value
        and "\t" not in value
        and " #" not in value
        and not value.endswith(":")
        and not _YAML_NON_STRING.fullmatch(value)
        and value not in ("---", "...")
    ):
        return value
    return yaml_single_quoted(value)


@dataclass(frozen=True, slots=True)
class Post:
    """Everything a Hexo post shows."""

    title: str           # the feed's title, before the reference's replacements
    group: str
    site: str
    channel: str
    author: str
    date: str            # already in its final text form (see dates.post_date)
    image: str           # lead image, or the picsum fallback
    body: str            # cleaned HTML


def render_post(post: Post) -> str:
    """The exact text of a post file (FORMAT.md §1)."""
    text = (
        "\n---\n"
        f"title: {yaml_title(hexo_title(post.title))}\n"
        "categories: \n"
        f" - {yaml_plain(post.group)}\n"
        f" - {yaml_plain(post.site)}\n"
        f" - {yaml_plain(post.channel)}\n"
        f"headimg: {yaml_single_quoted(post.image)}\n"
        f"author: {yaml_plain(post.author)}\n"
        "comments: false\n"
        f"date: {post.date}\n"  # our own text: toUTCString, 'Invalid Date' or the crawl time
        f"thumbnail: {yaml_single_quoted(post.image)}\n"
        "---\n"
        "\n"
        "<div>   \n"
        f"{post.body}  \n"
        "</div>\n"
        "            "
    )
    # Hexo runs posts through Nunjucks: braces from feeds must not become template tags.
    return text.replace("{", "&#123;").replace("}", "&#125;")


def picsum_url(n: int) -> str:
    return PICSUM.format(n=n)


@dataclass(frozen=True, slots=True)
class PostParts:
    """What the built-in site takes back from a post file this module wrote."""

    image: str
    date: str
    body: str


_ESCAPES = re.compile(r'\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)')
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"'}
_BODY_START = "\n---\n\n<div>   \n"
_BODY_END = "  \n</div>\n            "


def read_post(text: str) -> PostParts | None:
    """The lead image, date line and body of a post :func:`render_post` wrote; ``None`` for a
    file in any other shape (edited by hand, say). Braces stay as the HTML entities they became."""
    head, found, rest = text.partition(_BODY_START)
    if not found or not rest.endswith(_BODY_END):
        return None
    fields = {}
    for line in head.splitlines():
        key, colon, value = line.partition(": ")
        if colon and key in ("headimg", "date"):
            fields[key] = value
    if len(fields) != 2:
        return None
    return PostParts(image=_yaml_unquote(fields["headimg"]), date=fields["date"],
                     body=rest[:-len(_BODY_END)])


def _yaml_unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        def unescape(match: re.Match[str]) -> str:
            code = match.group(1)
            if len(code) > 1:
                return chr(int(code[1:], 16))
            return _SIMPLE_ESCAPES.get(code, code)
        return _ESCAPES.sub(unescape, value[1:-1])
    return value
