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
# A 1×1 PNG for every image from outside: pages load as they would online, offline; an
# image under /real/ gets a 40×30 one, so that a page can tell it from a placeholder.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk+A8AAQUBAScY42YAAAAASUVORK5CYII=")


def png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PICTURE = png(40, 30)
BLANK_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
LONG_HEADLINE = ("Port authority, shipping lines and the city council agree on a ten-year plan for quieter, "
                 "cleaner and safer night-time cargo operations along the entire eastern waterfront")

EXTRA = [
    item("长江航运迎来智能调度系统", "cj1",
         "<p>长江航运的智能调度系统今天上线，货轮排队时间缩短三成。</p>"
         '<p><img src="https://img.example/yangtze.jpg" alt="长江上的货轮"></p>',
         date="Tue, 24 Nov 2026 01:00:00 GMT"),
    item("Lighthouse keepers return to Scotland's coast", "lh1",
         "<p>Three lighthouses near the Hebrides welcome keepers back for the first time since 1998.</p>",
         date="Tue, 24 Nov 2026 02:00:00 GMT"),
    # A lazily loaded picture behind a blank GIF, relative to the article; the item's own author.
    item("消防演练：高楼灭火", "fire1",
         f'<p>消防队今天在港区高楼进行灭火演练。</p><img src="{BLANK_GIF}" data-src="/real/fire.png" alt="演练">',
         date="Tue, 24 Nov 2026 03:04:00 GMT", link="https://img.example/news/fire1.html",
         ).replace("</item>", "<author>editor@img.example (王芳)</author></item>"),
    item(LONG_HEADLINE, "long1", "<p>No picture, and a headline too long for a card.</p>",
         date="Tue, 24 Nov 2026 00:30:00 GMT"),
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
            request_route.fulfill(status=200, content_type="image/png",
                                  body=PICTURE if "/real/" in url else PIXEL)
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
    assert articles == 12
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


def test_cards_show_real_pictures_or_type_never_stock_photos(browser, site_server):
    """A placeholder gave way to the real picture (on the card and in the article); an item
    without one gets a typographic card, not a random photo; long headlines are clamped."""
    page, errors = open_page(browser, site_server)
    page.goto(site_server.url("/"))
    page.wait_for_load_state("networkidle")
    cards = page.eval_on_selector_all("li.card", """cards => cards.map(card => {
        const img = card.querySelector('.thumb img'), h2 = card.querySelector('h2');
        return {title: h2.innerText, src: img && img.getAttribute('src'), width: img && img.naturalWidth,
                type: card.querySelector('.thumb.type') ? card.querySelector('.thumb.type').innerText : null,
                lines: h2.getBoundingClientRect().height / parseFloat(getComputedStyle(h2).lineHeight)};
    })""")
    by_title = {card["title"]: card for card in cards}
    fire = by_title["消防演练：高楼灭火"]
    assert fire["src"] == "https://img.example/real/fire.png" and fire["width"] == 40
    assert by_title["Lighthouse keepers return to Scotland's coast"]["type"] == "Harbour Daily"
    assert not any("picsum" in (card["src"] or "") for card in cards)
    assert all(card["src"] or card["type"] for card in cards)
    long = next(card for title, card in by_title.items() if title.startswith("Port authority"))
    assert long["type"] and 1.5 < long["lines"] <= 3.05, long
    assert all(card["lines"] <= 3.05 for card in cards)
    # The article: the real picture, the item's own author, the time as well as the date.
    page.goto(site_server.url("/posts/新闻/Harbour Daily/World/消防演练：高楼灭火.html"))
    page.wait_for_load_state("networkidle")
    assert page.eval_on_selector("article .body img", "img => [img.currentSrc, img.naturalWidth]") == [
        "https://img.example/real/fire.png", 40]
    meta = page.locator("article header p.meta").nth(1).inner_text()
    assert "2026-11-24 03:04 UTC" in meta and "作者 王芳" in meta, meta
    assert errors == []


def test_search_results_show_date_and_category(browser, site_server):
    page, errors = open_page(browser, site_server)
    page.goto(site_server.url("/search/?q=演练"))
    page.locator(".pagefind-ui__result-title").first.wait_for(timeout=15000)
    page.locator(".pagefind-ui__result-tag").first.wait_for(timeout=15000)
    tags = page.locator(".pagefind-ui__result").first.locator(".pagefind-ui__result-tag").all_inner_texts()
    assert any("2026-11-24" in tag for tag in tags), tags
    assert any("新闻 / Harbour Daily / World" in tag for tag in tags), tags
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
