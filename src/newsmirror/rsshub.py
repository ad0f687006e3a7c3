"""What newsmirror knows of RSSHub itself: its error pages, its route parameters, and a
bundled table of its namespaces.

**Error pages.** What an RSSHub error page says: the instance's own reason, and which kind of
failure it is.

RSSHub answers a failing route with an HTML page (or, embedded as a package, JSON) whose
status is the same 404 or 503 for a path it has no route for, a route that threw, and a
source it could not reach. Operators need to tell these apart: the first is a config mistake,
the second a bug to report, the third the source's (or the network's) problem, and a rate
limit means waiting. The page formats read here are RSSHub 1.0's (``<pre class="message">``)
and the later Hono-based one's (``<code class="… details">``).

**The namespace table** (``data/rsshub-namespaces.json``, made by
``scripts/rsshub_namespaces.py`` from RSSHub's route metadata) names each namespace, gives its
main category and, per route, the route's name and documented example. RSSHub 1.x's
``/api/routes`` lists only path patterns; the table turns them into a catalogue a reader can
search (``知乎`` as well as ``zhihu``).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from enum import Enum
from importlib import resources

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
    from selectolax.lexbor import LexborHTMLParser  # only for error pages; config imports this module

    tree = LexborHTMLParser(head.decode("utf-8", "replace"))
    node = tree.css_first("pre.message") or tree.css_first("code.details")
    return None if node is None else node.text(deep=True)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_REASON else line[:_MAX_REASON - 1] + "…"


# --------------------------------------------------------------------------- route parameters

# A path segment that is still a parameter of the pattern: ":id", ":category?", ":id{.+}".
_PARAMETER = re.compile(r"(?<![^/]):(\w+)(?:\{[^/]*\}|\([^/]*\))?([?+*]?)(?=[/?#]|$)")


def unfilled_parameters(path: str) -> list[tuple[str, bool]]:
    """The parameters of a route pattern left in ``path``: (name, optional) each."""
    return [(found.group(1), found.group(2) in ("?", "*")) for found in _PARAMETER.finditer(path)]


def unfilled_message(path: str) -> str | None:
    """Why ``path`` cannot be fetched as it is, if it still holds a pattern's parameters."""
    unfilled = unfilled_parameters(path)
    if not unfilled:
        return None
    names = ", ".join(f":{name}" for name, _ in unfilled)
    advice = "put a value in its place" if len(unfilled) == 1 else "put values in their places"
    if all(optional for _, optional in unfilled):
        advice += " or leave it out" if len(unfilled) == 1 else " or leave them out"
    route = documented_route(path) or documented_route(path.split("?", 1)[0])
    example = f" (documented example: {route.example})" if route and route.example else ""
    parameters = "an unfilled parameter" if len(unfilled) == 1 else "unfilled parameters"
    return f"route path {path} has {parameters} {names}: {advice}{example}"


# --------------------------------------------------------------------------- namespace table


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    zh_name: str        # the Chinese name when RSSHub gives one apart from ``name``
    category: str       # RSSHub's category slug: "social-media", "new-media", …
    routes: dict[str, tuple[str, str, str]]   # pattern below the namespace -> (name, zh name, example)


@dataclass(frozen=True, slots=True)
class DocumentedRoute:
    name: str
    zh_name: str
    example: str


@functools.cache
def namespaces() -> dict[str, Namespace]:
    """The bundled table, read once per process."""
    raw = json.loads(resources.files(__package__).joinpath("data/rsshub-namespaces.json")
                     .read_text(encoding="utf-8"))
    return {key: Namespace(value["name"], value["zh"], value["category"],
                           {path: tuple(route) for path, route in value["routes"].items()})
            for key, value in raw["namespaces"].items()}


def documented_route(pattern: str) -> DocumentedRoute | None:
    """The table's entry for a full route pattern (``/zhihu/daily/section/:sectionId``)."""
    namespace, _, rest = pattern.lstrip("/").partition("/")
    found = namespaces().get(namespace)
    route = found.routes.get("/" + rest) if found else None
    return DocumentedRoute(*route) if route else None
