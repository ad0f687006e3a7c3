"""What readers see of an item's picture and title, through the CLI: lazy-loading
placeholders give way to the real image (in the post and as its lead image), the stand-in
for an item without a picture is a setting, and ``[output] titles = "exact"`` keeps the
title as it is while file names stay safe."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import Response, channel_toml, item, newsmirror, posts_in, rss

GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"
LAZY = {
    "data-src": f'<p>火情</p><img src="{GIF}" data-src="/img/fire.png" alt="火">',
    "data-original": '<img src="/static/images/blank.gif" data-original="https://cdn.news.example/a.jpg">',
    "data-lazy-src": f'<img src="{SVG}" data-lazy-src="//cdn.news.example/b.webp">',
    "srcset": (f'<img src="{GIF}" srcset="https://cdn.news.example/s.jpg 320w, '
               'https://cdn.news.example/l.jpg 1280w, https://cdn.news.example/m.jpg 640w">'),
    "data-srcset": '<img src="/img/loading.gif" data-srcset="/img/c-1x.jpg 1x, /img/c-2x.jpg 2x">',
    "noscript": (f'<img class="lazy" src="{GIF}" data-lazy="x">\n'
                 '<noscript><img src="/img/d.jpg" alt="d"></noscript><p>after</p>'),
}
REAL = {
    "data-src": "https://news.example/img/fire.png",
    "data-original": "https://cdn.news.example/a.jpg",
    "data-lazy-src": "https://cdn.news.example/b.webp",
    "srcset": "https://cdn.news.example/l.jpg",
    "data-srcset": "https://news.example/img/c-2x.jpg",
    "noscript": "https://news.example/img/d.jpg",
}


def front_matter(data: bytes) -> dict:
    return yaml.safe_load(data.decode().split("---\n")[1])


def run(tmp_path, server, feeds: dict[str, bytes], output_extra: str = "") -> dict[str, bytes]:
    channels = []
    for name, body in feeds.items():
        server.routes[f"/{name}"] = Response(200, body, {"Content-Type": "application/rss+xml"})
        channels.append(channel_toml("g", "s", name, server.url(f"/{name}")))
    config = tmp_path / "newsmirror.toml"
    config.write_text(f'[output]\ndir = "site"\n{output_extra}\n[fetch]\ntimeout = 5\nretries = 0\n'
                      + "".join(channels), encoding="utf-8")
    result = newsmirror("run", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    return {path.split("/", 4)[4]: data for path, data in posts_in(tmp_path).items()}


def test_a_placeholder_gives_way_to_the_real_image(tmp_path, server):
    feeds = {name: rss(item(name, name, body, link=f"https://news.example/story/{name}.html"))
             for name, body in LAZY.items()}
    posts = run(tmp_path, server, feeds)
    for name, real in REAL.items():
        data = posts[f"{name}/{name}.md"]
        text = data.decode()
        meta = front_matter(data)
        assert meta["headimg"] == meta["thumbnail"] == real, name
        images = re.findall(r"<img\b[^>]*>", text)
        assert len(images) == 1, (name, images)
        assert f'src="{real}"' in images[0] and 'referrerpolicy="no-referrer"' in images[0], images
        assert "data:image" not in images[0].split("srcset")[0] and "blank.gif" not in text, name
        assert "picsum" not in text and "<noscript" not in text, name
    assert "<p>after</p>" in posts["noscript/noscript.md"].decode()


@pytest.mark.parametrize("body", [
    f'<img src="{GIF}">',                                         # a placeholder with nothing better
    f'<img src="{GIF}" data-src="javascript:alert(1)">',           # a "real" image that is not one
    f'<img src="{GIF}" data-src="http://127.0.0.1:8080/x.png">',  # nor one on a private host
])
def test_a_placeholder_without_a_real_image_is_no_lead_image(tmp_path, server, body):
    posts = run(tmp_path, server, {"c": rss(item("t", "t", body))})
    meta = front_matter(posts["c/t.md"])
    assert meta["headimg"].startswith("https://picsum.photos/400/300?random=")
    assert f'<img src="{GIF}"' in posts["c/t.md"].decode() and ' src="javascript' not in posts["c/t.md"].decode()


@pytest.mark.parametrize("setting, expected", [
    ("", r"https://picsum\.photos/400/300\?random=\d+"),           # the reference's, by default
    ('fallback_image = "picsum"', r"https://picsum\.photos/400/300\?random=\d+"),
    ('fallback_image = ""', ""),
    ('fallback_image = "https://news.example/logo.png"', r"https://news\.example/logo\.png"),
])
def test_the_posts_stand_in_for_an_item_without_a_picture(tmp_path, server, setting, expected):
    posts = run(tmp_path, server, {"c": rss(item("t", "t", "<p>words only</p>"), item("p", "p", LAZY["srcset"]))},
                output_extra=setting)
    assert re.fullmatch(expected, front_matter(posts["c/t.md"])["headimg"])
    assert front_matter(posts["c/p.md"])["headimg"] == REAL["srcset"]


def test_a_bad_fallback_image_is_a_config_error(tmp_path):
    config = tmp_path / "newsmirror.toml"
    for table, value in (("output", "random"), ("site", "picsum"), ("site", "/logo.png")):
        config.write_text(f'[{table}]\nfallback_image = "{value}"\n', encoding="utf-8")
        result = newsmirror("run", "--config", str(config))
        assert result.returncode == 2 and f"[{table}] fallback_image must be" in result.stderr
        assert "\n" not in result.stderr.strip()
    config.write_text('[output]\ntitles = "raw"\n', encoding="utf-8")
    result = newsmirror("run", "--config", str(config))
    assert result.returncode == 2 and "[output] titles must be one of ('reference', 'exact'), not 'raw'" in result.stderr


TITLES = ["Photo essay: the last steam train", "Q&A | “Why?” [video] 1/2 <live>",
          "It's 100% \"done\"", "冒号：问号？与 / 斜杠"]


@pytest.mark.parametrize("style", ["reference", "exact"])
def test_titles_exact_or_as_the_reference_wrote_them(tmp_path, server, style):
    feed = rss(*(item(title, f"t{n}") for n, title in enumerate(TITLES)))
    posts = run(tmp_path, server, {"c": feed}, output_extra=f'titles = "{style}"')
    by_title = {front_matter(data)["title"]: name for name, data in posts.items()}
    if style == "exact":
        assert sorted(by_title) == sorted(TITLES)
    else:
        assert sorted(by_title) == sorted(re.sub(r"[:/\\?*“”<>|\[\]]", "_", t) for t in TITLES)
        assert "Photo essay_ the last steam train" in by_title
    # File names stay safe either way, and the same.
    assert sorted(by_title.values()) == sorted([
        "c/Photo essay_ the last steam train.md", "c/Q&A _ _Why__ _video_ 1_2 _live_.md",
        'c/It\'s 100％ "done".md', "c/冒号：问号？与 _ 斜杠.md"])


def test_switching_to_exact_titles_rewrites_the_posts_in_place(tmp_path, server):
    feed = rss(item(TITLES[0], "t0"))
    first = run(tmp_path, server, {"c": feed})
    second = run(tmp_path, server, {"c": feed}, output_extra='titles = "exact"')
    assert list(first) == list(second) == ["c/Photo essay_ the last steam train.md"]
    assert front_matter(second["c/Photo essay_ the last steam train.md"])["title"] == TITLES[0]
    assert first[list(first)[0]].replace(b"essay_ the", b"essay: the") == second[list(second)[0]]
