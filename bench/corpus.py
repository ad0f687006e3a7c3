"""A deterministic benchmark corpus: N feeds x M items of 3-8 KB HTML, Chinese and English.

Every fifth feed is Atom 1.0, the rest RSS 2.0 (as RSSHub serves them). Same seed, same bytes.

    python bench/corpus.py bench/work/corpus --feeds 1000 --items 20
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


def rss_feed(rng: random.Random, feed: int, items: int, chinese: bool, start: datetime) -> str:
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
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
            f"<description><![CDATA[{body(rng, chinese, feed, i)}]]></description></item>"
        )
    out.append("</channel></rss>\n")
    return "".join(out)


def atom_feed(rng: random.Random, feed: int, items: int, chinese: bool, start: datetime) -> str:
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
            f'<content type="html">{escape(body(rng, chinese, feed, i))}</content></entry>'
        )
    out.append("</feed>\n")
    return "".join(out)


def generate(folder: Path, feeds: int, items: int, seed: int = 2022) -> list[str]:
    """Write the feeds; return their file names."""
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2022, 3, 1, 12, 0, tzinfo=timezone.utc)
    names = []
    for feed in range(feeds):
        rng = random.Random(seed * 100_003 + feed)
        chinese = feed % 2 == 0
        if feed % 5 == 4:
            name, text = f"{feed:04d}.atom", atom_feed(rng, feed, items, chinese, start)
        else:
            name, text = f"{feed:04d}.xml", rss_feed(rng, feed, items, chinese, start)
        (folder / name).write_text(text, encoding="utf-8")
        names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    args = parser.parse_args()
    names = generate(args.folder, args.feeds, args.items)
    print(f"{len(names)} feeds in {args.folder}")


if __name__ == "__main__":
    main()
