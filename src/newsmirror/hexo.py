"""The Hexo post format of the reference system (FORMAT.md), byte for byte, with valid YAML.

Pure functions: no I/O. Writing the bytes to disk is :mod:`newsmirror.write`'s job.
"""

from __future__ import annotations

import html
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
    image: str           # lead image, or the fallback ([output] fallback_image)
    body: str            # cleaned HTML
    exact_title: bool = False   # the title as it is, not with the reference's replacements


def render_post(post: Post) -> str:
    """The exact text of a post file (FORMAT.md §1)."""
    text = (
        "\n---\n"
        f"title: {yaml_title(post.title if post.exact_title else hexo_title(post.title))}\n"
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


# Hexo renders a post as Markdown (marked). The body sits in an HTML block that our "<div>"
# opens and that runs to the first blank line. After one, a line that opens another block-level
# element starts another raw HTML block; an indented line starts a code block, whose text is
# shown escaped; anything else is Markdown, whose code spans, escapes and links can turn text
# of the HTML into markup. Before Markdown, Hexo turns ``` and ~~~ fences anywhere into code.
# The patterns are marked's and Hexo's own.
_HTML_BLOCK_TAGS = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|"
    "dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|"
    "header|hr|html|iframe|legend|li|link|main|menu|menuitem|meta|nav|noframes|ol|optgroup|"
    "option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul")
_HTML_BLOCK_START = re.compile(rf" {{0,3}}</?(?:{_HTML_BLOCK_TAGS})(?: +|/?>|$)", re.I)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BLANK_LINE = re.compile(r"(?:\r\n|\r|\n)[ \t]*(?:\r\n|\r|\n)")
# The same for text without CR: a literal first character lets re skip to each line break
# (the pattern above tries every position: eight times slower on a 4 KB body).
_LF_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_FENCE = re.compile(r"(?:(?:[^\S\r\n]*>){0,3}|[-*+]|[0-9]+\.)[^\S\r\n]*(?:`{3}|~{3})")
_CODE_INDENT = re.compile(r"(?: {4}| {0,3}\t)")
# An empty comment: nothing in HTML, a line that is not blank to Markdown.
INERT_LINE = "<!---->"


def markdown_view(body: str) -> str | None:
    """The HTML that Hexo publishes for this body: the body itself when Markdown leaves it
    alone, with its indented code blocks rendered when those are all Markdown makes of it;
    ``None`` when Markdown would do more (paragraphs, code spans, links, fences)."""
    # One-character tests first: "```" in a long text costs as much as the regex below.
    if ("`" in body or "~" in body) and ("```" in body or "~~~" in body) and _has_fence(body):
        return None
    if not (_BLANK_LINE if "\r" in body else _LF_BLANK_LINE).search(body):
        return body
    lines = _LINE_BREAK.split(body)
    out: list[str] = []
    coded = False
    index, count = 0, len(lines)
    in_html = True  # the first lines continue the block our "<div>" opens
    while index < count:
        line = lines[index]
        if in_html:
            if line.strip(" \t"):
                out.append(line + "\n")
                index += 1
                continue
            in_html = False
        if not line.strip(" \t"):
            out.append("\n")
            index += 1
        elif _CODE_INDENT.match(line):
            code: list[str] = []
            while index < count and (_CODE_INDENT.match(lines[index]) or not lines[index].strip(" \t")):
                code.append(_CODE_INDENT.sub("", lines[index], count=1))
                index += 1
            text = "\n".join(code).rstrip("\n")
            out.append("<pre><code>" + html.escape(text) + "\n</code></pre>\n")
            coded = True
        elif _HTML_BLOCK_START.match(line):
            in_html = True
        else:
            return None
    return "".join(out)[:-1] if coded else body


def _has_fence(body: str) -> bool:
    return any(_FENCE.match(line) for line in _LINE_BREAK.split(body))


def markdown_inert(body: str) -> str:
    """The body made one HTML block to Markdown: an empty comment on each blank line and before
    each code fence, so that Hexo publishes the HTML as it is."""
    lines = _LINE_BREAK.split(body)
    breaks = _LINE_BREAK.findall(body)
    for index, line in enumerate(lines):
        if (not line.strip(" \t") and index < len(lines) - 1) or _FENCE.match(line):
            lines[index] = INERT_LINE + line
    return "".join(line + brk for line, brk in zip(lines, breaks + [""]))


def picsum_url(n: int) -> str:
    return PICSUM.format(n=n)


_PICSUM_URL = re.compile(re.escape(PICSUM).replace(re.escape("{n}"), r"(\d+)"))


def picsum_number_of(url: str) -> int | None:
    """The N of a :func:`picsum_url`, ``None`` for any other URL."""
    match = _PICSUM_URL.fullmatch(url)
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class PostParts:
    """What the built-in site takes back from a post file this module wrote."""

    image: str
    date: str
    body: str
    title: str = ""     # as the front matter has it (the reference's replacements made)


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
        if colon and key in ("headimg", "date", "title") and key not in fields:
            fields[key] = value
    if "headimg" not in fields or "date" not in fields:
        return None
    return PostParts(image=_yaml_unquote(fields["headimg"]), date=fields["date"],
                     body=rest[:-len(_BODY_END)], title=_yaml_unquote(fields.get("title", "")))


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
