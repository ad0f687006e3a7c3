"""Fetching against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time

import brotli
import pytest

from conftest import Response, gzipped, rss
from newsmirror.config import FetchSettings
from newsmirror.exceptions import Deferred, FeedError, NotModified
from newsmirror.fetch import Fetcher, retry_after_seconds
from newsmirror.types import HTTPValidators

FEED = rss("<item><title>a</title></item>")


def fetch(url, validators=None, **settings):
    settings.setdefault("timeout", 3)
    async def go():
        async with Fetcher(FetchSettings(**settings)) as fetcher:
            return await fetcher.fetch(url, validators)
    return asyncio.run(go())


def test_plain_and_conditional(server):
    server.feed("/f", FEED, etag='"v1"')
    first = fetch(server.url("/f"))
    assert first.content == FEED and first.validators.etag == '"v1"'
    assert "newsmirror/" in server.requests[-1][1]["User-Agent"]
    with pytest.raises(NotModified):
        fetch(server.url("/f"), first.validators)
    assert server.requests[-1][1]["If-None-Match"] == '"v1"'


def test_last_modified_sent(server):
    stamp = "Sat, 22 Jan 2022 12:16:05 GMT"
    server.routes["/lm"] = lambda h: (Response(304) if h.headers.get("If-Modified-Since") == stamp
                                      else Response(200, FEED, {"Last-Modified": stamp}))
    got = fetch(server.url("/lm"))
    assert got.validators == HTTPValidators(None, stamp)
    with pytest.raises(NotModified):
        fetch(server.url("/lm"), got.validators)


@pytest.mark.parametrize("encoding, encode", [("gzip", gzipped), ("br", brotli.compress)])
def test_compressed(server, encoding, encode):
    server.routes["/c"] = Response(200, encode(FEED), {"Content-Encoding": encoding})
    assert fetch(server.url("/c")).content == FEED
    assert encoding in server.requests[-1][1]["Accept-Encoding"]


def test_redirects(server):
    for i in range(6):
        server.routes[f"/r{i}"] = Response(302, headers={"Location": f"/r{i + 1}"})
    server.routes["/r6"] = Response(200, FEED)
    assert fetch(server.url("/r1")).content == FEED  # five hops
    with pytest.raises(FeedError, match="more than 5 redirects"):
        fetch(server.url("/r0"))  # six hops
    server.routes["/loop"] = Response(301, headers={"Location": "/loop"})
    with pytest.raises(FeedError, match="redirects"):
        fetch(server.url("/loop"))
    server.routes["/file"] = Response(302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FeedError, match="non-HTTP"):
        fetch(server.url("/file"))


def test_errors_are_reported_with_reason(server):
    with pytest.raises(FeedError, match="HTTP 404"):
        fetch(server.url("/missing"))
    server.routes["/304"] = Response(304)
    with pytest.raises(FeedError, match="not conditional"):
        fetch(server.url("/304"))


def test_5xx_retried_then_failed(server):
    server.routes["/500"] = Response(500, b"boom")
    with pytest.raises(FeedError, match="HTTP 500"):
        fetch(server.url("/500"), retries=2)
    assert server.hits("/500") == 3
    calls = []
    def flaky(handler):
        calls.append(1)
        return Response(502) if len(calls) < 2 else Response(200, FEED)
    server.routes["/flaky"] = flaky
    assert fetch(server.url("/flaky")).content == FEED


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after(server, status):
    server.routes["/busy"] = Response(status, headers={"Retry-After": "120"})
    before = time.time()
    with pytest.raises(Deferred) as info:
        fetch(server.url("/busy"))
    assert before + 119 <= info.value.until <= time.time() + 121
    assert server.hits("/busy") == 1


def test_retry_after_forms():
    assert retry_after_seconds("30", 0) == 30
    assert retry_after_seconds("Thu, 01 Jan 1970 00:01:00 GMT", 0) == 60
    assert retry_after_seconds("soon", 0) is None and retry_after_seconds(None, 0) is None


def test_size_cap(server):
    big = b"x" * 5000
    server.routes["/declared"] = Response(200, big)
    with pytest.raises(FeedError, match="too large"):
        fetch(server.url("/declared"), max_bytes=1000)
    def undeclared(handler):
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(big)
    server.routes["/undeclared"] = undeclared
    with pytest.raises(FeedError, match="too large"):
        fetch(server.url("/undeclared"), max_bytes=1000)
    server.routes["/bomb"] = Response(200, gzipped(b"\0" * 10_000_000), {"Content-Encoding": "gzip"})
    with pytest.raises(FeedError, match="too large"):
        fetch(server.url("/bomb"), max_bytes=100_000)


def test_timeout_is_the_whole_budget(server):
    server.routes["/slow"] = Response(200, FEED, delay=5)
    start = time.monotonic()
    with pytest.raises(FeedError, match="timed out"):
        fetch(server.url("/slow"), timeout=1, retries=3)
    assert time.monotonic() - start < 1.5  # no retry: the budget is spent
    assert server.hits("/slow") == 1


def test_one_byte_per_second_is_cut_off(server):
    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        try:
            for _ in range(1000):
                handler.wfile.write(b"<")
                handler.wfile.flush()
                time.sleep(1)
        except OSError:
            pass
    server.routes["/trickle"] = trickle
    start = time.monotonic()
    with pytest.raises(FeedError, match="timed out"):
        fetch(server.url("/trickle"), timeout=2, retries=2)
    assert time.monotonic() - start < 3


def test_short_body(server):
    def liar(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b"<rss>")
    server.routes["/short"] = liar
    with pytest.raises(FeedError):
        fetch(server.url("/short"), retries=0)


def test_per_host_limit(server):
    active, peak = [0], [0]
    import threading
    lock = threading.Lock()
    def slow(handler):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return Response(200, FEED)
    for i in range(8):
        server.routes[f"/p{i}"] = slow
    async def go():
        async with Fetcher(FetchSettings(per_host=2, concurrency=8, timeout=5)) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(server.url(f"/p{i}")) for i in range(8)))
    assert len(asyncio.run(go())) == 8
    assert peak[0] == 2


def test_local_files(tmp_path):
    path = tmp_path / "f.xml"
    path.write_bytes(FEED)
    assert fetch(path.as_uri()).content == FEED
    with pytest.raises(FeedError, match="no such file"):
        fetch((tmp_path / "nope.xml").as_uri())
    with pytest.raises(FeedError, match="too large"):
        fetch(path.as_uri(), max_bytes=10)
