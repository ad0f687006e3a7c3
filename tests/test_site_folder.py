"""The site's own folder ([site] dir), and a build that notices pages changed behind its back."""

from __future__ import annotations

import shutil

from newsmirror.config import load_config

from conftest import Response, channel_toml, item, newsmirror, rss, write_config


def mirror(tmp_path, server, site_extra: str = ""):
    server.routes["/world"] = Response(200, rss(*[item(f"Story {n}", f"story-{n}", f"<p>Body {n}</p>")
                                                  for n in range(3)]))
    config = write_config(tmp_path, [channel_toml("新闻", "Daily", "World", server.url("/world"))])
    config.write_text(config.read_text("utf-8") + f"\n[site]\nsearch = false\n{site_extra}",
                      encoding="utf-8")
    assert newsmirror("run", "--config", str(config)).returncode == 0
    return config


def build(config, *args):
    result = newsmirror("build", "--config", str(config), *args)
    assert result.returncode == 0, result.stderr
    return result


def test_the_site_is_rendered_into_its_own_folder(tmp_path, server):
    config = mirror(tmp_path, server, 'dir = "www"')
    built = build(config)
    assert (tmp_path / "www" / "index.html").is_file()
    assert (tmp_path / "www" / "posts" / "新闻" / "Daily" / "World" / "Story 1.html").is_file()
    assert not (tmp_path / "site" / "public").exists()       # Hexo's output folder is left to it
    assert f"site: {tmp_path / 'www'} " in built.stdout
    assert load_config(config).public_dir == tmp_path / "www"


def test_the_default_stays_hexo_s_public_folder(tmp_path, server):
    config = mirror(tmp_path, server)
    build(config)
    assert (tmp_path / "site" / "public" / "index.html").is_file()


def test_a_site_folder_that_would_hold_the_posts_or_the_state_is_a_config_error(tmp_path):
    for folder, what in (("site", "would hold the posts"), (".", "would hold the posts"),
                         ("site/.newsmirror", "would hold the state"),
                         ("site/source/_posts/www", "inside the posts folder")):
        config = write_config(tmp_path, [channel_toml("g", "s", "c", "https://feeds.example/a.xml")])
        config.write_text(config.read_text("utf-8") + f'\n[site]\ndir = "{folder}"\n', encoding="utf-8")
        result = newsmirror("build", "--config", str(config))
        assert result.returncode == 2, (folder, result.stdout, result.stderr)
        assert "[site] dir" in result.stderr and what in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_a_page_changed_or_removed_by_another_program_is_noticed_and_written_again(tmp_path, server):
    config = mirror(tmp_path, server)
    build(config)
    public = tmp_path / "site" / "public"
    article = public / "posts" / "新闻" / "Daily" / "World" / "Story 1.html"
    ours = article.read_bytes(), (public / "index.html").read_bytes()

    quiet = build(config)                                  # nothing touched: nothing said
    assert "0 pages written" in quiet.stdout and "rewrote" not in quiet.stderr

    article.write_bytes(b"<html>another program's page</html>")
    (public / "index.html").unlink()
    again = build(config)
    assert "site: rewrote 2 pages that something other than newsmirror had changed or removed" \
        in again.stderr, again.stderr
    assert "2 pages written" in again.stdout
    assert (article.read_bytes(), (public / "index.html").read_bytes()) == ours
    assert "Hexo" not in again.stderr                      # not a Hexo site: no advice about it

    # The same size, other bytes: still noticed (the file is not the one the build wrote).
    article.write_bytes(ours[0].replace(b"Story 1", b"Story X"))
    one = build(config, "--quiet")                         # said even when quiet
    assert "site: rewrote 1 page that" in one.stderr
    assert article.read_bytes() == ours[0]


def test_hexo_sharing_the_folder_is_named_as_the_cause(tmp_path, server):
    config = mirror(tmp_path, server)
    (tmp_path / "site" / "_config.yml").write_text("title: a Hexo site\n", encoding="utf-8")
    build(config)
    shutil.rmtree(tmp_path / "site" / "public")             # what `hexo clean` does
    rebuilt = build(config)
    assert "site: rewrote" in rebuilt.stderr
    assert "is also the Hexo site's output folder" in rebuilt.stderr
    assert '[site] dir = "public"' in rebuilt.stderr
    assert (tmp_path / "site" / "public" / "index.html").is_file()
