"""Hostile servers on 127.0.0.1: every one is cut off by the configured limits, and the run goes on."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import zlib

import pytest

from conftest import Response, channel_toml, item, newsmirror, posts_in, rss, run_measured, write_config

TIMEOUT = 2


def gzip_bomb(size: int) -> bytes:
    """A gzip body that inflates to `size` zero bytes (about 1 KB per MB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(2**20)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest.fixture
def silent_port():
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def _trickle(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.end_headers()
    try:
        while True:
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(1)
    except OSError:
        return None


def _endless(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Connection", "close")
    handler.end_headers()
    try:
        handler.wfile.write(b"<rss><channel>")
        while True:
            handler.wfile.write(b"<item><title>x</title></item>" * 1000)
    except OSError:
        return None


def _short_body(handler):
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(rss(item("cut", "c"))[:200])
    return None


def test_every_hostile_server_is_cut_off(tmp_path, server, silent_port):
    bomb = gzip_bomb(2**30)  # 1 GiB once inflated
    routes = {
        "trickle": _trickle,
        "endless": _endless,
        "bomb": Response(200, bomb, {"Content-Encoding": "gzip"}),
        "loop": Response(302, headers={"Location": "/loop"}),
        "file": Response(302, headers={"Location": "file:///etc/passwd"}),
        "error": Response(500, b"oops"),
        "busy": Response(429, headers={"Retry-After": "600"}),
        "html": Response(200, b"<!DOCTYPE html><html><body>Login</body></html>", {"Content-Type": "text/html"}),
        "empty": Response(200, b""),
        "unasked304": Response(304),
        "short": _short_body,
    }
    expected = {
        "trickle": "timed out", "endless": "too large", "bomb": "too large", "loop": "redirects",
        "file": "non-HTTP", "error": "HTTP 500", "busy": "HTTP 429", "html": "HTML page",
        "empty": "empty", "unasked304": "not conditional", "short": "",
        "silent": "timed out",
    }
    channels = []
    for name, route in routes.items():
        server.routes[f"/{name}"] = route
        channels.append(channel_toml("hostile", "servers", name, server.url(f"/{name}")))
    channels.append(channel_toml("hostile", "servers", "silent", f"http://127.0.0.1:{silent_port}/feed"))
    server.routes["/good"] = Response(200, rss(item("Good news", "g")))
    channels.append(channel_toml("hostile", "servers", "good", server.url("/good")))
    config = write_config(tmp_path, channels, fetch_extra="")
    text = config.read_text("utf-8").replace("timeout = 5\nretries = 0",
                                             f"timeout = {TIMEOUT}\nretries = 2\nmax_bytes = 5000000")
    config.write_text(text, "utf-8")

    start = time.monotonic()
    result, peak = run_measured(config, timeout=60)
    elapsed = time.monotonic() - start
    assert elapsed < TIMEOUT + 3, elapsed  # start-up, the timeout, and a margin
    assert peak <= 300, peak
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert list(posts_in(tmp_path)) == ["source/_posts/hostile/servers/good/Good news.md"]

    status = {row["channel"].rsplit("/", 1)[1]: row
              for row in json.loads(newsmirror("status", "--json", "--config", str(config)).stdout)}
    assert status["good"]["failures"] == 0
    for name, reason in expected.items():
        row = status[name]
        assert row["failures"] == 1 and row["last_error"], (name, row)
        assert reason in row["last_error"], (name, row["last_error"])
        assert "\n" not in row["last_error"]
    assert status["busy"]["retry_after"] is not None
