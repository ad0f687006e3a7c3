"""Getting feed bytes: asynchronous HTTP with limits, conditional GET, retries; local files.

aiohttp was chosen over httpx by measurement (``bench/run.py``, figures in ``bench/RESULTS.md``):
fetching the same 1,000 loopback feeds it took 0.43 s where httpx took 2.3 s.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from pathlib import Path
from typing import Mapping, Protocol
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp

from .config import FetchSettings
from .dates import now as crawl_now
from .exceptions import Deferred, FeedError, NotModified
from .rsshub import MAX_ERROR_PAGE, describe
from .types import Fetched, HTTPValidators

MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 24 * 3600.0     # a server cannot park a feed for longer than a day
_REDIRECTS = frozenset((301, 302, 303, 307, 308))
_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
           "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")
_CHUNK = 64 * 1024


class _Retryable(FeedError):
    """A failure worth another attempt (timeouts, dropped connections, 5xx)."""


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    return None if when is None else max(0.0, when - now)


def fresh_for_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """How long a response stays fresh (RFC 9111 §4.2.1): Cache-Control ``max-age`` less the
    ``Age`` a cache added, else ``Expires`` less ``Date``; 0 for ``no-cache`` / ``no-store``;
    ``None`` when the server says nothing."""
    directives: dict[str, str] = {}
    for part in (headers.get("Cache-Control") or "").split(","):
        name, _, value = part.partition("=")
        directives.setdefault(name.strip().lower(), value.strip().strip('"'))
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    if directives.get("max-age", "").isdigit():
        age = (headers.get("Age") or "").strip()
        return max(0.0, float(directives["max-age"]) - (float(age) if age.isdigit() else 0.0))
    expires = headers.get("Expires")
    if expires is None:
        return None
    until = _http_date(expires)
    if until is None:
        return 0.0  # an invalid Expires ("0", "-1") means already expired
    served = _http_date(headers.get("Date") or "")
    return max(0.0, until - (served if served is not None else now))


def _http_date(value: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(value.strip()).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


class Gate(Protocol):
    """A place among the feeds allowed in flight at once. ``acquire`` when held and ``release``
    when not do nothing."""

    async def acquire(self) -> None: ...

    def release(self) -> None: ...


class Fetcher:
    """Fetches many feeds at once within global and per-host limits. Use as ``async with``."""

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(settings.concurrency)

    async def __aenter__(self) -> "Fetcher":
        connector = aiohttp.TCPConnector(
            limit=self.settings.concurrency, limit_per_host=self.settings.per_host,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.settings.user_agent, "Accept": _ACCEPT,
                     "Accept-Encoding": "gzip, deflate, br"},
            timeout=aiohttp.ClientTimeout(total=None),  # asyncio.timeout holds each feed to its budget
            auto_decompress=True,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(self, url: str, validators: HTTPValidators | None = None,
                    gate: Gate | None = None) -> Fetched:
        """The feed's bytes; raises NotModified, Deferred or FeedError.

        ``gate``, if given, is acquired for each attempt and released while backing off, so a
        retrying feed does not keep others waiting; it is held when this returns or raises.
        """
        if gate is not None:
            await gate.acquire()
        if url.startswith("file:"):
            async with self._slots:
                return await asyncio.to_thread(self._read_file, url)
        # `timeout` is the feed's whole budget: attempts and the pauses between them. Time
        # spent waiting for a free connection does not count.
        budget = self.settings.timeout
        attempt = 0
        while True:
            started = None
            try:
                async with self._slots:
                    started = time.monotonic()
                    async with asyncio.timeout(budget):
                        return await self._get(url, validators or HTTPValidators())
            except TimeoutError:
                error: FeedError = _Retryable(f"timed out after {self.settings.timeout:g} s")
            except _Retryable as exc:
                error = exc
            except aiohttp.ClientPayloadError as exc:
                error = _Retryable(f"broken response body: {_short(exc)}")
            except aiohttp.ClientConnectionError as exc:
                error = _Retryable(f"connection failed: {_short(exc)}")
            except aiohttp.ClientError as exc:
                raise FeedError(f"HTTP error: {_short(exc)}") from None
            except ValueError as exc:  # malformed URLs and headers
                raise FeedError(f"bad request: {_short(exc)}") from None
            pause = 0.5 * 2 ** attempt
            if started is not None:
                budget -= time.monotonic() - started
            if attempt >= self.settings.retries or budget - pause <= 0:
                raise FeedError(str(error))
            budget -= pause
            if gate is not None:
                gate.release()
            await asyncio.sleep(pause)
            if gate is not None:
                await gate.acquire()
            attempt += 1

    async def _get(self, url: str, validators: HTTPValidators) -> Fetched:
        assert self._session is not None
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        for _ in range(MAX_REDIRECTS + 1):
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                status = response.status
                if status in _REDIRECTS and "Location" in response.headers:
                    target = urljoin(url, response.headers["Location"])
                    if urlsplit(target).scheme not in ("http", "https"):
                        raise FeedError(f"redirect to a non-HTTP URL: {target[:100]}")
                    url = target
                    continue
                if status == 304:
                    if not headers:
                        raise FeedError("HTTP 304 Not Modified to a request that was not conditional")
                    raise NotModified("not modified", fresh_for_seconds(response.headers, time.time()))
                if status in (429, 503):
                    wait = retry_after_seconds(response.headers.get("Retry-After"), time.time())
                    if wait is not None:
                        wait = min(wait, MAX_RETRY_AFTER)
                        # on the run's clock, which SOURCE_DATE_EPOCH may set
                        reason = describe(status, response.reason, await _error_page(response))
                        raise Deferred(f"{reason}: retry after {wait:.0f} s",
                                       until=crawl_now() + wait)
                if not 200 <= status < 300:
                    reason = describe(status, response.reason, await _error_page(response))
                    raise (_Retryable if status >= 500 else FeedError)(reason)
                length = response.content_length
                if length is not None and length > self.settings.max_bytes:
                    raise FeedError(f"too large: {length} bytes (max_bytes {self.settings.max_bytes})")
                body = await self._read_capped(response)
                return Fetched(
                    url=url, content=body, content_type=response.headers.get("Content-Type"),
                    validators=HTTPValidators(response.headers.get("ETag"),
                                              response.headers.get("Last-Modified")),
                    fresh_for=fresh_for_seconds(response.headers, time.time()),
                )
        raise FeedError(f"more than {MAX_REDIRECTS} redirects")

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > self.settings.max_bytes:
                raise FeedError(f"too large: over {self.settings.max_bytes} bytes (max_bytes)")
            chunks.append(chunk)
        return b"".join(chunks)

    def _read_file(self, url: str) -> Fetched:
        path = Path(unquote(urlsplit(url).path))
        try:
            size = path.stat().st_size
            if size > self.settings.max_bytes:
                raise FeedError(f"too large: {size} bytes (max_bytes {self.settings.max_bytes})")
            return Fetched(url=url, content=path.read_bytes())
        except FileNotFoundError:
            raise FeedError(f"no such file: {path}") from None
        except IsADirectoryError:
            raise FeedError(f"is a folder, not a feed: {path}") from None
        except OSError as exc:
            raise FeedError(f"cannot read {path}: {exc.strerror}") from None


async def _error_page(response: aiohttp.ClientResponse) -> bytes:
    """The first part of an error answer's body (RSSHub explains itself there), or nothing
    if the body cannot be read: the status alone is then the reason."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.content.iter_chunked(_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_ERROR_PAGE:
                break
    except (aiohttp.ClientError, ValueError):
        pass
    return b"".join(chunks)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
