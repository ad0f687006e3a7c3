"""Shared fixtures: golden cases, loopback HTTP servers, config files."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

TESTS = Path(__file__).parent
GOLDEN = TESTS / "golden"
PICSUM_N = re.compile(r"(https://picsum\.photos/400/300\?random=)\d+")
IMAGE_PROXY = "https://cors.zfour.workers.dev/?"


@dataclass(frozen=True)
class GoldenCase:
    name: str
    folder: Path
    group: str
    site: str
    channel: str
    expected_path: str
    picsum_fallback: bool
    crawl_time: str | None

    @property
    def feed(self) -> bytes:
        return (self.folder / "feed.xml").read_bytes()

    @property
    def expected(self) -> str:
        return (self.folder / "expected.md").read_bytes().decode("utf-8")


def golden_cases() -> list[GoldenCase]:
    cases = []
    for folder in sorted(GOLDEN.iterdir()):
        data = tomllib.loads((folder / "case.toml").read_text("utf-8"))
        cases.append(GoldenCase(folder.name, folder, data["group"], data["site"], data["channel"],
                                data["expected_path"], data["picsum_fallback"],
                                data.get("crawl_time")))
    return cases


def mask_picsum(text: str) -> str:
    return PICSUM_N.sub(r"\1N", text)


# --------------------------------------------------------------------------- loopback HTTP server


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict | None = None
    delay: float = 0.0            # seconds before answering


class FeedServer:
    """A real HTTP server on 127.0.0.1 whose answers the test sets per path.

    A route is a :class:`Response`, or a callable taking the request handler and returning one
    (to look at request headers, count calls, or misbehave on the socket directly).
    """

    def __init__(self) -> None:
        self.routes: dict[str, Response | Callable] = {}
        self.requests: list[tuple[str, dict]] = []
        self.static_root: Path | None = None  # files served for paths without a route
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                with server._lock:
                    server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path)
                if route is None and server.static_root is not None:
                    answer = server.static(self.path)
                elif route is None:
                    answer = Response(404, b"not found", {"Content-Type": "text/plain"})
                elif callable(route):
                    answer = route(self)
                    if answer is None:  # the route wrote to the socket itself
                        return
                else:
                    answer = route
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                headers = dict(answer.headers or {})
                headers.setdefault("Content-Type", "application/rss+xml; charset=utf-8")
                if "Content-Length" not in headers:
                    headers["Content-Length"] = str(len(answer.body))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if answer.status != 304:
                    self.wfile.write(answer.body)

        class Server(ThreadingHTTPServer):
            # Room for a run's burst of connections: with the default 5, the rest wait out
            # a 1 s SYN retransmission.
            request_queue_size = 128

            def handle_error(self, request, client_address):  # clients that hang up are normal here
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def static(self, path: str) -> Response:
        """A file under static_root (a built site), index.html for folders."""
        import mimetypes
        from urllib.parse import unquote, urlsplit
        relative = unquote(urlsplit(path).path).lstrip("/")
        target = (self.static_root / relative).resolve()
        if not target.is_relative_to(self.static_root.resolve()):
            return Response(403, b"forbidden", {"Content-Type": "text/plain"})
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return Response(404, b"not found", {"Content-Type": "text/plain"})
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/xml"):
            kind += "; charset=utf-8"
        return Response(200, target.read_bytes(), {"Content-Type": kind})

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def feed(self, path: str, body: bytes, *, etag: str | None = None,
             content_type: str = "application/rss+xml; charset=utf-8") -> None:
        """Serve a feed that honours If-None-Match when given an ETag."""
        def answer(handler):
            if etag is not None and handler.headers.get("If-None-Match") == etag:
                return Response(304, headers={"ETag": etag})
            headers = {"Content-Type": content_type}
            if etag is not None:
                headers["ETag"] = etag
            return Response(200, body, headers)
        self.routes[path] = answer

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = FeedServer()
    yield srv
    srv.close()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


def rss(*items: str, title: str = "test feed") -> bytes:
    """A small RSS 2.0 document around the given <item> elements."""
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>"
            f"<title>{title}</title><link>https://example.invalid/</link>"
            f"{''.join(items)}</channel></rss>").encode("utf-8")


def item(title: str, guid: str, body: str = "<p>text</p>", date: str = "Sat, 22 Jan 2022 12:16:05 GMT",
         link: str | None = None) -> str:
    link = link or f"https://example.invalid/{guid}"
    return (f"<item><title><![CDATA[{title}]]></title><guid>{guid}</guid><link>{link}</link>"
            f"<pubDate>{date}</pubDate><description><![CDATA[{body}]]></description></item>")


# --------------------------------------------------------------------------- running the CLI

CRAWL_TIME = "2021-08-07 02:22:05"  # golden case 10 has no date: it carries the crawl time
EPOCH = str(int(datetime.strptime(CRAWL_TIME, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()))
ITEM = re.compile(rb"<item>.*?</item>", re.S)


def newsmirror(*args, cwd=None, env_extra=None, due_only=False):
    """The CLI as a subprocess, at the crawl time EPOCH. Every test runs at that one moment,
    so ``run`` gets ``--all`` (fetch every channel, as a run did before channels had a
    schedule) unless ``due_only``: test_schedule.py moves the clock and tests the schedule."""
    if "run" in args and not due_only and "--all" not in args:
        at = args.index("run") + 1
        args = (*args[:at], "--all", *args[at:])
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "newsmirror", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


# A child's ru_maxrss starts at its parent's high-water mark (Linux carries it across fork and
# exec), so inside pytest it would report pytest's own size. VmHWM belongs to the new process
# image alone; its workers are counted through RUSAGE_CHILDREN.
_MEASURED_RUN = """\
import resource, runpy, sys
sys.argv = ['newsmirror', 'run', '--config', sys.argv[1]]
try:
    runpy.run_module('newsmirror', run_name='__main__')
finally:
    with open('/proc/self/status') as status:
        own = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print('PEAK', max(own, workers) // 1024, file=sys.stderr)
"""


def run_measured(config: Path, timeout: float) -> tuple[subprocess.CompletedProcess, int]:
    """``newsmirror run`` as a subprocess, with the peak memory (MB) of it and its workers."""
    result = subprocess.run([sys.executable, "-c", _MEASURED_RUN, str(config)],
                            capture_output=True, text=True, timeout=timeout)
    return result, int(result.stderr.rsplit("PEAK", 1)[1].split()[0])


def channel_toml(group, site, channel, url, extra=""):
    return f'\n[[channel]]\ngroup = "{group}"\nsite = "{site}"\nchannel = "{channel}"\nurl = "{url}"\n{extra}'


def write_config(tmp_path, channels, output_extra="", fetch_extra=""):
    config = tmp_path / "newsmirror.toml"
    config.write_text(
        f'[output]\ndir = "site"\nimage_proxy = "{IMAGE_PROXY}"\n{output_extra}\n'
        f'[fetch]\ntimeout = 5\nretries = 0\n{fetch_extra}\n' + "".join(channels),
        encoding="utf-8")
    return config


@pytest.fixture
def golden_site(tmp_path, server):
    """Every golden case served as the channel feeds an RSSHub instance would serve."""
    by_channel: dict[tuple, list[bytes]] = {}
    for case in golden_cases():
        by_channel.setdefault((case.group, case.site, case.channel), []).extend(ITEM.findall(case.feed))
    channels = []
    for number, (key, items) in enumerate(sorted(by_channel.items())):
        path = f"/route/{number}"
        server.feed(path, rss(*(i.decode() for i in items)), etag=f'"{number}"')
        channels.append(channel_toml(*key, server.url(path)))
    return write_config(tmp_path, channels)




def posts_in(tmp_path) -> dict[str, bytes]:
    """The posts under tmp_path/site, by their path relative to it."""
    root = tmp_path / "site"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.md"))}


# --------------------------------------------------------------------------- a real Hexo

HEXO = TESTS / "hexo"


@pytest.fixture(scope="session")
def node_modules():
    modules = HEXO / "node_modules"
    if not (modules / ".bin" / "hexo").exists():
        pytest.fail("tests/hexo/node_modules is missing: run `bash scripts/test` (it runs npm ci)")
    return modules


def new_hexo_site(folder: Path, node_modules: Path) -> Path:
    """An empty Hexo site (landscape and volantis configs) using the tests' node_modules."""
    import shutil
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "_config.yml", "_config.volantis.yml"):
        shutil.copy(HEXO / name, folder / name)
    (folder / "node_modules").symlink_to(node_modules)
    return folder


def hexo_generate(site: Path, config: str) -> str:
    env = dict(os.environ, PATH=f"{site / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(["hexo", "generate", "--config", config], cwd=site, env=env,
                            capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not re.search(r"^(ERROR|FATAL|WARN)", output, re.M), output
    return output




# --------------------------------------------------------------------------- a real browser

CHROMIUM = "/usr/bin/chromium"   # Debian's; Playwright downloads no browser of its own
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, driven by Playwright, for one test module. Not for the session:
    Playwright's sync API keeps an event loop running in the main thread while it is open,
    and the in-process tests that call asyncio.run() after it would fail."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# --------------------------------------------------------------------------- a real RSSHub

RSSHUB = TESTS / "rsshub"


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def rsshub():
    """rsshub@1.0.0 from tests/rsshub/node_modules on 127.0.0.1; yields its base URL."""
    import urllib.request
    entry = RSSHUB / "node_modules" / "rsshub" / "lib" / "index.js"
    if not entry.exists():
        pytest.fail("tests/rsshub/node_modules is missing: run `bash scripts/test` (it runs npm ci)")
    port = free_port()
    env = dict(os.environ, NODE_ENV="production", PORT=str(port), LISTEN_INADDR_ANY="0",
               CACHE_TYPE="", NO_LOGFILES="1")
    log = open(RSSHUB / "rsshub-test.log", "wb")
    process = subprocess.Popen(["node", str(entry)], cwd=RSSHUB, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/test/1", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"RSSHub did not start: {(RSSHUB / 'rsshub-test.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


class CountingProxy:
    """A reverse proxy on 127.0.0.1 in front of an upstream server that records what the
    upstream is asked: request paths and headers, and the most requests in flight at once.

    With ``conditional = True`` it also answers a conditional GET with 304 when the upstream's
    ETag matches, as a caching proxy (or a newer RSSHub) in front of the instance would.
    """

    def __init__(self, upstream: str, delay: float = 0.0) -> None:
        import http.client
        from urllib.parse import urlsplit
        self.upstream = urlsplit(upstream)
        self.delay = delay
        self.conditional = False
        self.requests: list[tuple[str, dict]] = []
        self.statuses: list[int] = []
        self.active = self.max_active = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with proxy._lock:
                    proxy.requests.append((self.path, dict(self.headers)))
                    proxy.active += 1
                    proxy.max_active = max(proxy.max_active, proxy.active)
                try:
                    time.sleep(proxy.delay)
                    connection = http.client.HTTPConnection(proxy.upstream.hostname,
                                                            proxy.upstream.port, timeout=60)
                    connection.request("GET", self.path, headers={"Host": self.headers["Host"]})
                    answer = connection.getresponse()
                    body = answer.read()
                    headers = {k: v for k, v in answer.getheaders()
                               if k.lower() not in ("transfer-encoding", "connection", "content-length")}
                    status = answer.status
                    connection.close()
                finally:
                    with proxy._lock:
                        proxy.active -= 1
                etag = headers.get("ETag")
                if proxy.conditional and etag and self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                with proxy._lock:
                    proxy.statuses.append(status)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
