"""The built-in site in a real browser (Debian's headless Chromium) over a loopback server:
every internal link resolves, every article shows its title and body, no page logs an error,
and search finds Chinese and English words. Screenshots of the front page and an article at
phone and desktop widths go to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import base64
import shutil
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

import newsmirror.site as site_module
from conftest import Response, channel_toml, item, newsmirror, rss
from newsmirror.catalog import with_routes
from newsmirror.config import load_config

ROOT = Path(__file__).parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"
# A 1×1 PNG for every image from outside: pages load as they would online, offline.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII=")

EXTRA = [
    item("长江航运迎来智能调度系统", "cj1",
         "<p>长江航运的智能调度系统今天上线，货轮排队时间缩短三成。</p>"
         '<p><img src="https://img.example/yangtze.jpg" alt="长江上的货轮"></p>',
         date="Tue, 24 Nov 2026 01:00:00 GMT"),
    item("Lighthouse keepers return to Scotland's coast", "lh1",
         "<p>Three lighthouses near the Hebrides welcome keepers back for the first time since 1998.</p>",
         date="Tue, 24 Nov 2026 02:00:00 GMT"),
]


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    """The bundled example plus two more articles, run and built (search included)."""
    from conftest import FeedServer
    folder = tmp_path_factory.mktemp("site")
    examples = folder / "examples"
    shutil.copytree(ROOT / "examples", examples, ignore=shutil.ignore_patterns("site"))
    feeds = FeedServer()
    feeds.routes["/extra"] = Response(200, rss(*EXTRA))
    config = examples / "newsmirror.toml"
    config.write_text(config.read_text("utf-8") + channel_toml("新闻", "Harbour Daily", "World", feeds.url("/extra")),
                      encoding="utf-8")
    result = newsmirror("run", "--config", str(config))
    feeds.close()
    assert result.returncode == 0, result.stdout + result.stderr
    public = examples / "site" / "public"
    assert (public / "pagefind" / "0000" / "pagefind-ui.js").exists(), result.stdout
    # Again with search shards of 4 articles, so the search page merges three indexes.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_module, "SEARCH_SHARD", 4)
        report = site_module.build_site(with_routes(load_config(config)), full=True)
    assert report.search_indexed == 3
    return public


@pytest.fixture
def site_server(built_site):
    from conftest import FeedServer
    server = FeedServer()
    server.static_root = built_site
    yield server
    server.close()


def open_page(browser, server, width=1280, height=900, scheme="light"):
    """A page whose requests stay on loopback; outside images get a pixel, anything else fails."""
    page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=scheme)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def route(request_route):
        url = request_route.request.url
        if url.startswith(server.url("/")):
            request_route.continue_()
        elif request_route.request.resource_type == "image":
            request_route.fulfill(status=200, content_type="image/png", body=PIXEL)
        else:
            request_route.abort()
    page.route("**/*", route)
    return page, errors


def test_every_link_resolves_and_every_article_shows(browser, site_server, built_site):
    page, errors = open_page(browser, site_server)
    start = site_server.url("/")
    queue, seen, articles = deque([start]), {start}, 0
    while queue:
        url = queue.popleft()
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        if "/posts/" in url:
            articles += 1
            title = page.locator("article h1").inner_text()
            body = page.locator("article .body").inner_text().strip()
            assert title and body, url
        for href in page.eval_on_selector_all(
                "a[href], link[href], script[src], img[src]",
                "els => els.map(e => e.getAttribute('href') || e.getAttribute('src'))"):
            target = urljoin(url, href).split("#")[0]
            if not target.startswith(start) or target in seen:
                continue
            seen.add(target)
            path = unquote(urlsplit(target).path)
            if path.endswith("/") or path.endswith(".html"):
                queue.append(target)
            else:  # feeds, stylesheets, scripts: fetched, not browsed
                assert page.request.get(target).status == 200, f"{url} -> {target}"
    assert articles == 10
    assert errors == []
    # An unknown address gets the site's 404 page.
    missing = page.goto(site_server.url("/no/such/page/"))
    assert missing.status == 404


@pytest.mark.parametrize("query, title", [
    ("港口", "港口吞吐量创新高 / Port throughput hits a record"),
    ("智能调度", "长江航运迎来智能调度系统"),
    ("lighthouse", "Lighthouse keepers return to Scotland's coast"),
    ("ferry", "Harbour opens its first solar-powered ferry terminal"),
])
def test_search_finds_chinese_and_english(browser, site_server, query, title):
    page, errors = open_page(browser, site_server)
    page.goto(site_server.url(f"/search/?q={query}"))
    results = page.locator(".pagefind-ui__result-title")
    results.first.wait_for(timeout=15000)
    assert title in results.all_inner_texts()
    assert errors == []


def test_screenshots(browser, site_server):
    ARTIFACTS.mkdir(exist_ok=True)
    article = "/posts/新媒体/Harbour Daily/Technology/Harbour opens its first solar-powered ferry terminal.html"
    for name, width, height, scheme in [("phone", 390, 844, "dark"), ("desktop", 1280, 900, "light")]:
        for page_name, path in [("front", "/"), ("article", article)]:
            page, errors = open_page(browser, site_server, width, height, scheme)
            page.goto(site_server.url(path))
            page.wait_for_load_state("networkidle")
            target = ARTIFACTS / f"site-{page_name}-{name}.png"
            page.screenshot(path=str(target), full_page=True)
            assert target.stat().st_size > 5000
            # Nothing wider than the screen: no sideways scrolling on a phone.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert errors == []
