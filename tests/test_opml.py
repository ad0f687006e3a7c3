"""OPML export and import, with files as feed readers write them."""

from __future__ import annotations

import tomllib

from newsmirror.config import load_config
from newsmirror.opml import export_opml, plan_import, read_opml

from conftest import newsmirror

FEEDLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head>
    <title>Jane subscriptions in feedly Cloud</title>
  </head>
  <body>
    <outline text="Tech" title="Tech">
      <outline type="rss" text="Ars Technica" title="Ars Technica" xmlUrl="https://feeds.arstechnica.com/arstechnica/index" htmlUrl="https://arstechnica.com"/>
      <outline type="rss" text="cnBeta" title="cnBeta.COM" xmlUrl="https://rsshub.example/cnbeta" htmlUrl="https://www.cnbeta.com.tw"/>
    </outline>
    <outline text="\xe6\x96\xb0\xe9\x97\xbb" title="\xe6\x96\xb0\xe9\x97\xbb">
      <outline type="rss" text="BBC News" title="BBC News" xmlUrl="https://feeds.bbci.co.uk/news/rss.xml" htmlUrl="https://www.bbc.co.uk/news"/>
    </outline>
  </body>
</opml>
"""

# NetNewsWire / Thunderbird style: feeds outside folders, only `title` on some outlines.
FLAT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.1">
<head><title>Subscriptions</title></head>
<body>
<outline title="Daring Fireball" type="rss" xmlUrl="https://daringfireball.net/feeds/main"/>
<outline text="" type="rss" xmlUrl="https://example.org/feed.xml"/>
<outline text="Deep">
  <outline text="Deeper">
    <outline text="Deepest">
      <outline text="A feed" type="rss" xmlUrl="https://deep.example/feed"/>
    </outline>
  </outline>
</outline>
</body>
</opml>
"""


def config_file(tmp_path, body=""):
    path = tmp_path / "newsmirror.toml"
    path.write_text('# my mirror\n[rsshub]\nbase = "https://rsshub.example"  # our instance\n' + body,
                    encoding="utf-8")
    return path


def test_two_levels_of_folders_as_feedly_writes_them(tmp_path):
    feeds = read_opml(FEEDLY, "feedly.opml", default_group="其他")
    assert [(f.group, f.site, f.channel, f.url) for f in feeds] == [
        ("Tech", "Ars Technica", "Ars Technica", "https://feeds.arstechnica.com/arstechnica/index"),
        ("Tech", "cnBeta", "cnBeta", "https://rsshub.example/cnbeta"),   # text wins over title
        ("新闻", "BBC News", "BBC News", "https://feeds.bbci.co.uk/news/rss.xml"),
    ]


def test_flat_and_deep_outlines(tmp_path):
    feeds = read_opml(FLAT, "flat.opml", default_group="Uncategorized")
    assert [(f.group, f.site, f.channel) for f in feeds] == [
        ("Uncategorized", "Daring Fireball", "Daring Fireball"),   # only a title
        ("Uncategorized", "example.org", "example.org"),           # no name: the host
        ("Deep", "Deepest", "A feed"),                             # outermost and innermost folder
    ]


def test_names_become_safe_folder_names():
    opml = (b'<opml version="2.0"><body><outline text="../etc"><outline text="_drafts">'
            b'<outline text="a/b\\c\x01d" xmlUrl="https://x.example/f"/></outline></outline></body></opml>')
    [feed] = read_opml(opml, "x.opml", default_group="g")
    # (the control character is not even XML: the parser drops it)
    assert (feed.group, feed.site, feed.channel) == ("etc", "drafts", "a b cd")


def test_export_then_import_gives_the_same_channels(tmp_path):
    (tmp_path / "a").mkdir()
    source = config_file(tmp_path / "a", '''
[[channel]]
group = "新媒体"
site = "Aljazeera 半岛网"
channel = "新闻"
url = "rsshub:/aljazeera/news"

[[channel]]
group = "新媒体"
site = "Aljazeera 半岛网"
channel = "经济"
url = "rsshub:/aljazeera/economy"
limit = 5

[[channel]]
group = "Tech & \\"Science\\""
site = "Ars <Technica>"
channel = "All"
url = "https://feeds.arstechnica.com/arstechnica/index"
''')
    exported = newsmirror("--config", str(source), "opml", "export")
    assert exported.returncode == 0, exported.stderr
    (tmp_path / "out.opml").write_text(exported.stdout, encoding="utf-8")
    (tmp_path / "b").mkdir()
    target = config_file(tmp_path / "b")
    result = newsmirror("--config", str(target), "opml", "import", str(tmp_path / "out.opml"))
    assert result.returncode == 0, result.stderr
    assert "3 channels added, 0 skipped" in result.stdout

    def channels(path):
        return [(c.key, c.url) for c in load_config(path).channels]
    assert channels(target) == channels(source)
    text = target.read_text("utf-8")
    assert text.startswith('# my mirror\n[rsshub]\nbase = "https://rsshub.example"  # our instance\n')
    assert 'url = "rsshub:/aljazeera/economy?limit=5"' in text   # back to the instance-relative form
    # Importing the same file again adds nothing and says why.
    again = newsmirror("--config", str(target), "opml", "import", str(tmp_path / "out.opml"))
    assert again.returncode == 0 and "0 channels added, 3 skipped" in again.stdout
    assert "skipped: 新媒体/Aljazeera 半岛网/新闻 (rsshub:/aljazeera/news): 新媒体/Aljazeera 半岛网/新闻 is already configured" in again.stderr
    assert target.read_text("utf-8") == text


def test_duplicates_by_url_and_within_the_file_are_skipped(tmp_path):
    path = config_file(tmp_path, '''
[[channel]]
group = "Mine"
site = "BBC"
channel = "News"
url = "https://feeds.bbci.co.uk/news/rss.xml"
''')
    twice = FEEDLY.replace(b"</body>", b'<outline text="Tech"><outline text="Ars Technica" '
                           b'xmlUrl="https://other.example/ars"/></outline></body>')
    plan = plan_import(load_config(path), read_opml(twice, "f.opml", default_group="g"))
    assert [f.key for f in plan.add] == ["Tech/Ars Technica/Ars Technica", "Tech/cnBeta/cnBeta"]
    assert [why for _, why in plan.skipped] == [
        "https://feeds.bbci.co.uk/news/rss.xml is already configured as Mine/BBC/News",
        "Tech/Ars Technica/Ars Technica is already configured",
    ]
    assert plan.add[1].url == "rsshub:/cnbeta"


def test_import_dry_run_and_default_group(tmp_path):
    (tmp_path / "flat.opml").write_bytes(FLAT)
    path = config_file(tmp_path)
    before = path.read_text("utf-8")
    result = newsmirror("--config", str(path), "opml", "import", "--dry-run", str(tmp_path / "flat.opml"))
    assert result.returncode == 0 and "would add: 其他/Daring Fireball/Daring Fireball" in result.stdout
    assert path.read_text("utf-8") == before
    result = newsmirror("--config", str(path), "opml", "import", "--group", "Blogs", str(tmp_path / "flat.opml"))
    assert result.returncode == 0, result.stderr
    keys = [c.key for c in load_config(path).channels]
    assert keys == ["Blogs/Daring Fireball/Daring Fireball", "Blogs/example.org/example.org",
                    "Deep/Deepest/A feed"]
    tomllib.loads(path.read_text("utf-8"))


def test_bad_opml_is_one_line_and_changes_nothing(tmp_path, server):
    path = config_file(tmp_path)
    before = path.read_text("utf-8")
    cases = {
        "html.opml": b"<html><body>not opml</body></html>",
        "broken.opml": b"\x00\x01garbage",
        "garbled.opml": b'<\xb7\xa8\xc8\xc2\x02\x9a\xd0\xd4\x97\x04\xe9\x05_\xcd\xe1:,-9\xc2\x84:',
        # An external entity must not be fetched or expanded.
        "xxe.opml": (f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "{server.url("/secret")}">]>'
                     '<opml version="2.0"><body><outline text="&x;" xmlUrl="https://x.example/f"/>'
                     '</body></opml>').encode(),
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        result = newsmirror("--config", str(path), "opml", "import", str(tmp_path / name))
        if name == "xxe.opml":
            assert result.returncode == 0, result.stderr
            assert "added: 其他/x.example/x.example" in result.stdout
            continue
        assert result.returncode == 2, result.stdout
        assert result.stderr.count("\n") == 1 and name in result.stderr and "not OPML" in result.stderr
        assert path.read_text("utf-8") == before
    assert server.hits("/secret") == 0


def test_export_is_valid_opml_nested_three_levels(tmp_path):
    from lxml import etree
    path = config_file(tmp_path, '[[channel]]\ngroup = "g"\nsite = "s"\nchannel = "c"\nurl = "https://x.example/f"\n')
    root = etree.fromstring(export_opml(load_config(path).channels))
    [outline] = root.xpath("/opml/body/outline/outline/outline")
    assert outline.get("xmlUrl") == "https://x.example/f" and outline.get("type") == "rss"
    assert root.xpath("/opml/body/outline/@text") == ["g"]


def test_import_into_a_config_that_does_not_exist_creates_it(tmp_path):
    (tmp_path / "flat.opml").write_bytes(FLAT)
    path = tmp_path / "new" / "newsmirror.toml"
    dry = newsmirror("--config", str(path), "opml", "import", "--dry-run", str(tmp_path / "flat.opml"))
    assert dry.returncode == 0 and "3 channels would be added, 0 skipped\n" in dry.stdout, dry.stderr
    assert "would add: 其他/Daring Fireball/Daring Fireball" in dry.stdout
    assert not path.exists()
    result = newsmirror("--config", str(path), "opml", "import", str(tmp_path / "flat.opml"))
    assert result.returncode == 0, result.stderr
    assert f"3 channels added, 0 skipped (created {path})" in result.stdout
    text = path.read_text("utf-8")
    assert text.startswith("# newsmirror: the feeds of flat.opml")
    config = load_config(path)
    assert [c.key for c in config.channels] == ["其他/Daring Fireball/Daring Fireball",
                                                 "其他/example.org/example.org", "Deep/Deepest/A feed"]
    assert config.output.dir == path.parent / "site"
    # and it is now an ordinary config: a second import skips what it has
    again = newsmirror("--config", str(path), "opml", "import", str(tmp_path / "flat.opml"))
    assert "0 channels added, 3 skipped" in again.stdout and "created" not in again.stdout
