"""A deterministic benchmark corpus: N feeds x M items of 3-8 KB HTML, Chinese and English.

Two shapes of body, same seed, same bytes:

* ``rsshub``: what RSSHub routes serve: paragraphs and absolute images, nothing to repair
  but a ``referrerpolicy`` on each image;
* ``web``: what sites' own feeds (WordPress, news CMSs) serve: headings, links and several
  images per body, relative URLs, lazy ``data-src`` images behind a placeholder GIF,
  ``<figure>``s, ``<style>`` blocks (some scoped to the body's class, some reaching the
  page, which must go), inline styles; every tenth feed entity-heavy (``&nbsp;``, ``&#8217;``
  …), every fifteenth served in GBK.

Every fifth feed is Atom 1.0, the rest RSS 2.0.

    python bench/corpus.py bench/work/corpus --feeds 1000 --items 20 [--shape web]
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

ZH = ("开源 社区 发布 版本 更新 性能 安全 漏洞 修复 数据库 编译器 框架 服务器 网络 存储 "
      "人工智能 模型 训练 芯片 手机 游戏 玩家 市场 融资 公司 用户 平台 功能 体验 测试").split()
EN = ("open source release version update performance security fix database compiler framework "
      "server network storage model training chip phone game player market funding company "
      "user platform feature experience test").split()


def sentence(rng: random.Random, chinese: bool) -> str:
    words = [rng.choice(ZH if chinese else EN) for _ in range(rng.randint(8, 20))]
    if chinese:
        return "".join(words) + "。"
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def body(rng: random.Random, chinese: bool, feed: int, index: int) -> str:
    """An RSSHub-shaped body: paragraphs, an absolute image every fourth block."""
    target = rng.randint(3000, 8000)
    parts = []
    size = 0
    n = 0
    while size < target:
        if n % 4 == 1:
            chunk = (f'<p><img src="https://img.example.com/{feed}/{index}/{n}.jpg" '
                     f'alt="figure {n}"></p>')
        else:
            chunk = "<p>" + " ".join(sentence(rng, chinese) for _ in range(rng.randint(2, 5))) + "</p>\n"
        parts.append(chunk)
        size += len(chunk.encode())
        n += 1
    return "".join(parts)


_PLACEHOLDER = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
_ENTITY_WORDS = ("&nbsp;", "&mdash;", "&#8217;", "&ldquo;", "&rdquo;", "&hellip;", "&amp;",
                 "&#160;", "&#x2014;", "&laquo;", "&raquo;")


def _web_text(rng: random.Random, chinese: bool, entities: bool) -> str:
    text = " ".join(sentence(rng, chinese) for _ in range(rng.randint(2, 5)))
    if entities:
        words = text.split(" ")
        text = " ".join(w + rng.choice(_ENTITY_WORDS) if rng.random() < 0.3 else w for w in words)
    if rng.random() < 0.4:
        cut = rng.randint(0, len(text))
        text = (f'{text[:cut]}<a href="/{rng.choice(("tag", "topic", "news"))}/{rng.randint(1, 999)}">'
                f'{sentence(rng, chinese)[:12]}</a>{text[cut:]}')
    if rng.random() < 0.2:
        text = f"<strong>{sentence(rng, chinese)[:20]}</strong> {text}"
    return text


def _web_image(rng: random.Random, feed: int, index: int, n: int) -> str:
    path = f"/wp-content/uploads/2022/03/{feed}-{index}-{n}.jpg"
    kind = rng.randrange(5)
    if kind == 0:      # relative
        return f'<p><img src="{path}" alt="figure {n}" width="800" height="450"></p>'
    if kind == 1:      # lazy, behind a placeholder
        return (f'<p><img class="lazy" src="{_PLACEHOLDER}" data-src="https://cdn{feed % 7}.example.net{path}" '
                f'alt="figure {n}"></p>')
    if kind == 2:      # lazy, no src at all
        return f'<p><img data-original="https://img{feed % 5}.example.org{path}" alt=""></p>'
    if kind == 3:      # a figure with a caption
        return (f'<figure class="wp-block-image size-large"><img loading="lazy" '
                f'src="https://site{feed}.example.com{path}" alt="figure {n}" '
                f'srcset="https://site{feed}.example.com{path} 1024w, https://site{feed}.example.com{path}?w=300 300w" '
                f'sizes="(max-width: 1024px) 100vw, 1024px"/><figcaption>Figure {n}</figcaption></figure>')
    return f'<p style="text-align:center"><img src="http://img.example.com/{feed}/{index}/{n}.png"></p>'


_SCOPED_STYLE = "<style>.entry-content img{max-width:100%;height:auto}.entry-content h3{margin:1em 0}</style>"
_PAGE_STYLE = "<style>body{background:#fff}.site-header{display:none}</style>"


def web_body(rng: random.Random, chinese: bool, feed: int, index: int, entities: bool) -> str:
    """A body as a site's own feed serves it (see the module's docstring)."""
    target = rng.randint(3000, 8000)
    parts = ['<div class="entry-content">']
    if rng.random() < 0.3:
        parts.append(_SCOPED_STYLE if rng.random() < 0.7 else _PAGE_STYLE)
    size = 0
    n = 0
    while size < target:
        if n % 3 == 1:
            chunk = _web_image(rng, feed, index, n)
        elif n % 5 == 0:
            chunk = f"<h3>{sentence(rng, chinese)[:30]}</h3>\n"
        elif n % 7 == 6:
            chunk = f'<blockquote style="border-left:3px solid #ccc"><p>{_web_text(rng, chinese, entities)}</p></blockquote>\n'
        else:
            chunk = f"<p>{_web_text(rng, chinese, entities)}</p>\n"
        parts.append(chunk)
        size += len(chunk.encode())
        n += 1
    parts.append("</div>")
    return "".join(parts)


def rss_feed(rng: random.Random, feed: int, items: int, chinese: bool, start: datetime,
             make_body=None, encoding: str = "UTF-8") -> str:
    make_body = make_body or body
    out = [f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
           f"<title>Feed {feed}</title><link>https://site{feed}.example.com/</link>"
           f"<description>benchmark feed {feed}</description>"]
    for i in range(items):
        when = start - timedelta(minutes=37 * i)
        title = sentence(rng, chinese)[:40]
        out.append(
            f"<item><title><![CDATA[{title} {feed}-{i}]]></title>"
            f"<link>https://site{feed}.example.com/a/{i}</link>"
            f'<guid isPermaLink="false">feed{feed}-item{i}</guid>'
            f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
            f"<description><![CDATA[{make_body(rng, chinese, feed, i)}]]></description></item>"
        )
    out.append("</channel></rss>\n")
    return "".join(out)


def atom_feed(rng: random.Random, feed: int, items: int, chinese: bool, start: datetime,
              make_body=None) -> str:
    make_body = make_body or body
    out = [f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
           f"<title>Feed {feed}</title><id>urn:feed:{feed}</id>"
           f'<link href="https://site{feed}.example.com/"/><updated>{start.isoformat()}</updated>']
    for i in range(items):
        when = start - timedelta(minutes=37 * i)
        title = sentence(rng, chinese)[:40]
        out.append(
            f"<entry><title>{escape(title)} {feed}-{i}</title><id>urn:feed:{feed}:{i}</id>"
            f'<link href="https://site{feed}.example.com/a/{i}"/>'
            f"<published>{when.isoformat()}</published><updated>{when.isoformat()}</updated>"
            f'<content type="html">{escape(make_body(rng, chinese, feed, i))}</content></entry>'
        )
    out.append("</feed>\n")
    return "".join(out)


SHAPES = ("rsshub", "web")


def generate(folder: Path, feeds: int, items: int, seed: int = 2022, shape: str = "rsshub") -> list[str]:
    """Write the feeds; return their file names."""
    if shape not in SHAPES:
        raise ValueError(f"unknown corpus shape {shape!r}; one of {', '.join(SHAPES)}")
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2022, 3, 1, 12, 0, tzinfo=timezone.utc)
    names = []
    for feed in range(feeds):
        rng = random.Random(seed * 100_003 + feed)
        chinese = feed % 2 == 0
        make_body = body
        encoding = "utf-8"
        if shape == "web":
            entities = feed % 10 == 3
            make_body = lambda r, c, f, i, e=entities: web_body(r, c, f, i, e)  # noqa: E731
            if chinese and feed % 15 == 0:
                encoding = "gbk"
        if feed % 5 == 4:
            name, text = f"{feed:04d}.atom", atom_feed(rng, feed, items, chinese, start, make_body)
        else:
            name, text = f"{feed:04d}.xml", rss_feed(rng, feed, items, chinese, start, make_body,
                                                     "UTF-8" if encoding == "utf-8" else encoding)
        (folder / name).write_text(text, encoding=encoding)
        names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--shape", choices=SHAPES, default="rsshub")
    args = parser.parse_args()
    names = generate(args.folder, args.feeds, args.items, shape=args.shape)
    print(f"{len(names)} feeds in {args.folder}")


if __name__ == "__main__":
    main()
