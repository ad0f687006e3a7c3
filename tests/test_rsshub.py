"""newsmirror against a real RSSHub (rsshub@1.0.0 from npm, started on 127.0.0.1).

RSSHub's ``/test/:id`` routes work offline, and ``/hexo/next/127.0.0.1:<port>`` reads a Hexo
NexT site that these tests serve themselves, so the content that comes back has been through
RSSHub's own processing (relative URLs resolved, lazy images fixed, scripts dropped,
``referrerpolicy`` added, parameters applied).
"""

from __future__ import annotations

import json
import re
import time

import pytest

from conftest import CountingProxy, Response, newsmirror, posts_in

POSTS = [
    ("第一篇：新闻镜像", "2024/05/01/first/", "2024-05-01T08:00:00+08:00",
     '<p>正文一，带图。</p><img src="/images/one.jpg" alt="一"><script>alert(1)</script>'),
    ("Second post", "2024/05/02/second/", "2024-05-02T09:30:00+00:00",
     '<p>Body two.</p><img data-src="/images/lazy.png"><img src="https://cdn.example/x.webp" onerror="alert(2)">'),
    ("Third post", "2024/05/03/third/", "2024-05-03T10:00:00+00:00",
     '<p>Body three, no image.</p><a href="/about/">about</a>'),
]


def serve_next_site(server) -> str:
    """A Hexo NexT site as RSSHub's /hexo/next route reads it; returns the route's path."""
    headers = "".join(
        f'<header class="post-header"><h1 class="post-title"><a class="post-title-link" href="/{path}">'
        f'<span itemprop="name">{title}</span></a></h1></header>' for title, path, _, _ in POSTS)
    server.routes["/archives/"] = Response(200, (
        '<html><head><meta name="description" content="A test blog"></head><body>'
        f'<h1 class="site-title">测试博客</h1>{headers}</body></html>').encode(),
        {"Content-Type": "text/html; charset=utf-8"})
    for title, path, date, body in POSTS:
        server.routes[f"/{path}"] = Response(200, (
            f'<html><body><article><h1>{title}</h1><time datetime="{date}">{date[:10]}</time>'
            f'<div class="post-body">{body}</div></article></body></html>').encode(),
            {"Content-Type": "text/html; charset=utf-8"})
    return f"/hexo/next/127.0.0.1:{server.port}"


def config_for(tmp_path, base: str, body: str, fetch: str = "") -> str:
    path = tmp_path / "newsmirror.toml"
    path.write_text(f'[rsshub]\nbase = "{base}"\n\n[output]\ndir = "site"\n\n'
                    f'[fetch]\ntimeout = 30\nretries = 0\n{fetch}\n{body}', encoding="utf-8")
    return str(path)


def channel(name: str, url: str, extra: str = "") -> str:
    return f'\n[[channel]]\ngroup = "测试"\nsite = "RSSHub"\nchannel = "{name}"\nurl = "{url}"\n{extra}'


def titles(tmp_path, folder: str) -> list[str]:
    return sorted(re.search(r"^title: (.*)$", text.decode(), re.M).group(1).strip("'")
                  for path, text in posts_in(tmp_path).items() if f"/{folder}/" in path)


def test_posts_match_rsshub_items(tmp_path, rsshub, server):
    """RSSHub's own test route and a route reading a page we serve, through the CLI; the
    second is a [[route]] whose levels come from the instance's /api/routes."""
    route = serve_next_site(server)
    config = config_for(tmp_path, rsshub, channel("test", "rsshub:/test/1")
                        + f'\n[[route]]\npath = "{route}"\n')
    result = newsmirror("run", "--config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    posts = posts_in(tmp_path)
    assert titles(tmp_path, "test") == [f"Title{i}" for i in range(1, 6)]
    first = posts["source/_posts/测试/RSSHub/test/Title1.md"].decode()
    assert "<div>   \nDescription1  \n</div>" in first
    assert "date: Mon, 31 Dec 2018 15:59:50 GMT" in first and "author: RSSHub" in first

    # /api/namespace is not on RSSHub 1.x, so the catalogue came from /api/routes.
    folder = f"source/_posts/其他/hexo/next 127.0.0.1:{server.port}"
    blog = {path.rsplit("/", 1)[1]: text.decode() for path, text in posts.items() if path.startswith(folder)}
    assert sorted(blog) == ["Second post.md", "Third post.md", "第一篇：新闻镜像.md"]
    one = blog["第一篇：新闻镜像.md"]
    # RSSHub made the image absolute: on the loopback blog, so a public page must not load it
    # (the card falls back to a stock photo); its script is gone.
    assert "<p>正文一，带图。</p>" in one and "127.0.0.1" not in one.split("\n---\n", 2)[2]
    assert "headimg: 'https://picsum.photos/400/300?random=" in one
    assert "<script" not in one and "date: Wed, 01 May 2024 00:00:00 GMT" in one
    two = blog["Second post.md"]
    assert "/images/lazy.png" not in two
    assert "onerror" not in two
    for text in blog.values():
        for image in re.findall(r"<img\b[^>]*>", text):
            assert 'referrerpolicy="no-referrer"' in image, image
    assert "picsum.photos" in blog["Third post.md"]            # no image: the fallback


@pytest.mark.parametrize("params, expected", [
    ("limit = 2", ["Title1", "Title2"]),
    ('filter_title = "Title[13]"', ["Title1", "Title3"]),
    ('filterout = "Title[24]"', ["Title1", "Title3", "Title5"]),
    ('filter_author = "DIYgod4"', ["Title4"]),
    ('filter_description = "Description5"', ["Title5"]),
    ('filter = "title2"\nfilter_case_sensitive = false', ["Title2"]),
    ('filter = "title2"', []),                                 # case-sensitive by default
])
def test_rsshub_parameters_change_the_posts(tmp_path, rsshub, params, expected):
    config = config_for(tmp_path, rsshub, channel("test", "rsshub:/test/1", params))
    result = newsmirror("run", "--config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert titles(tmp_path, "test") == expected


def test_filter_time_keeps_recent_items(tmp_path, rsshub):
    # /test/current_time dates its items 10, 20, … 50 seconds before the request.
    config = config_for(tmp_path, rsshub, channel("now", "rsshub:/test/current_time", "filter_time = 25"))
    assert newsmirror("run", "--config", config).returncode == 0
    assert titles(tmp_path, "now") == ["Title1", "Title2"]


def test_fulltext_mode_makes_rsshub_fetch_each_article(tmp_path, rsshub, server):
    route = serve_next_site(server)
    config = config_for(tmp_path, rsshub, channel("summary", f"rsshub:{route}")
                        + channel("full", f"rsshub:{route}", 'mode = "fulltext"'))
    result = newsmirror("run", "--config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    # Each article page: once for the route itself in each channel, and once more for the
    # full text of the "fulltext" channel.
    for _, path, _, _ in POSTS:
        assert server.hits(f"/{path}") == 3, path
    assert titles(tmp_path, "full") == titles(tmp_path, "summary") == sorted(t for t, *_ in POSTS)


def test_a_route_that_needs_the_internet_fails_alone(tmp_path, rsshub, server):
    """Each failing channel fails alone, and its line gives RSSHub's own reason and the kind
    of failure, in `run` and in `status`: a path RSSHub has no route for, a route that
    threw, a source it could not reach, a source that rate-limits it."""
    server.routes["/archives/"] = Response(429, b"slow down")
    config = config_for(tmp_path, rsshub, channel("offline", "rsshub:/aljazeera/news")
                        + channel("error", "rsshub:/test/error") + channel("test", "rsshub:/test/1")
                        + channel("typo", "rsshub:/aljazera/news")
                        + channel("limited", f"rsshub:/hexo/next/127.0.0.1:{server.port}"))
    started = time.monotonic()
    result = newsmirror("run", "--verbose", "--config", config)
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 30, result.stderr
    # The closing summary: one line per failed channel, with its URL and reason.
    failed = {line.split(" ", 2)[1]: line for line in result.stderr.splitlines()
              if line.startswith("failed: ") and f"({rsshub}/" in line}
    assert sorted(failed) == sorted(f"测试/RSSHub/{name}" for name in ("offline", "error", "typo", "limited"))
    assert failed["测试/RSSHub/offline"].endswith(
        "): RSSHub could not get the source: getaddrinfo ENOTFOUND chinese.aljazeera.net (HTTP 404 Not Found)")
    assert failed["测试/RSSHub/error"].endswith("): the RSSHub route failed: Error: Error test (HTTP 404 Not Found)")
    assert failed["测试/RSSHub/typo"].endswith("): RSSHub has no such route: Error: wrong path (HTTP 404 Not Found)")
    assert failed["测试/RSSHub/limited"].endswith(
        "): rate limited: Response code 429 (Too Many Requests) (HTTP 404 Not Found)")
    assert "Traceback" not in result.stderr and "    at " not in result.stderr
    assert titles(tmp_path, "test") == [f"Title{i}" for i in range(1, 6)]
    rows = {row["channel"]: row for row in json.loads(newsmirror("status", "--json", "--config", config).stdout)}
    assert rows["测试/RSSHub/offline"]["failures"] == 1 and rows["测试/RSSHub/test"]["items"] == 5
    assert rows["测试/RSSHub/typo"]["last_error"] == "RSSHub has no such route: Error: wrong path (HTTP 404 Not Found)"
    status = newsmirror("status", "--config", config).stdout
    assert ("测试/RSSHub/offline: 0 items, last ok never, last new item never, next fetch 2021-08-07T02:27:05+00:00,"
            " 1 failure in a row, last error: RSSHub could not get the source: getaddrinfo ENOTFOUND"
            " chinese.aljazeera.net (HTTP 404 Not Found)\n") in status


def test_per_host_limit_holds_at_the_instance(tmp_path, rsshub):
    """Measured on the server side: a counting proxy in front of RSSHub."""
    proxy = CountingProxy(rsshub, delay=0.3)
    try:
        body = "".join(channel(f"c{i}", f"rsshub:/test/{i}") for i in range(1, 9))
        config = config_for(tmp_path, proxy.base, body, "concurrency = 16\nper_host = 2")
        result = newsmirror("run", "--config", config)
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(proxy.requests) == 8
        assert proxy.max_active == 2
    finally:
        proxy.close()


def test_second_run_is_conditional(tmp_path, rsshub):
    """RSSHub sends ETag and Last-Modified; newsmirror sends them back. RSSHub 1.0.0 itself
    still answers 200 (nothing is rewritten: the content is the same); behind a proxy that
    honours them (as a caching proxy or a newer RSSHub does) the answer is 304."""
    proxy = CountingProxy(rsshub)
    try:
        config = config_for(tmp_path, proxy.base, channel("a", "rsshub:/test/1") + channel("b", "rsshub:/test/2"))
        assert newsmirror("run", "--config", config).returncode == 0
        first = {path: (tmp_path / "site" / path).stat().st_mtime_ns for path in posts_in(tmp_path)}
        assert all("If-None-Match" not in headers for _, headers in proxy.requests)
        etags = {path: headers for path, headers in proxy.requests}

        second = newsmirror("run", "--config", config)
        assert second.returncode == 0
        assert "10 unchanged" in second.stdout
        resent = proxy.requests[2:]
        assert len(resent) == 2 and all(h.get("If-None-Match", "").startswith('"') for _, h in resent)
        assert all(h.get("If-Modified-Since") for _, h in resent)
        assert proxy.statuses[2:] == [200, 200]
        assert {p: (tmp_path / "site" / p).stat().st_mtime_ns for p in posts_in(tmp_path)} == first

        proxy.conditional = True
        third = newsmirror("run", "--config", config)
        assert third.returncode == 0
        assert "feeds: 0 ok, 2 not modified" in third.stdout
        assert proxy.statuses[4:] == [304, 304]
        assert {p: (tmp_path / "site" / p).stat().st_mtime_ns for p in posts_in(tmp_path)} == first
        assert etags  # the first run's requests were seen
    finally:
        proxy.close()


def test_the_catalogue_of_a_real_instance_names_its_routes(tmp_path, rsshub):
    """`catalog --source <instance base>` reads RSSHub 1.0's /api/routes; the bundled
    namespace table names namespaces and routes, in either language, and a pasted pattern
    is a config error that names its parameter."""
    found = newsmirror("catalog", "--source", rsshub, "知乎", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert "社交媒体 / 知乎 / 知乎日报 - 合集  /zhihu/daily/section/2" in lines
    assert all(line.startswith("社交媒体 / 知乎 / ") for line in lines) and len(lines) >= 10
    by_path = newsmirror("catalog", "--source", rsshub + "/", "zhihu", cwd=tmp_path)
    assert by_path.stdout == found.stdout
    english = newsmirror("catalog", "--source", rsshub, "--lang", "en", "zhihu", "daily", cwd=tmp_path).stdout
    assert "Social Media / 知乎 / 知乎日报 - 合集  /zhihu/daily/section/2\n" in english
    toml = newsmirror("catalog", "--source", rsshub, "--toml", "知乎日报", cwd=tmp_path).stdout
    assert ('[[route]]\n# 社交媒体 / 知乎 / 知乎日报 - 合集\n# /zhihu/daily/section/:sectionId: the documented '
            'example; put your own :sectionId\npath = "/zhihu/daily/section/2"\n') in toml
    # A pattern the table has no example for is printed to be filled in, and refused as it is.
    posts = newsmirror("catalog", "--source", rsshub, "--toml", "zhihu", "people posts", cwd=tmp_path).stdout
    assert posts == '[[route]]\n# 社交媒体 / 知乎 / people posts\n# fill in :id\npath = "/zhihu/people/posts/:id"\n\n'
    config = config_for(tmp_path, rsshub, '\n[[route]]\npath = "/zhihu/people/posts/:id"\n')
    result = newsmirror("run", "--config", config)
    assert result.returncode == 2
    assert result.stderr == (f"newsmirror: error: {config}: route #1 (/zhihu/people/posts/:id): route path "
                             "/zhihu/people/posts/:id has an unfilled parameter :id: put a value in its place\n")
