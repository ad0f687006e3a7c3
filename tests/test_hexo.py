"""Our posts in a real Hexo: `hexo generate` with the landscape theme and with Volantis 6.8.3.

Needs tests/hexo/node_modules (`npm ci` in tests/hexo, done by scripts/test).
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import Response, channel_toml, hexo_generate, item, new_hexo_site, newsmirror, rss

# Values the reference would have written as invalid YAML or that Nunjucks would execute.
TRICKY_TITLES = ['He said "it\'s fine": [ok] #1', "yes", "{{ site }} {% raw %} {# x", "100% sure?"]
TRICKY_BODY = "<p>{{ site.posts }} {% raw %}x{% endraw %} {# comment</p>"

ROOT = Path(__file__).parent.parent
# hexo-util's slugize(): how Hexo turns a category name into a folder name.
_SLUG_SPECIAL = re.compile(r"[\s~`!@#$%^&*()\-_+=\[\]{}|\\;:\"'<>,.?/]+")


def slugize(name: str) -> str:
    return _SLUG_SPECIAL.sub("-", re.sub(r"[\x00-\x1f]", "", name)).strip("-")


@pytest.fixture
def hexo_site(tmp_path, server, golden_site, node_modules):
    """A Hexo site holding the golden posts (through a real run) and the bundled example's."""
    site = new_hexo_site(tmp_path / "site", node_modules)
    assert newsmirror("run", "--config", str(golden_site)).returncode == 0
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples, ignore=shutil.ignore_patterns("site"))
    config = examples / "newsmirror.toml"
    config.write_text(config.read_text("utf-8").replace('dir = "site"', f'dir = "{site}"'), "utf-8")
    assert newsmirror("run", "--config", str(config)).returncode == 0
    server.routes["/tricky"] = Response(200, rss(*(item(title, f"t{n}", TRICKY_BODY)
                                                   for n, title in enumerate(TRICKY_TITLES))))
    tricky = tmp_path / "tricky.toml"
    tricky.write_text(f'[output]\ndir = "{site}"\n'
                      + channel_toml("编程", "C#: news", "null", server.url("/tricky")), "utf-8")
    assert newsmirror("run", "--config", str(tricky)).returncode == 0
    return site


def front_matter(path: Path) -> dict:
    text = path.read_text("utf-8")
    return yaml.safe_load(text[5:text.index("\n---\n", 4)])


def generated_pages(site: Path) -> dict[str, Path]:
    """Article pages by their post's path under _posts (Hexo's :title), without the date part."""
    pages = {}
    for page in (site / "public").glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/**/index.html"):
        relative = page.relative_to(site / "public").parts[3:-1]
        pages["/".join(relative)] = page
    return pages


def check_site(site: Path) -> list[tuple[Path, dict, Path]]:
    posts = sorted((site / "source" / "_posts").rglob("*.md"))
    assert len(posts) == 16 + 8 + len(TRICKY_TITLES)
    pages = generated_pages(site)
    checked = []
    for post in posts:
        key = str(post.relative_to(site / "source" / "_posts"))[:-3]
        assert key in pages, f"no page for {key}"
        meta = front_matter(post)
        page_text = pages[key].read_text("utf-8")
        title = re.search(r"<title>(.*?)</title>", page_text, re.S).group(1)
        # Hexo escapes the title (and our &#123; for braces) once more: undo both levels.
        shown = html.unescape(html.unescape(title))
        assert html.unescape(meta["title"]) in shown, (key, title)
        for depth in range(1, 4):
            categories = meta["categories"][:depth]
            category_page = site / "public" / "categories" / Path(*map(slugize, categories)) / "index.html"
            assert category_page.exists(), category_page
        checked.append((post, meta, pages[key]))
    return checked


@pytest.mark.hexo
def test_landscape(hexo_site):
    hexo_generate(hexo_site, "_config.yml")
    checked = check_site(hexo_site)
    # Bodies arrive as HTML, images with referrerpolicy, and no Nunjucks ran on feed text.
    for post, _meta, page in checked:
        text = page.read_text("utf-8")
        if "<img" in post.read_text("utf-8"):
            assert 'referrerpolicy="no-referrer"' in text
    template = next(page for post, meta, page in checked if "模板" in post.name)
    assert "{{ name }}" in html.unescape(template.read_text("utf-8"))
    tricky = [page.read_text("utf-8") for post, meta, page in checked if "C_: news" in str(post)]
    assert len(tricky) == len(TRICKY_TITLES)
    for text in tricky:
        assert "{{ site.posts }} {% raw %}x{% endraw %} {# comment" in html.unescape(text)


@pytest.mark.hexo
def test_volantis_shows_headimg(hexo_site):
    hexo_generate(hexo_site, "_config.volantis.yml")
    for post, meta, page in check_site(hexo_site):
        text = page.read_text("utf-8")
        assert "class='headimg'" in text
        shown = re.search(r"class='headimg'[^>]*src='([^']*)'", text).group(1)
        assert html.unescape(shown) == html.unescape(meta["headimg"]), post.name
