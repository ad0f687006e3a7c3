"""Posts that follow their channel, and posts that go, through the CLI: a channel whose levels
change (same URL) moves its posts; `newsmirror prune` removes what the mirror no longer owns;
``max_age`` removes old posts, globally and per channel."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import EPOCH, Response, channel_toml, item, newsmirror, rss

FEED = rss(item("First story", "a1", date="Sat, 07 Aug 2021 01:00:00 GMT"),
           item("Second story", "a2", date="Fri, 06 Aug 2021 01:00:00 GMT"))
DAY = 86400


def configure(tmp_path, channels: str, output: str = "") -> Path:
    config = tmp_path / "newsmirror.toml"
    config.write_text(f'[output]\ndir = "site"\n{output}\n[fetch]\ntimeout = 5\nretries = 0\n{channels}',
                      encoding="utf-8")
    return config


def tree(tmp_path) -> dict[str, tuple[bytes, float]]:
    root = tmp_path / "site" / "source" / "_posts"
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime)
            for p in sorted(root.rglob("*")) if p.is_file()}


def run(config, *extra, at: int | None = None):
    env = {"SOURCE_DATE_EPOCH": str(at)} if at is not None else None
    result = newsmirror("run", *extra, "--config", str(config), env_extra=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_a_channel_whose_levels_change_moves_its_posts(tmp_path, server):
    server.routes["/feed"] = Response(200, FEED)
    config = configure(tmp_path, channel_toml("新闻", "Old Name", "World", server.url("/feed")))
    run(config)
    before = tree(tmp_path)
    assert sorted(before) == ["新闻/Old Name/World/First story.md", "新闻/Old Name/World/Second story.md"]
    config.write_text(config.read_text("utf-8").replace('site = "Old Name"', 'site = "Harbour Daily"'),
                      encoding="utf-8")
    dry = run(config, "--dry-run")
    assert "would move 2 posts: 新闻/Old Name/World -> 新闻/Harbour Daily/World" in dry.stdout
    assert tree(tmp_path) == before
    moved = run(config)
    assert "moved 2 posts: 新闻/Old Name/World -> 新闻/Harbour Daily/World (the channel's levels changed)" \
        in moved.stdout
    # The same posts, rewritten in place: their front matter names the new levels.
    assert "0 new, 2 updated" in moved.stdout + moved.stderr
    after = tree(tmp_path)
    assert {path: data for path, (data, _) in after.items()} == {
        path.replace("Old Name", "Harbour Daily"): data.replace(b"Old Name", b"Harbour Daily")  # categories and author
        for path, (data, _) in before.items()}
    assert not (tmp_path / "site" / "source" / "_posts" / "新闻" / "Old Name").exists()
    rows = json.loads(newsmirror("status", "--json", "--config", str(config)).stdout)
    assert [(row["channel"], row["items"]) for row in rows] == [("新闻/Harbour Daily/World", 2)]
    assert "moved " not in run(config).stdout.replace("removed", "")


def test_an_interrupted_move_is_finished_and_a_clash_moves_nothing(tmp_path, server):
    server.routes["/feed"] = Response(200, FEED)
    config = configure(tmp_path, channel_toml("g", "s", "old", server.url("/feed")))
    run(config)
    posts = tmp_path / "site" / "source" / "_posts" / "g" / "s"
    # A move cut short: one file already in the new folder.
    (posts / "new").mkdir()
    os.rename(posts / "old" / "First story.md", posts / "new" / "First story.md")
    config.write_text(config.read_text("utf-8").replace('channel = "old"', 'channel = "new"'), encoding="utf-8")
    assert "moved 2 posts: g/s/old -> g/s/new" in run(config).stdout
    assert sorted(tree(tmp_path)) == ["g/s/new/First story.md", "g/s/new/Second story.md"]
    # A foreign file in the way: nothing moves, and it says why.
    (posts / "third").mkdir()
    (posts / "third" / "Second story.md").write_text("my own notes\n", encoding="utf-8")
    config.write_text(config.read_text("utf-8").replace('channel = "new"', 'channel = "third"'), encoding="utf-8")
    result = newsmirror("run", "--config", str(config))
    assert "not moved: g/s/new -> g/s/third:" in result.stderr and "already exists" in result.stderr
    assert (posts / "new" / "First story.md").exists() and (posts / "new" / "Second story.md").exists()
    assert (posts / "third" / "Second story.md").read_text(encoding="utf-8") == "my own notes\n"


def test_prune_removes_what_the_mirror_no_longer_owns_and_nothing_else(tmp_path, server):
    server.routes["/a"] = Response(200, FEED)
    server.routes["/b"] = Response(200, rss(item("Only story", "b1")))
    both = channel_toml("g", "s", "a", server.url("/a")) + channel_toml("g", "s", "b", server.url("/b"))
    config = configure(tmp_path, both)
    run(config)
    posts = tmp_path / "site" / "source" / "_posts"
    # A Hexo site's own post, a note, and a post of ours left in a folder of no channel.
    (posts / "about.md").write_text("---\ntitle: About\n---\nhello\n", encoding="utf-8")
    (posts / "x" / "y" / "z").mkdir(parents=True)
    (posts / "x" / "y" / "z" / "notes.md").write_text("not a post of ours\n", encoding="utf-8")
    (posts / "x" / "y" / "z" / "Stray.md").write_bytes((posts / "g" / "s" / "b" / "Only story.md").read_bytes())
    config.write_text(configure(tmp_path, channel_toml("g", "s", "a", server.url("/a"))).read_text("utf-8"),
                      encoding="utf-8")
    status = newsmirror("status", "--config", str(config)).stdout
    assert "! 2 posts are no longer the mirror's: `newsmirror prune --dry-run` lists them" in status
    before = tree(tmp_path)
    dry = newsmirror("prune", "--dry-run", "--config", str(config))
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "would remove: g/s/b/Only story.md (its channel is no longer in the config)",
        "would remove: x/y/z/Stray.md (in no channel's folder of the config)",
        "dry run, nothing removed: would remove 2 posts (1 of channels no longer in the config, "
        "1 in no channel's folder)"]
    assert tree(tmp_path) == before
    done = newsmirror("prune", "--config", str(config))
    assert done.returncode == 0 and done.stdout.endswith(
        "removed 2 posts (1 of channels no longer in the config, 1 in no channel's folder)\n")
    assert sorted(tree(tmp_path)) == ["about.md", "g/s/a/First story.md", "g/s/a/Second story.md",
                                      "x/y/z/notes.md"]
    assert not (posts / "g" / "s" / "b").exists()
    assert "no longer the mirror's" not in newsmirror("status", "--config", str(config)).stdout
    assert newsmirror("prune", "--config", str(config)).stdout == "removed 0 posts\n"


def test_max_age_keeps_old_items_out_and_removes_old_posts(tmp_path, server):
    now = int(EPOCH)  # 2021-08-07
    server.routes["/a"] = Response(200, rss(
        item("Fresh", "f", date="Fri, 06 Aug 2021 00:00:00 GMT"),
        item("Month old", "m", date="Tue, 06 Jul 2021 00:00:00 GMT"),
        item("Year old", "y", date="Thu, 06 Aug 2020 00:00:00 GMT")))
    server.routes["/b"] = Response(200, rss(item("Month old too", "m2", date="Tue, 06 Jul 2021 00:00:00 GMT")))
    config = configure(tmp_path, channel_toml("g", "s", "a", server.url("/a"))
                       + channel_toml("g", "s", "b", server.url("/b"), 'max_age = "400d"'),
                       output='max_age = "60d"')
    run(config, at=now)
    assert sorted(tree(tmp_path)) == ["g/s/a/Fresh.md", "g/s/a/Month old.md", "g/s/b/Month old too.md"]
    # Forty days on, the month-old posts are past 60 days (the channel with 400 keeps its own).
    later = run(config, at=now + 40 * DAY)
    assert "1 removed" in later.stdout
    assert sorted(tree(tmp_path)) == ["g/s/a/Fresh.md", "g/s/b/Month old too.md"]
    # prune does the same without fetching, for a channel the run did not fetch.
    config.write_text(config.read_text("utf-8").replace('max_age = "400d"', 'max_age = "30d"'), encoding="utf-8")
    result = newsmirror("prune", "--config", str(config), env_extra={"SOURCE_DATE_EPOCH": str(now + 40 * DAY)})
    assert result.stdout.splitlines()[-1] == "removed 1 post (1 older than max_age)"
    assert sorted(tree(tmp_path)) == ["g/s/a/Fresh.md"]
    bad = configure(tmp_path, "", output='max_age = "soon"')
    result = newsmirror("prune", "--config", str(bad))
    assert result.returncode == 2 and '[output] max_age must be a duration such as "15m"' in result.stderr
