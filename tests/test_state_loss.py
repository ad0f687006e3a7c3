"""Losing the state loses nothing: posts on disk that the state does not know are adopted (so
the site keeps them), claimed by their items when those come back, never duplicated or
rewritten; `status` says when there are such posts."""

from __future__ import annotations

import shutil

from conftest import EPOCH, Response, channel_toml, item, newsmirror, posts_in, rss, write_config


def _dateless(title: str, guid: str) -> str:
    return item(title, guid).replace("<pubDate>Sat, 22 Jan 2022 12:16:05 GMT</pubDate>", "")


def _run(config, at: int = 0):
    result = newsmirror("run", "--all", "--config", str(config),
                        env_extra={"SOURCE_DATE_EPOCH": str(int(EPOCH) + at)})
    assert result.returncode == 0, result.stderr
    return result


def _mtimes(tmp_path):
    return {str(p): p.stat().st_mtime_ns for p in (tmp_path / "site").rglob("*.md")}


def test_deleting_the_state_keeps_every_post_on_the_site(tmp_path, server):
    server.routes["/f.xml"] = Response(200, rss(item("Alpha", "a"), item("Beta", "b"),
                                                _dateless("Gamma", "c")))
    config = write_config(tmp_path, [channel_toml("新闻", "Example", "World", server.url("/f.xml"))])
    config.write_text(config.read_text() + "\n[site]\nenabled = true\nsearch = false\n", encoding="utf-8")
    _run(config)
    before = posts_in(tmp_path)
    mtimes = _mtimes(tmp_path)
    assert len(before) == 3

    # The feed moves on (Alpha and Beta leave it), and the state is lost.
    server.routes["/f.xml"] = Response(200, rss(_dateless("Gamma", "c"), item("Delta", "d")))
    shutil.rmtree(tmp_path / "site" / ".newsmirror")
    result = _run(config, at=1000)
    assert "adopted 3 posts on disk that the state did not know" in result.stdout, result.stdout
    assert "items: 1 new, 0 updated, 1 unchanged" in result.stdout, result.stdout
    after = posts_in(tmp_path)
    assert len(after) == 4
    for path, data in before.items():  # not rewritten, byte for byte (the dateless one too)
        assert after[path] == data
    assert all(_mtimes(tmp_path)[path] == mtime for path, mtime in mtimes.items())
    pages = {p.name for p in (tmp_path / "site" / "public" / "posts").rglob("*.html")}
    assert pages == {"Alpha.html", "Beta.html", "Gamma.html", "Delta.html"}

    # Alpha comes back: its item claims its post; nothing is written twice.
    server.routes["/f.xml"] = Response(200, rss(item("Alpha", "a"), _dateless("Gamma", "c"),
                                                item("Delta", "d")))
    result = _run(config, at=2000)
    assert "adopted" not in result.stdout
    assert "items: 0 new, 0 updated, 3 unchanged" in result.stdout, result.stdout
    assert posts_in(tmp_path) == after
    status = newsmirror("status", "--config", str(config))
    assert "not in the state" not in status.stdout + status.stderr


def test_status_warns_of_posts_the_state_does_not_know(tmp_path, server):
    server.routes["/f.xml"] = Response(200, rss(item("Alpha", "a")))
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/f.xml"))])
    _run(config)
    (post,) = (tmp_path / "site").rglob("Alpha.md")
    shutil.copy(post, post.with_name("Older.md"))
    status = newsmirror("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert "! 1 post file on disk is not in the state" in status.stdout, status.stdout
    result = _run(config, at=10)
    assert "adopted 1 post on disk" in result.stdout, result.stdout
    status = newsmirror("status", "--config", str(config))
    assert "not in the state" not in status.stdout


def test_a_file_that_is_not_a_post_is_left_alone_and_its_name_kept(tmp_path, server):
    server.routes["/f.xml"] = Response(200, rss(item("Alpha", "a")))
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/f.xml"))])
    folder = tmp_path / "site" / "source" / "_posts" / "g" / "s" / "c"
    folder.mkdir(parents=True)
    (folder / "Alpha.md").write_text("my own notes\n", encoding="utf-8")
    result = _run(config)
    assert "adopted" not in result.stdout
    assert (folder / "Alpha.md").read_text(encoding="utf-8") == "my own notes\n"
    names = sorted(p.name for p in folder.glob("*.md"))
    assert len(names) == 2 and names[0].startswith("Alpha-"), names
