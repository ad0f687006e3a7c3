"""URL rules shared by cleaning and publishing: which hosts a reader's browser must never be sent
to, and what of a fetch URL may appear on a public page.

Hosts are read as a browser reads them (the WHATWG URL standard), not as ``urlsplit`` does:
tabs and newlines vanish, ``\\`` is ``/``, the host is percent-decoded and width-folded, and a
host whose last label is a number is an IPv4 address in any of its spellings (``127.1``,
``0x7f.0.0.1``, ``2130706433``).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

_TAB_NEWLINE = re.compile("[\t\n\r]")
# Names that only ever mean a machine of the reader's own network.
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet",
                     ".corp", ".home", ".localdomain")
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# Query parameters that carry credentials: RSSHub's access key and code, and the usual names.
SECRET_PARAMETERS = frozenset("""
    key code token access_token accesstoken api_key apikey auth authorization password passwd
    pass pwd secret sig signature session sessionid sid
""".split())


def browser_host(url: str) -> str | None:
    """The host a browser would contact for this URL (lower case, no brackets), or ``None`` for
    a URL without one (relative, ``data:``, ``mailto:``)."""
    url = _TAB_NEWLINE.sub("", url.strip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                          "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c"
                                          "\x1d\x1e\x1f"))
    scheme, colon, rest = url.partition(":")
    if colon and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
        if scheme.lower() in ("http", "https", "ftp", "ws", "wss"):
            rest = rest.replace("\\", "/").lstrip("/")   # special schemes: any slashes, or none
            authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
        elif rest.startswith("//"):
            authority = re.split(r"[/?#]", rest[2:], maxsplit=1)[0]
        else:
            return None
    elif url.startswith(("//", "\\\\", "/\\", "\\/")):  # scheme-relative: the page's scheme
        authority = re.split(r"[/?#]", url.replace("\\", "/")[2:], maxsplit=1)[0]
    else:
        return None
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return host[1:].partition("]")[0].lower()
    host = host.rpartition(":")[0] if re.search(r":\d*$", host) else host
    host = unicodedata.normalize("NFKC", unquote(host)).translate(_DOTS).lower()
    return host.rstrip(".") if host not in (".", "") else host


def _ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The WHATWG IPv4 parser: up to four parts, each decimal, octal (0…) or hex (0x…)."""
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts.pop()
    if not parts or len(parts) > 4:
        return None
    numbers = []
    for part in parts:
        try:
            if part[:2] in ("0x", "0X"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names by itself, if it is one."""
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host.partition("%")[0])
        except ValueError:
            return None
        return address.ipv4_mapped or address
    last = host.rstrip(".").rpartition(".")[2]
    if re.fullmatch(r"\d+|0[xX][0-9a-fA-F]*", last):
        return _ipv4(host)
    return None


@lru_cache(maxsize=4096)  # a feed's images come from a handful of hosts
def is_private_host(host: str) -> bool:
    """Loopback, private, link-local, reserved or local-network names: the reader's own machine
    or network, which no public page may make a browser load."""
    address = ip_literal(host)
    if address is not None:
        return not address.is_global
    if ":" in host or "." not in host.strip("."):
        return True  # a bad IPv6 literal, or a single label: an intranet name
    return host == "localhost" or host.endswith(_PRIVATE_SUFFIXES)


# The usual URL, whose host every reader reads alike: no credentials, escapes, backslashes or
# whitespace, a port at most. (Anything else takes the browser's way, browser_host.)
_PLAIN_HTTP = re.compile(r"https?://([A-Za-z0-9.-]+)(?::[0-9]*)?(?=[/?#]|$)")


# After a leading "/", what makes a URL scheme-relative to a browser (tabs and newlines vanish).
_SCHEME_RELATIVE = ("/", "\\", "\t", "\n", "\r")


def is_private_url(url: str) -> bool:
    """Whether a browser following this URL would contact a private host (or read a file)."""
    plain = _PLAIN_HTTP.match(url)
    if plain is not None:
        return is_private_host(plain.group(1).lower().rstrip("."))
    if url[:1] == "/" and url[1:2] not in _SCHEME_RELATIVE:
        return False  # a path on the page's own (public) host
    if url.strip().lower().startswith("file:"):
        return True
    host = browser_host(url)
    return host is not None and is_private_host(host)


def publishable_url(url: str) -> str | None:
    """A fetch URL as it may appear on a public page: without credentials (``user:pass@``) or
    secret query parameters; ``None`` when it should not appear at all (not http(s), or a
    private host)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or is_private_url(url):
        return None
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if k.lower() not in SECRET_PARAMETERS]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
