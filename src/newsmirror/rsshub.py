"""What an RSSHub error page says: the instance's own reason, and which kind of failure it is.

RSSHub answers a failing route with an HTML page (or, embedded as a package, JSON) whose
status is the same 404 or 503 for a path it has no route for, a route that threw, and a
source it could not reach. Operators need to tell these apart: the first is a config mistake,
the second a bug to report, the third the source's (or the network's) problem, and a rate
limit means waiting. The page formats read here are RSSHub 1.0's (``<pre class="message">``)
and the later Hono-based one's (``<code class="… details">``).
"""

from __future__ import annotations

import json
import re
from enum import Enum

from selectolax.lexbor import LexborHTMLParser

MAX_ERROR_PAGE = 256 * 1024   # an error page is read this far, never more


class Failure(Enum):
    NO_ROUTE = "RSSHub has no such route"
    RATE_LIMITED = "rate limited"
    SOURCE = "RSSHub could not get the source"
    ROUTE = "the RSSHub route failed"


_NO_ROUTE = re.compile(r"\bwrong path\b|NotFoundError|route does not exist", re.I)
_RATE_LIMIT = re.compile(r"\b429\b|too many requests|rate.?limit", re.I)
_SOURCE = re.compile(
    r"getaddrinfo|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|socket hang up"
    r"|target website|Response code \d{3}|\b(?:HTTP|Request|Fetch)Error\b|timed? ?out|certificate", re.I)
_STACK_LINE = re.compile(r"^\s+at ", re.M)
_HINT = re.compile(r":\s*target website might be blocking.*", re.S)
_MAX_REASON = 200


def error_reason(status: int, body: bytes) -> tuple[Failure, str] | None:
    """The kind of failure and RSSHub's one-line reason, if ``body`` is an RSSHub error
    page; None for any other answer (the caller reports the bare HTTP status)."""
    text = _message_of(body)
    if text is None:
        return None
    if status == 429 or _RATE_LIMIT.search(text):
        kind = Failure.RATE_LIMITED
    elif _NO_ROUTE.search(text):
        kind = Failure.NO_ROUTE
    elif _SOURCE.search(text):
        kind = Failure.SOURCE
    else:
        kind = Failure.ROUTE
    # RSSHub 1.0 follows an upstream failure with a hint and links (production) or a stack
    # trace (development): neither belongs in a one-line reason.
    message = _one_line(_HINT.sub("", _STACK_LINE.split(text, 1)[0]))
    return (kind, message) if message else None


def describe(status: int, reason: str | None, body: bytes) -> str:
    """One line for a failed answer: RSSHub's reason when the body is its error page."""
    http = f"HTTP {status} {reason or ''}".rstrip()
    found = error_reason(status, body)
    if found is None:
        return http
    kind, message = found
    return f"{kind.value}: {message} ({http})"


def _message_of(body: bytes) -> str | None:
    head = body[:MAX_ERROR_PAGE]
    if head.lstrip()[:1] == b"{":
        try:
            error = json.loads(head).get("error")
        except (ValueError, AttributeError):
            return None
        text = error.get("message") if isinstance(error, dict) else None
        return text if isinstance(text, str) else None
    if b"RSSHub" not in head:
        return None
    tree = LexborHTMLParser(head.decode("utf-8", "replace"))
    node = tree.css_first("pre.message") or tree.css_first("code.details")
    return None if node is None else node.text(deep=True)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_REASON else line[:_MAX_REASON - 1] + "…"
