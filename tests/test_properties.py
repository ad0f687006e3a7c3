"""Property tests: whatever a feed or a config says, names stay inside their folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsmirror.config import parse_config
from newsmirror.decide import file_name
from newsmirror.exceptions import ConfigError
from newsmirror.hexo import Post, hexo_title, render_post
from newsmirror.write import Folder, UnsafePath, channel_folder

NASTY = st.sampled_from([
    "../../etc/passwd", "..", ".", "CON", "con.txt", "a\\b", "a/b", "\x00", "~", "-", "_x", ".hidden",
    "'", '"', ": ", "#", "---", "\n", "yes", "null", "- x", "[x]", "\u200b", "\u202e", "%2e%2e",
    "长" * 120, "a" * 300, " ", "\t", "{{ x }}", "{% raw %}", "{#",
])
TEXT = st.lists(st.one_of(st.text(max_size=80), NASTY), min_size=1, max_size=5).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=TEXT, identity=st.text(min_size=1, max_size=20))
def test_post_file_stays_in_its_folder(tmp_path, title, identity):
    folder = tmp_path / "g" / "s" / "c"
    folder.mkdir(parents=True, exist_ok=True)
    name = file_name(title, identity, taken=set())
    path = folder / name
    assert path.parent == folder and path.resolve().parent == folder.resolve()
    assert len(name.encode("utf-8")) <= 255 and name.endswith(".md")
    assert not name.startswith((".", "_")) and "/" not in name and "\x00" not in name
    with Folder(folder, create=False) as posts:  # as update.py writes posts
        posts.write(name, b"x")  # the file system accepts the name
        assert path.read_text() == "x" and posts.exists(name)
        posts.remove(name)
        assert not path.exists() and not posts.exists(name)
    assert [p.name for p in folder.iterdir()] == []  # no temp file left behind


@pytest.mark.parametrize("name", ["", ".", "..", "../x.md", "a/b.md", "a\\b.md", "a\x00.md"])
def test_post_folder_refuses_names_that_are_not_one_component(tmp_path, name):
    with Folder(tmp_path / "c", create=True) as posts:
        for use in (lambda: posts.write(name, b"x"), lambda: posts.exists(name),
                    lambda: posts.remove(name)):
            with pytest.raises(UnsafePath):
                use()
    assert list(tmp_path.rglob("*")) == [tmp_path / "c"]


def test_post_folder_that_does_not_exist_reads_as_empty(tmp_path):
    with Folder(tmp_path / "missing", create=False) as posts:
        assert not posts.exists("a.md")
        posts.remove("a.md")
        with pytest.raises(FileNotFoundError):
            posts.write("a.md", b"x")
    assert not (tmp_path / "missing").exists()


@settings(max_examples=300, deadline=None)
@given(group=TEXT, site=TEXT, channel=TEXT, author=TEXT)
def test_categories_are_refused_or_contained(group, site, channel, author):
    config_path = Path("/srv/mirror/newsmirror.toml")
    data = {"channel": [{"group": group, "site": site, "channel": channel, "url": "https://e.x/f",
                         "author": author}]}
    try:
        config = parse_config(data, config_path)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(config_path) in str(exc)
        return
    (c,) = config.channels
    posts = config.output.posts_dir
    folder = channel_folder(posts, c.group, c.site, c.channel)
    assert folder.resolve().is_relative_to(posts.resolve()) and len(folder.relative_to(posts).parts) == 3
    text = render_post(Post(title="t", group=c.group, site=c.site, channel=c.channel,
                            author=c.author, date="Invalid Date", image="https://i.x/a", body=""))
    meta = yaml.safe_load(text[5:text.index("\n---\n", 4)])
    brace = lambda s: s.replace("{", "&#123;").replace("}", "&#125;")
    assert meta["categories"] == [brace(group), brace(site), brace(channel)]
    assert meta["author"] == brace(author)


@settings(max_examples=200, deadline=None)
@given(title=TEXT)
def test_titles_read_back(title):
    text = render_post(Post(title=title, group="g", site="s", channel="c", author="s",
                            date="Invalid Date", image="https://i.x/a", body=""))
    meta = yaml.safe_load(text[5:text.index("\n---\n", 4)])
    assert meta["title"] == hexo_title(title).replace("{", "&#123;").replace("}", "&#125;")
