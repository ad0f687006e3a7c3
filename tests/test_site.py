"""The built-in static site: pages, feeds out, incremental builds, retention, templates."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import feedparser
import pytest
from lxml import etree

from newsmirror import make_mirror
from newsmirror.config import load_config
from newsmirror.site import build_site

from conftest import EPOCH, Response, channel_toml, item, newsmirror, rss, write_config

ROOT = Path(__file__).parent.parent
GOLDEN_SITE = Path(__file__).parent / "golden-site"


def dated_items(start: int, count: int, prefix: str = "Story") -> list[str]:
    """Items one hour apart, newest first, numbered from ``start``."""
    out = []
    for number in range(start + count - 1, start - 1, -1):
        hour = number % 24
        day = 1 + number // 24
        out.append(item(f"{prefix} {number}", f"{prefix}-{number}",
                        f"<p>Body of {prefix.lower()} {number}. 新闻正文 {number}。</p>"
                        f'<img src="https://img.example/{number}.jpg" alt="picture {number}">',
                        date=f"Mon, {day:02d} Jan 2024 {hour:02d}:00:00 GMT"))
    return out


def site_config(tmp_path, server, extra_site="", output_extra="max_items = 100"):
    config = write_config(tmp_path, [channel_toml("新闻", "Example Daily", "World", server.url("/world")),
                                     channel_toml("新闻", "Example Daily", "Tech", server.url("/tech"))],
                          output_extra=output_extra)
    config.write_text(config.read_text("utf-8") + f'\n[site]\ntitle = "Test Mirror"\nper_page = 5\n'
                      f'base_url = "https://news.example/mirror/"\nsearch = false\n{extra_site}',
                      encoding="utf-8")
    return config


def snapshot(public: Path) -> dict[str, int]:
    return {str(p.relative_to(public)): p.stat().st_mtime_ns for p in public.rglob("*") if p.is_file()}


def test_pages_feeds_and_links(tmp_path, server):
    server.routes["/world"] = Response(200, rss(*dated_items(0, 12)))
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 3, "Gadget")))
    config = site_config(tmp_path, server)
    result = newsmirror("run", "--config", str(config))
    assert result.returncode == 0, result.stderr
    built = newsmirror("build", "--config", str(config))
    assert built.returncode == 0, built.stderr
    assert "site: 15 articles" in built.stdout
    public = tmp_path / "site" / "public"

    article = (public / "posts/新闻/Example Daily/World/Story 11.html").read_text("utf-8")
    assert "<h1 data-pagefind-meta=\"title\">Story 11</h1>" in article
    assert 'href="https://example.invalid/Story-11"' in article                     # the original
    assert ('<img src="https://img.example/11.jpg" alt="picture 11" referrerpolicy="no-referrer"'
            ' loading="lazy" decoding="async">') in article
    assert 'href="/mirror/categories/%E6%96%B0%E9%97%BB/Example%20Daily/World/"' in article
    # Front page: the newest articles; stable pages of 5 from the oldest.
    front = (public / "index.html").read_text("utf-8")
    assert front.index("Gadget 102") < front.index("Story 11")
    assert (public / "page/1/index.html").exists() and (public / "page/2/index.html").exists()
    assert not (public / "page/3/index.html").exists()
    assert "15 篇文章" in front
    channel = (public / "categories/新闻/Example Daily/World/index.html").read_text("utf-8")
    assert '<span aria-current="page">World</span>' in channel and "12 篇文章" in channel
    group = (public / "categories/新闻/index.html").read_text("utf-8")
    assert "15 篇文章" in group and '>Example Daily</a> <span class="n">15</span>' in group
    site = (public / "categories/新闻/Example Daily/index.html").read_text("utf-8")
    assert '>World</a> <span class="n">12</span>' in site and '>Tech</a> <span class="n">3</span>' in site
    assert (public / "archives/2024/01/index.html").exists()
    assert (public / "404.html").exists() and not (public / "search").exists()  # search = false

    # Every internal link of every page resolves to a file.
    for page in public.rglob("*.html"):
        for href in re.findall(r'(?:href|src)="(/mirror/[^"#?]*)', page.read_text("utf-8")):
            target = public / unquote(href[len("/mirror/"):])
            if href.endswith("/"):
                target = target / "index.html"
            assert target.exists(), f"{page}: {href}"

    # Atom for the site and each level, read by a real feed parser.
    for path, count in [("atom.xml", 15), ("categories/新闻/atom.xml", 10),
                        ("categories/新闻/Example Daily/Tech/atom.xml", 3)]:
        feed = feedparser.parse((public / path).read_bytes())
        assert not feed.bozo, (path, feed.bozo_exception)
        assert len(feed.entries) == count
    feed = feedparser.parse((public / "atom.xml").read_bytes())
    assert feed.entries[0].title == "Gadget 102"
    assert feed.entries[0].link == "https://news.example/mirror/posts/%E6%96%B0%E9%97%BB/Example%20Daily/Tech/Gadget%20102.html"
    assert "新闻正文 102" in feed.entries[0].content[0].value
    sitemap = etree.parse(str(public / "sitemap.xml"))
    locations = sitemap.xpath("//s:loc/text()", namespaces={"s": "http://www.sitemaps.org/schemas/sitemap/0.9"})
    assert len(locations) == 15 + 3 and locations[0] == "https://news.example/mirror/"
    # The feeds come from a loopback server: a public page must not point readers at it.
    opml = etree.parse(str(public / "sources.opml"))
    assert [o.get("text") for o in opml.iter("outline")] == []
    assert "127.0.0.1" not in (public / "sources.opml").read_text("utf-8")


def test_incremental_builds(tmp_path, server):
    server.routes["/world"] = Response(200, rss(*dated_items(0, 23)))
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 2, "Gadget")))
    config = site_config(tmp_path, server)
    assert newsmirror("run", "--config", str(config)).returncode == 0
    assert newsmirror("build", "--config", str(config)).returncode == 0
    public = tmp_path / "site" / "public"
    before = snapshot(public)

    # Nothing changed: nothing written.
    again = newsmirror("build", "--config", str(config))
    assert "0 pages written" in again.stdout, again.stdout
    assert snapshot(public) == before

    # Two new items: their pages, the listings that show them, feeds, sitemap — no more.
    server.routes["/world"] = Response(200, rss(*dated_items(0, 25)))
    assert newsmirror("run", "--config", str(config)).returncode == 0
    assert newsmirror("build", "--config", str(config)).returncode == 0
    after = snapshot(public)
    changed = {path for path in after if before.get(path) != after[path]}
    world = "categories/新闻/Example Daily/World/"
    expected = {
        "posts/新闻/Example Daily/World/Story 24.html",           # new
        "posts/新闻/Example Daily/World/Story 23.html",           # new
        "posts/新闻/Example Daily/World/Story 22.html",           # its "newer" link
        "posts/新闻/Example Daily/Tech/Gadget 100.html",          # its "older" link
        # 25 -> 27 articles in pages of 5: the front page grows, the full pages stay.
        "index.html", "categories/新闻/index.html", "categories/新闻/Example Daily/index.html",
        "archives/2024/01/index.html",
        # 23 -> 25: a fifth full page; page 3's "newer" link now points to it.
        world + "index.html", world + "page/4/index.html", world + "page/3/index.html",
        "categories/index.html", "archives/index.html",                  # counts
        "atom.xml", "categories/新闻/atom.xml", "categories/新闻/Example Daily/atom.xml",
        world + "atom.xml", "sitemap.xml",
    }
    assert changed == expected, sorted(changed ^ expected)
    # Full pages counted from the oldest never move.
    assert all(before[f"page/{n}/index.html"] == after[f"page/{n}/index.html"] for n in (1, 2, 3, 4))


def test_the_cache_copies_the_pieces_a_build_did_not_change(tmp_path, server, monkeypatch):
    """The build cache holds its articles in pieces, in the order the mirror first saw them;
    after new articles, the pieces before them are copied from the old file, and what loads
    is what a build from scratch would store."""
    import newsmirror.site as site
    monkeypatch.setattr(site, "CACHE_CHUNK", 3)
    server.routes["/world"] = Response(200, rss(*dated_items(0, 7)))
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 2, "Gadget")))
    config_path = site_config(tmp_path, server)
    assert newsmirror("run", "--config", str(config_path)).returncode == 0
    config = load_config(config_path)
    build_site(config)
    cache_path = config.output.state.parent / "site-cache.marshal"
    search_path = cache_path.with_name("search-cache.marshal")
    old = cache_path.read_bytes()
    old_pieces = site._load_cache(cache_path, search_path)["file"].pieces
    assert len(old_pieces) == 3  # 9 articles

    server.routes["/world"] = Response(200, rss(*dated_items(0, 9)))
    assert newsmirror("run", "--config", str(config_path)).returncode == 0
    copied = []
    pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, at: copied.append(at) or pread(fd, n, at))
    assert build_site(config).written
    assert copied == [start for _, start, _ in old_pieces]  # the three earlier pieces
    new = cache_path.read_bytes()
    loaded = site._load_cache(cache_path, search_path)
    assert len(loaded["file"].pieces) == 4  # 11 articles
    for keys, start, end in old_pieces:
        assert old[start:end] in new, keys
    fresh, _ = site._collect(config, {}, site.BuildReport())
    assert loaded["articles"] == {a.key: site._article_to_cache(a) for a in fresh}
    assert build_site(config).written == 0  # and the next build finds nothing to do


def test_search_shards_are_reindexed_only_when_they_change(tmp_path, server, monkeypatch):
    import newsmirror.site as site_module
    monkeypatch.setattr(site_module, "SEARCH_SHARD", 10)
    server.routes["/world"] = Response(200, rss(*dated_items(0, 25)))
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 2, "Gadget")))
    config = site_config(tmp_path, server, "search = true\n").read_text("utf-8")
    path = tmp_path / "newsmirror.toml"
    path.write_text(config.replace("search = false\n", ""), encoding="utf-8")
    assert newsmirror("run", "--config", str(path)).returncode == 0
    settings = load_config(path)
    assert build_site(settings).search_indexed == 3              # 27 articles: shards of 10
    public = tmp_path / "site" / "public" / "pagefind"
    assert sorted(p.name for p in public.iterdir()) == ["0000", "0001", "0002"]
    assert build_site(settings).search_indexed == 0              # nothing changed
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 4, "Gadget")))
    later = {"SOURCE_DATE_EPOCH": str(int(EPOCH) + 3600)}      # first seen an hour later
    assert newsmirror("run", "--config", str(path), env_extra=later).returncode == 0
    assert build_site(settings).search_indexed == 1              # the new ones join the last shard
    search = (tmp_path / "site" / "public" / "search" / "index.html").read_text("utf-8")
    assert 'bundlePath: "/mirror/pagefind/0000/"' in search
    assert 'mergeIndex: [{ bundlePath: "/mirror/pagefind/0001/" },{ bundlePath: "/mirror/pagefind/0002/" }]' in search


def test_new_articles_reindex_a_small_tail_shard_until_a_full_one_is_sealed(tmp_path, server,
                                                                              monkeypatch):
    import newsmirror.site as site_module
    monkeypatch.setattr(site_module, "SEARCH_SHARD", 10)
    monkeypatch.setattr(site_module, "SEARCH_TAIL_SHARD", 3)
    server.routes["/world"] = Response(200, rss(*dated_items(0, 25)))
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 2, "Gadget")))
    path = site_config(tmp_path, server, "search = true\n")
    path.write_text(path.read_text("utf-8").replace("search = false\n", ""), encoding="utf-8")
    assert newsmirror("run", "--config", str(path)).returncode == 0
    settings = load_config(path)
    pagefind = tmp_path / "site" / "public" / "pagefind"
    # 27 articles: two full shards of 10, then tails of 3, 3 and 1.
    assert build_site(settings).search_indexed == 5
    assert sorted(p.name for p in pagefind.iterdir()) == ["0000", "0001", "0002", "0003", "0004"]

    def add_gadgets(count: int, hours: int) -> int:
        server.routes["/tech"] = Response(200, rss(*dated_items(100, count, "Gadget")))
        later = {"SOURCE_DATE_EPOCH": str(int(EPOCH) + 3600 * hours)}
        assert newsmirror("run", "--config", str(path), env_extra=later).returncode == 0
        return build_site(settings).search_indexed

    assert add_gadgets(4, 1) == 1             # 29: only the last tail (1 -> 3 articles)
    assert add_gadgets(5, 2) == 1             # 30: the tails become the third full shard
    assert sorted(p.name for p in pagefind.iterdir()) == ["0000", "0001", "0002"]
    assert add_gadgets(6, 3) == 1             # 31: one new tail
    search = (tmp_path / "site" / "public" / "search" / "index.html").read_text("utf-8")
    assert 'mergeIndex: [{ bundlePath: "/mirror/pagefind/0001/" },{ bundlePath: "/mirror/pagefind/0002/" },{ bundlePath: "/mirror/pagefind/0003/" }]' in search


def search_site(tmp_path, server, world: int):
    """A mirrored site of ``world`` + 2 articles with search on; its loaded config."""
    server.routes["/world"] = Response(200, rss(*dated_items(0, world)))
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 2, "Gadget")))
    path = site_config(tmp_path, server, "search = true\n")
    path.write_text(path.read_text("utf-8").replace("search = false\n", ""), encoding="utf-8")
    assert newsmirror("run", "--config", str(path)).returncode == 0
    return load_config(path)


def test_each_search_shard_is_indexed_as_soon_as_its_pages_are_written(tmp_path, server,
                                                                       monkeypatch):
    import newsmirror.site as site_module
    monkeypatch.setattr(site_module, "SEARCH_SHARD", 10)
    settings = search_site(tmp_path, server, 25)
    public = tmp_path / "site" / "public"
    handed: list[tuple[int | None, int]] = []
    ready = site_module._SearchIndexer.ready

    def record(self, shard):
        handed.append((shard, sum(1 for _ in (public / "posts").rglob("*.html"))))
        ready(self, shard)

    monkeypatch.setattr(site_module._SearchIndexer, "ready", record)
    assert build_site(settings).search_indexed == 3              # 27 articles: shards of 10
    # Shard 0 goes to Pagefind when its 10 pages are written and the other 17 are not yet;
    # then shard 1 at 20, shard 2 at 27; then the end.
    assert handed == [(0, 10), (1, 20), (2, 27), (None, 27)]
    assert sorted(p.name for p in (public / "pagefind").iterdir()) == ["0000", "0001", "0002"]


def test_a_failed_build_leaves_the_search_index_alone(tmp_path, server, monkeypatch):
    import newsmirror.site as site_module
    monkeypatch.setattr(site_module, "SEARCH_SHARD", 10)
    settings = search_site(tmp_path, server, 25)
    assert build_site(settings).search_indexed == 3
    pagefind = tmp_path / "site" / "public" / "pagefind"
    before = snapshot(pagefind)
    written = []

    def fail_after_twelve(target, data):
        if len(written) == 12:
            raise OSError(28, "No space left on device", target)
        written.append(target)

    monkeypatch.setattr(site_module, "_write_page", fail_after_twelve)
    with pytest.raises(OSError, match="No space left"):
        build_site(settings, full=True)
    # Shard 0 was indexed again (its pages were written); nothing was removed as stale.
    assert sorted(p.name for p in pagefind.iterdir()) == ["0000", "0001", "0002"]
    assert {k for k in before if k.startswith(("0001", "0002"))} <= set(snapshot(pagefind))


def test_window_retention_removes_pages_and_links(tmp_path, server):
    server.routes["/world"] = Response(200, rss(*dated_items(0, 6)))
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 1, "Gadget")))
    config = site_config(tmp_path, server, output_extra='max_items = 100\nretention = "window"')
    assert newsmirror("run", "--config", str(config)).returncode == 0
    assert newsmirror("build", "--config", str(config)).returncode == 0
    public = tmp_path / "site" / "public"
    gone = public / "posts/新闻/Example Daily/World/Story 0.html"
    assert gone.exists()
    server.routes["/world"] = Response(200, rss(*dated_items(1, 5)))
    assert newsmirror("run", "--config", str(config)).returncode == 0
    built = newsmirror("build", "--config", str(config))
    assert "1 removed" in built.stdout, built.stdout
    assert not gone.exists()
    for path in public.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml"):
            text = path.read_text("utf-8")
            assert "Story%200.html" not in text and ">Story 0<" not in text, path


def test_run_builds_when_enabled_and_templates_can_be_overridden(tmp_path, server):
    server.routes["/world"] = Response(200, rss(*dated_items(0, 2)))
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 1, "Gadget")))
    templates = tmp_path / "my-templates"
    templates.mkdir()
    (templates / "article.html").write_text(
        '{% extends "base.html" %}{% block main %}<article class="mine"><h1>{{ article.title }}</h1>'
        "{{ body_of(article) | safe }}</article>{% endblock %}", encoding="utf-8")
    config = site_config(tmp_path, server, 'enabled = true\ntemplates = "my-templates"\nlanguage = "en"\n')
    result = newsmirror("run", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "site: 3 articles" in result.stdout
    public = tmp_path / "site" / "public"
    page = (public / "posts/新闻/Example Daily/World/Story 1.html").read_text("utf-8")
    assert '<article class="mine"><h1>Story 1</h1><p>Body of story 1.' in page
    assert '<html lang="en">' in page and ">Categories</a>" in page
    # Changing a template rebuilds every page.
    (templates / "article.html").write_text(
        (templates / "article.html").read_text("utf-8").replace("mine", "yours"), encoding="utf-8")
    assert newsmirror("build", "--config", str(config)).returncode == 0
    assert '<article class="yours">' in (public / "posts/新闻/Example Daily/World/Story 1.html").read_text("utf-8")


def test_source_styling_does_not_leak(tmp_path, server):
    body = ('<style>body{display:none}</style><link rel="stylesheet" href="https://evil.example/x.css">'
            '<p class="masthead" id="main" style="position:fixed;top:0">Styled text</p>')
    server.routes["/world"] = Response(200, rss(item("Styled", "s1", body)))
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 1, "Gadget")))
    config = site_config(tmp_path, server)
    assert newsmirror("run", "--config", str(config)).returncode == 0
    assert newsmirror("build", "--config", str(config)).returncode == 0
    page = (tmp_path / "site/public/posts/新闻/Example Daily/World/Styled.html").read_text("utf-8")
    body_html = page[page.index('<div class="body">'):page.index("</article>")]
    assert "<p>Styled text</p>" in body_html
    assert "<style" not in body_html and "evil.example" not in body_html and "style=" not in body_html


def test_serve_previews_the_site(tmp_path, server):
    import urllib.error
    import urllib.request
    server.routes["/world"] = Response(200, rss(*dated_items(0, 1)))
    server.routes["/tech"] = Response(200, rss(*dated_items(100, 1, "Gadget")))
    config = site_config(tmp_path, server)
    assert newsmirror("run", "--config", str(config)).returncode == 0
    assert newsmirror("serve", "--config", str(config)).returncode == 2      # nothing built yet
    assert newsmirror("build", "--config", str(config)).returncode == 0
    process = subprocess.Popen([sys.executable, "-m", "newsmirror", "serve", "--port", "0",
                                "--config", str(config)], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+/mirror/)", line).group(1)
        with urllib.request.urlopen(url) as answer:
            assert "Test Mirror" in answer.read().decode()
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url + "no/such/page/")
        assert info.value.code == 404 and "页面不存在" in info.value.read().decode()
    finally:
        process.terminate()
        process.wait(10)


def _golden_expected() -> dict[str, bytes]:
    return {str(p.relative_to(GOLDEN_SITE)): p.read_bytes() for p in sorted(GOLDEN_SITE.rglob("*"))
            if p.is_file()}


def _build_golden_example(tmp_path, full: bool = False) -> dict[str, bytes]:
    """The bundled example, mirrored and built: its pages (without the search index)."""
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples, ignore=shutil.ignore_patterns("site"))
    config_path = examples / "newsmirror.toml"
    config_path.write_text(config_path.read_text("utf-8").replace("search = true", "search = false"),
                           encoding="utf-8")
    assert newsmirror("run", "--config", str(config_path)).returncode == 0
    report = make_mirror(config_path).build_site(full=full)
    assert report.articles == 8 and not report.missing
    public = examples / "site" / "public"
    return {str(p.relative_to(public)): p.read_bytes() for p in sorted(public.rglob("*"))
            if p.is_file() and p.parts[len(public.parts)] != "pagefind"}


def test_golden_site(tmp_path):
    """The bundled example, built: every page byte for byte as committed in tests/golden-site
    (NEWSMIRROR_UPDATE_GOLDEN=1 rewrites them after a deliberate change)."""
    built = _build_golden_example(tmp_path)
    if os.environ.get("NEWSMIRROR_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN_SITE, ignore_errors=True)
        for path, data in built.items():
            (GOLDEN_SITE / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN_SITE / path).write_bytes(data)
    expected = _golden_expected()
    assert sorted(built) == sorted(expected)
    for path, data in built.items():
        assert data == expected[path], path


def test_a_build_that_holds_no_body_or_card_makes_the_same_pages(tmp_path, monkeypatch):
    """A large site's build lets bodies and listing cards go and reads or renders them again
    (BODIES_HELD, CARDS_HELD): with none held at all, every page is the golden one."""
    import newsmirror.site as site
    monkeypatch.setattr(site, "BODIES_HELD", 0)
    monkeypatch.setattr(site, "CARDS_HELD", 0)
    built = _build_golden_example(tmp_path, full=True)
    expected = _golden_expected()
    assert sorted(built) == sorted(expected)
    for path, data in built.items():
        assert data == expected[path], path
