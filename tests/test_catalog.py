"""The RSSHub route catalogue: documentation pages (both layouts), /api/namespace, /api/routes,
matching concrete paths, search, and [[route]] entries in the config."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from newsmirror.catalog import (
    Catalog, CatalogRoute, load_catalog, parse_catalog, routes_from_docs, with_routes,
)
from newsmirror.config import load_config
from newsmirror.exceptions import ConfigError

from conftest import Response, newsmirror

FIXTURES = Path(__file__).parent / "fixtures" / "rsshub"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def levels(catalog: Catalog, path: str):
    found = catalog.match(path)
    return found.levels if found else None


def test_2022_docs_page_gives_three_levels_per_route():
    catalog = parse_catalog(fixture("docs-2022-new-media.md"), "new-media.md")
    assert levels(catalog, "/aljazeera/news") == ("新媒体", "Aljazeera 半岛网", "新闻")
    assert levels(catalog, "/cnbeta") == ("新媒体", "cnBeta", "最新")
    assert levels(catalog, "/asml/press-releases") == ("新媒体", "ASML 阿斯麦", "Press releases & announcements")
    assert levels(catalog, "/ithome/ranking/24h") == ("新媒体", "IT 之家", "热榜")
    assert levels(catalog, "/199it/tag/数据早报") == ("新媒体", "199IT", "标签")
    # Tables and prose inside <Route> … </Route> do not become routes or headings.
    assert len(catalog) == 17


def test_a_site_without_h3_does_not_inherit_the_previous_sites_channel():
    catalog = parse_catalog(fixture("docs-2022-new-media.md"), "new-media.md")
    # The reference filed AEON under 9To5's "9To5 分站" and DW under cnBeta's "最新".
    assert levels(catalog, "/aeon/ideas") == ("新媒体", "AEON", "AEON")
    assert levels(catalog, "/dw/zh") == ("新媒体", "Deutsche Welle 德国之声", "Deutsche Welle 德国之声")


def test_a_path_other_than_the_example_matches_the_pattern_and_keeps_its_values():
    catalog = parse_catalog(fixture("docs-2022-new-media.md"), "new-media.md")
    assert levels(catalog, "/36kr/news/latest") == ("新媒体", "36kr", "资讯")
    assert levels(catalog, "/36kr/news/life") == ("新媒体", "36kr", "资讯 life")
    assert levels(catalog, "/ithome/ranking/7days") == ("新媒体", "IT 之家", "热榜 7days")
    assert levels(catalog, "/dw/en/eco") == ("新媒体", "Deutsche Welle 德国之声", "Deutsche Welle 德国之声 en eco")
    assert levels(catalog, "/8world") == ("新媒体", "8 视界", "分类")        # optional parameter left out
    assert levels(catalog, "/aljazeera/news/") == ("新媒体", "Aljazeera 半岛网", "新闻")
    assert catalog.match("/nowhere/at/all") is None
    assert catalog.match("/aljazeera/news/extra") is None


def test_current_docs_layout_with_json_route_data():
    catalog = parse_catalog(fixture("docs-current-new-media.md"), "new-media.md")
    assert levels(catalog, "/36kr/hot-list") == ("新媒体", "36kr", "资讯热榜")
    assert levels(catalog, "/52hrtt/global") == ("新媒体", "52hrtt 华人头条", "新闻")
    # hono's {.+} takes the rest of the path
    assert levels(catalog, "/accessbriefing/insight/interviews") == (
        "新媒体", "Access Briefing", "Articles insight interviews")
    # a literal segment beats a parameter: /aeon/category/x is "Categories", /aeon/essays "Types"
    assert levels(catalog, "/aeon/category/science") == ("新媒体", "AEON", "Categories science")
    assert levels(catalog, "/aeon/essays") == ("新媒体", "AEON", "Types")
    assert levels(catalog, "/aeon/videos") == ("新媒体", "AEON", "Types videos")


@pytest.mark.parametrize("language, group, site, channel", [
    ("zh", "传统媒体", "半岛电视台", "新闻"),
    ("en", "Traditional Media", "Aljazeera", "News"),
])
def test_api_namespace_labels_categories_in_either_language(language, group, site, channel):
    catalog = parse_catalog(fixture("api-namespace.json"), "api/namespace", language)
    assert levels(catalog, "/aljazeera/english/news") == (group, site, channel)


def test_api_namespace_skips_the_popular_pseudo_category():
    catalog = parse_catalog(fixture("api-namespace.json"), "api/namespace")
    assert levels(catalog, "/baoyu/blog") == ("博客", "宝玉", "Blog")
    assert levels(catalog, "/51cto/index/recommend") == ("编程", "51CTO", "推荐")
    assert levels(catalog, "/36kr/hot-list/renqi") == ("新媒体", "36kr", "资讯热榜 renqi")
    en = parse_catalog(fixture("api-namespace.json"), "api/namespace", "en")
    assert levels(en, "/51cto/index/recommend") == ("Programming", "51CTO", "推荐")


def test_api_routes_of_rsshub_1():
    """/api/routes gives only patterns; the bundled namespace table names them."""
    catalog = parse_catalog(fixture("api-routes-1.0.0.json"), "api/routes")
    # A namespace and route the table documents: its category, names and example.
    assert levels(catalog, "/bilibili/user/video/2267573") == ("社交媒体", "哔哩哔哩 bilibili", "UP 主投稿")
    assert catalog.match("/bilibili/user/video/2267573").route.example == "/bilibili/user/video/2267573"
    assert levels(catalog, "/bilibili/user/video/42") == ("社交媒体", "哔哩哔哩 bilibili", "UP 主投稿 42")
    assert levels(catalog, "/test/1") == ("其他", "RSSHub Test", "Test 1")
    # A route the table lacks keeps its namespace's names and the pattern's literal words;
    # a namespace it lacks is filed under "other" under its own name.
    assert levels(catalog, "/aljazeera/news") == ("其他", "Aljazeera", "news")
    assert levels(catalog, "/hexo/next/example.org") == ("其他", "hexo", "next example.org")
    assert all(route.site not in ("", "robots.txt") for route in catalog.routes)
    # Found by the namespace's name as well as by its path.
    assert {r.pattern for r in catalog.search(["哔哩哔哩"])} == {r.pattern for r in catalog.search(["bilibili"])} != set()
    en = parse_catalog(fixture("api-routes-1.0.0.json"), "api/routes", "en")
    assert levels(en, "/test/1")[0] == "Uncategorized"
    assert levels(en, "/bilibili/user/video/2267573")[0] == "Social Media"


def test_route_shapes_survive_renamed_and_added_optional_parameters():
    from newsmirror.catalog import _route_shape
    assert _route_shape("/collection/:id/:getAll?") == _route_shape("/collection/:cid") == "/collection/:"
    assert _route_shape("/:category?") == "/" and _route_shape("/daily") == "/daily"
    assert _route_shape("/user/:uid/:type") != _route_shape("/user/:uid")


def test_search_by_words_in_any_level_or_path():
    catalog = parse_catalog(fixture("docs-2022-new-media.md"), "new-media.md")
    assert [r.example for r in catalog.search(["半岛"])] == ["/aljazeera/news"]
    assert [r.example for r in catalog.search(["ithome", "热榜"])] == ["/ithome/ranking/24h"]
    assert [r.site for r in catalog.search(["新闻"])] == ["Aljazeera 半岛网"]
    assert {r.site for r in catalog.search(["KR"])} == {"36kr", "8 视界"}  # case-insensitive, paths too
    assert len(catalog.search([])) == len(catalog)


def test_headings_inside_code_fences_are_not_levels():
    text = ("# 编程\n\n## GitHub\n\n```md\n# not a group\n## not a site\n```\n\n### Trending\n\n"
            '<Route author="x" example="/github/trending/daily" path="/github/trending/:since" />\n')
    assert routes_from_docs(text) == [
        CatalogRoute("编程", "GitHub", "Trending", "/github/trending/:since", "/github/trending/daily")]


def test_a_folder_of_pages_and_clear_errors(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "new-media.md").write_bytes(fixture("docs-2022-new-media.md"))
    (tmp_path / "docs" / "programming.md").write_text(
        '# 编程\n\n## GitHub\n\n### Trending\n\n<Route example="/github/trending/daily" path="/github/trending/:since" />\n',
        encoding="utf-8")
    catalog = load_catalog(str(tmp_path / "docs"), base="http://127.0.0.1:9")
    assert levels(catalog, "/github/trending/daily") == ("编程", "GitHub", "Trending")
    assert levels(catalog, "/cnbeta") == ("新媒体", "cnBeta", "最新")
    with pytest.raises(ConfigError, match="no such catalogue"):
        load_catalog(str(tmp_path / "missing.md"), base="http://127.0.0.1:9")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.json: not valid JSON"):
        load_catalog(str(tmp_path / "bad.json"), base="http://127.0.0.1:9")
    (tmp_path / "prose.md").write_text("# Hello\n\nNo routes here.\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="prose.md: no RSSHub routes found"):
        load_catalog(str(tmp_path / "prose.md"), base="http://127.0.0.1:9")


# --------------------------------------------------------------------------- [[route]] in the config


def write(tmp_path, text: str) -> Path:
    (tmp_path / "new-media.md").write_bytes(fixture("docs-2022-new-media.md"))
    path = tmp_path / "newsmirror.toml"
    path.write_text('[rsshub]\nbase = "http://127.0.0.1:9/hub/"\ncatalog = "new-media.md"\n' + text,
                    encoding="utf-8")
    return path


def test_the_public_api_reads_routes_as_the_command_does(tmp_path):
    """make_mirror() loads a config as the command line does: its routes become channels."""
    from newsmirror import make_mirror, read_config
    path = write(tmp_path, '[[route]]\npath = "/aljazeera/news"\n')
    mirror = make_mirror(path)
    assert [c.key for c in mirror.config.channels] == ["新媒体/Aljazeera 半岛网/新闻"]
    assert mirror.config.channels == with_routes(load_config(path)).channels
    assert read_config(path, routes=False).channels == ()
    with pytest.raises(ConfigError, match="newsmirror.toml"):
        make_mirror(tmp_path / "missing" / "newsmirror.toml")


def test_routes_expand_to_channels_with_catalogue_levels_and_parameters(tmp_path):
    config = with_routes(load_config(write(tmp_path, '''
[[route]]
path = "/aljazeera/news"

[[route]]
path = "/199it/tag/数据早报"
author = "199IT 编辑部"
limit = 5
filter = "a|b&c=d"
filter_title = "数据 报告"
filter_time = 86400
filter_case_sensitive = false
mode = "fulltext"

[[route]]
path = "/my/private/route"
group = "自建"
site = "私有"
channel = "全部"
filterout = "广告"
''')))
    by_key = {c.key: c for c in config.channels}
    assert list(by_key) == ["新媒体/Aljazeera 半岛网/新闻", "新媒体/199IT/标签", "自建/私有/全部"]
    assert by_key["新媒体/Aljazeera 半岛网/新闻"].url == "http://127.0.0.1:9/hub/aljazeera/news"
    assert by_key["新媒体/Aljazeera 半岛网/新闻"].author == "Aljazeera 半岛网"
    tagged = by_key["新媒体/199IT/标签"]
    assert tagged.author == "199IT 编辑部"
    assert tagged.url == (
        "http://127.0.0.1:9/hub/199it/tag/%E6%95%B0%E6%8D%AE%E6%97%A9%E6%8A%A5?limit=5"
        "&filter=a%7Cb%26c%3Dd&filter_title=%E6%95%B0%E6%8D%AE%20%E6%8A%A5%E5%91%8A"
        "&filter_time=86400&filter_case_sensitive=false&mode=fulltext")
    assert by_key["自建/私有/全部"].url == "http://127.0.0.1:9/hub/my/private/route?filterout=%E5%B9%BF%E5%91%8A"


def test_parameters_on_rsshub_channels_too(tmp_path):
    config = load_config(write(tmp_path, '''
[[channel]]
group = "g"
site = "s"
channel = "c"
url = "rsshub:/test/1?existing=1"
limit = 2
filterout = "Title[24]"
'''))
    assert config.channels[0].url == "http://127.0.0.1:9/hub/test/1?existing=1&limit=2&filterout=Title%5B24%5D"


@pytest.mark.parametrize("entry, message", [
    ('[[route]]\npath = "/not/in/the/catalogue"\n',
     "route #1 (/not/in/the/catalogue): not in the RSSHub route catalogue; give group, site, channel"),
    ('[[route]]\npath = "/not/in/the/catalogue"\ngroup = "g"\n',
     "route #1 (/not/in/the/catalogue): not in the RSSHub route catalogue; give site, channel"),
    ('[[route]]\npath = "aljazeera/news"\n', "route #1 (aljazeera/news): path must be an RSSHub route"),
    ('[[route]]\npath = "/aljazeera/news?limit=3"\n', "path must be an RSSHub route starting with '/', without a query"),
    ('[[route]]\npath = "/aljazeera/news"\nurl = "http://x/"\n', "route #1 (/aljazeera/news): unknown key 'url'"),
    ('[[route]]\npath = "/aljazeera/news"\nlimit = "5"\n', "limit must be an integer"),
    ('[[route]]\npath = "/aljazeera/news"\nlimit = 0\n', "limit must be greater than 0"),
    ('[[route]]\npath = "/aljazeera/news"\nmode = "summary"\n', "mode must be 'fulltext'"),
    ('[[route]]\npath = "/aljazeera/news"\nfilter_case_sensitive = "no"\n', "filter_case_sensitive must be true or false"),
    ('[[route]]\npath = "/aljazeera/news"\n\n[[route]]\npath = "/aljazeera/news"\n',
     "route #2 (新媒体/Aljazeera 半岛网/新闻) repeats route #1"),
    ('[[channel]]\ngroup = "新媒体"\nsite = "Aljazeera 半岛网"\nchannel = "新闻"\nurl = "http://x/"\n\n'
     '[[route]]\npath = "/aljazeera/news"\n', "route #1 (新媒体/Aljazeera 半岛网/新闻) repeats channel #1"),
    ('[[channel]]\ngroup = "g"\nsite = "s"\nchannel = "c"\nurl = "feed.xml"\nlimit = 3\n',
     "RSSHub parameters ('limit') need an rsshub: or http(s) URL"),
    # A pattern pasted as it is would reach RSSHub as a literal ":sectionId" and 404.
    ('[[route]]\npath = "/zhihu/daily/section/:sectionId"\n',
     "route #1 (/zhihu/daily/section/:sectionId): route path /zhihu/daily/section/:sectionId has an "
     "unfilled parameter :sectionId: put a value in its place (documented example: /zhihu/daily/section/2)"),
    ('[[channel]]\ngroup = "g"\nsite = "s"\nchannel = "c"\nurl = "rsshub:/zhihu/hot/:category?"\n',
     "channel #1 (g/s/c): route path /zhihu/hot/:category? has an unfilled parameter :category: put a "
     "value in its place or leave it out (documented example: /zhihu/hot)"),
    ('[[channel]]\ngroup = "g"\nsite = "s"\nchannel = "c"\nurl = "http://127.0.0.1:9/hub/x/:a/y/:b"\n',
     "channel #1 (g/s/c): route path /x/:a/y/:b has unfilled parameters :a, :b: put values in their places"),
])
def test_route_errors_name_the_file_and_the_entry(tmp_path, entry, message):
    path = write(tmp_path, entry)
    with pytest.raises(ConfigError) as info:
        with_routes(load_config(path))
    assert str(info.value).startswith(str(path)) and message in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_routes_with_all_levels_need_no_catalogue(tmp_path):
    path = tmp_path / "newsmirror.toml"
    path.write_text('[rsshub]\nbase = "http://127.0.0.1:9"\ncatalog = "missing.md"\n\n'
                    '[[route]]\npath = "/x"\ngroup = "g"\nsite = "s"\nchannel = "c"\n', encoding="utf-8")
    assert with_routes(load_config(path)).channels[0].url == "http://127.0.0.1:9/x"
    path.write_text(path.read_text("utf-8") + '\n[[route]]\npath = "/y"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"newsmirror.toml: \[rsshub\] catalog: .*missing.md: no such catalogue"):
        with_routes(load_config(path))


def test_catalogue_from_the_instance_is_cached_and_survives_an_outage(tmp_path, server):
    """Empty ``catalog``: /api/namespace of the instance at ``base``, else /api/routes."""
    server.routes["/api/namespace"] = Response(404, b"<html>not found</html>",
                                               {"Content-Type": "text/html"})
    server.routes["/api/routes"] = Response(200, fixture("api-routes-1.0.0.json"),
                                            {"Content-Type": "application/json"})
    path = tmp_path / "newsmirror.toml"
    path.write_text(f'[rsshub]\nbase = "{server.url("")}"\n\n[[route]]\npath = "/test/1"\n', encoding="utf-8")
    config = with_routes(load_config(path))
    assert config.channels[0].key == "其他/RSSHub Test/Test 1"
    assert server.hits("/api/namespace") == 1 and server.hits("/api/routes") == 1
    # Within a day the cached copy serves; after, a failed fetch falls back to it.
    with_routes(load_config(path))
    assert server.hits("/api/routes") == 1
    cached = next((tmp_path / "site" / ".newsmirror").glob("catalog-*"))
    os.utime(cached, (0, 0))
    del server.routes["/api/routes"]
    assert with_routes(load_config(path)).channels[0].key == "其他/RSSHub Test/Test 1"
    assert server.hits("/api/routes") == 2


def test_catalog_command_lists_searches_and_prints_toml(tmp_path):
    path = write(tmp_path, "")
    result = newsmirror("--config", str(path), "catalog", "半岛")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "新媒体 / Aljazeera 半岛网 / 新闻  /aljazeera/news\n"
    assert result.stderr == "1 route\n"
    as_json = json.loads(newsmirror("--config", str(path), "catalog", "--json", "ithome").stdout)
    assert [r["example"] for r in as_json] == ["/ithome/it", "/ithome/ranking/24h"]
    toml = newsmirror("--config", str(path), "catalog", "--toml", "cnbeta").stdout
    assert toml == '[[route]]\n# 新媒体 / cnBeta / 最新\npath = "/cnbeta"\n\n'
    # Straight from a metadata file, English labels, no config needed.
    result = newsmirror("catalog", "--source", str(FIXTURES / "api-namespace.json"), "--lang", "en",
                        "51cto", cwd=tmp_path)
    assert result.stdout == "Programming / 51CTO / 推荐  /51cto/index/recommend\n", result.stderr
    result = newsmirror("catalog", "--source", str(tmp_path / "nope.md"), cwd=tmp_path)
    assert result.returncode == 2 and "nope.md: no such catalogue" in result.stderr
    assert "Traceback" not in result.stderr
