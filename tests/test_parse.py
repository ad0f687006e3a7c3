"""Parsing every feed format and encoding into entries whose body is exactly as served."""

from __future__ import annotations

import codecs
import json

import pytest

from newsmirror.dates import crawl_time_text, post_date
from newsmirror.exceptions import FeedError
from newsmirror.parse import parse_feed

BODY = '<p class="x">Hello &amp; <img src="a.jpg" alt> <b>world</b></p>\n  '


def test_rss20_body_exact_and_content_encoded_preferred():
    doc = f'''<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>
<item><title> One </title><link>https://e.x/1</link><guid>g1</guid>
<description>short</description><content:encoded><![CDATA[{BODY}]]></content:encoded>
<pubDate>Sat, 22 Jan 2022 12:16:05 GMT</pubDate>
<enclosure url="https://e.x/cover.png" type="image/png" length="1"/></item>
<item><title>Two</title><description>&lt;p&gt;escaped &amp;amp; kept&lt;/p&gt;</description></item>
</channel></rss>'''.encode()
    feed = parse_feed(doc, "https://e.x/feed")
    assert feed.kind == "rss" and feed.title == "T"
    one, two = feed.entries
    assert (one.title, one.link, one.guid) == ("One", "https://e.x/1", "g1")
    assert one.body == BODY
    assert one.date_text == "Sat, 22 Jan 2022 12:16:05 GMT" and one.published.year == 2022
    assert one.image == "https://e.x/cover.png"
    assert two.body == "<p>escaped &amp; kept</p>"
    assert two.link is None and two.guid is None and two.published is None


def test_rss091_and_rss10_rdf():
    rss091 = b'''<rss version="0.91"><channel><title>Old</title>
<item><title>A</title><link>https://e.x/a</link><description>&lt;b&gt;a&lt;/b&gt;</description></item>
</channel></rss>'''
    assert parse_feed(rss091, "u").entries[0].body == "<b>a</b>"
    rdf = b'''<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://e.x/"><title>RDF</title></channel>
<item rdf:about="https://e.x/r1"><title>R1</title><link>https://e.x/r1</link>
<description>body one</description><dc:date>2021-08-07T10:22:05+08:00</dc:date></item>
</rdf:RDF>'''
    feed = parse_feed(rdf, "u")
    (entry,) = feed.entries
    assert feed.title == "RDF" and entry.guid == "https://e.x/r1" and entry.body == "body one"
    assert post_date(entry.date_text, entry.published, 2e9) == "Sat, 07 Aug 2021 02:22:05 GMT"


def test_atom10_content_types_and_summary_fallback():
    doc = b'''<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">&lt;b&gt;Atom&lt;/b&gt; feed</title>
<entry><title>H</title><id>urn:1</id><link rel="self" href="https://e.x/self"/>
<link href="https://e.x/1"/><published>2022-01-22T20:16:05+08:00</published>
<content type="html">&lt;p&gt;html &lt;img src="x.png"&gt;&lt;/p&gt;</content></entry>
<entry><title>X</title><id>urn:2</id><updated>2022-01-22T12:16:05Z</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x<br/>y</p></div></content></entry>
<entry><title>T</title><id>urn:3</id><content type="text">a &lt; b</content></entry>
<entry><title>S</title><id>urn:4</id><summary type="html">&lt;i&gt;sum&lt;/i&gt;</summary></entry>
</feed>'''
    feed = parse_feed(doc, "u")
    assert feed.kind == "atom" and feed.title == "Atom feed"
    h, x, t, s = feed.entries
    assert h.link == "https://e.x/1" and h.body == '<p>html <img src="x.png"></p>'
    assert post_date(h.date_text, h.published, 2e9) == "Sat, 22 Jan 2022 12:16:05 GMT"
    assert x.body == "<p>x<br>y</p>" and x.date_text == "2022-01-22T12:16:05Z"
    assert t.body == "a &lt; b"
    assert s.body == "<i>sum</i>"


def test_atom03():
    doc = b'''<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old atom</title>
<entry><title>E</title><id>tag:1</id><link rel="alternate" type="text/html" href="https://e.x/e"/>
<issued>2004-01-02T03:04:05Z</issued>
<content type="text/html" mode="escaped">&lt;p&gt;zero three&lt;/p&gt;</content></entry></feed>'''
    (entry,) = parse_feed(doc, "u").entries
    assert entry.body == "<p>zero three</p>" and entry.link == "https://e.x/e"
    assert entry.published.year == 2004


@pytest.mark.parametrize("version", ["1", "1.1"])
def test_json_feed(version):
    doc = json.dumps({
        "version": f"https://jsonfeed.org/version/{version}", "title": "J",
        "items": [
            {"id": 1, "url": "https://e.x/1", "title": "Html", "content_html": "<p>h</p>",
             "content_text": "ignored", "date_published": "2022-01-22T12:16:05Z",
             "image": "https://e.x/i.png"},
            {"id": "2", "title": "Text", "content_text": "a < b & c"},
            "not an item",
        ],
    }).encode()
    feed = parse_feed(doc, "u")
    one, two = feed.entries
    assert feed.kind == "json" and one.guid == "1" and one.body == "<p>h</p>"
    assert one.image == "https://e.x/i.png"
    assert two.body == "a &lt; b &amp; c"


CHINESE = "<p>开源中国 繁體中文 測試</p>"


def _rss_bytes(encoding: str | None, text: str = CHINESE) -> str:
    decl = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else '<?xml version="1.0"?>'
    return (f'{decl}<rss version="2.0"><channel><title>中文</title><item><title>中文 {len(text)}</title>'
            f"<description><![CDATA[{text}]]></description></item></channel></rss>")


@pytest.mark.parametrize("label, codec, text", [
    ("GBK", "gbk", "<p>开源中国 一个简体中文的测试，包含常见的汉字。</p>"),
    ("gb2312", "gb18030", "<p>开源中国 一个简体中文的测试。</p>"),
    ("Big5", "big5", "<p>開源 繁體中文 測試，這是一個常見的句子。</p>"),
    ("UTF-8", "utf-8", CHINESE),
])
def test_declared_encodings(label, codec, text):
    data = _rss_bytes(label, text).encode(codec)
    (entry,) = parse_feed(data, "u").entries
    assert entry.body == text and entry.title == f"中文 {len(text)}"


def test_undeclared_and_mislabelled_gbk():
    text = "<p>开源中国是目前国内最大的开源技术社区，我们传播开源的理念，推广开源项目。</p>" * 3
    undeclared = _rss_bytes(None, text).encode("gb18030")
    assert parse_feed(undeclared, "u").entries[0].body == text
    lying = _rss_bytes("UTF-8", text).encode("gb18030")
    assert parse_feed(lying, "u").entries[0].body == text
    by_http = _rss_bytes(None, text).encode("gb18030")
    assert parse_feed(by_http, "u", "application/xml; charset=GBK").entries[0].body == text


@pytest.mark.parametrize("bom, codec", [
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
])
def test_byte_order_marks(bom, codec):
    data = bom + _rss_bytes("UTF-8").encode(codec)
    assert parse_feed(data, "u").entries[0].body == CHINESE


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>", "HTML page"),
    (b"<opml version='2.0'><body/></opml>", "root element <opml>"),
    (b"{\"not\": \"a feed\"}", "JSON without a JSON Feed version"),
    (b"{broken json", "invalid JSON"),
    (b"just text, no markup", "not a feed"),
    # garbage the recovering XML parse turns into an element with an invalid name (found by
    # bench/fuzz.py)
    (b'<\xb7\xa8\xc8\xc2\x02\x9a\xd0\xd4\x97\x04\xe9\x05_\xcd\xe1:,-9\xc2\x84:', "not a feed"),
])
def test_not_a_feed(data, reason):
    with pytest.raises(FeedError, match=reason):
        parse_feed(data, "u")


def test_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = f'''<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}"><!ENTITY lol "lol">]>
<rss version="2.0"><channel><title>x</title><item><title>&xxe;&lol;</title>
<description>&xxe;</description></item></channel></rss>'''.encode()
    (entry,) = parse_feed(doc, "u").entries
    assert "TOP-SECRET" not in entry.title + entry.body


def test_control_characters_and_unclosed_tags_recovered():
    doc = b'<rss version="2.0"><channel><title>x</title><item><title>A\x00B\x07</title><description>ok</description></item><item><title>C</title>'
    entries = parse_feed(doc, "u").entries
    assert entries[0].title == "AB" and entries[0].body == "ok"


def test_xml_noncharacters_removed_from_utf8_feeds():
    # U+FFFE and U+FFFF cannot appear in XML; U+FFE5 (fullwidth yen, bytes EF BF A5) can.
    doc = ('<rss version="2.0"><channel><title>x</title><item><title>价格\ufffe￥5\uffff</title>'
           '<description>正文，\uffff完</description></item></channel></rss>').encode("utf-8")
    (entry,) = parse_feed(doc, "u").entries
    assert entry.title == "价格￥5" and entry.body == "正文，完"


@pytest.mark.parametrize("text, expected", [
    ("Sat, 22 Jan 2022 12:16:05 GMT", "Sat, 22 Jan 2022 12:16:05 GMT"),
    ("Invalid Date", "Invalid Date"),
    ("Sat, 22 Jan 2022 20:16:05 +0800", "Sat, 22 Jan 2022 12:16:05 GMT"),
    ("22 Jan 2022 12:16 EST", "Sat, 22 Jan 2022 17:16:00 GMT"),
    ("2022-01-22T12:16:05Z", "Sat, 22 Jan 2022 12:16:05 GMT"),
    ("2022-01-22 20:16:05+08:00", "Sat, 22 Jan 2022 12:16:05 GMT"),
    ("2022-01-22", "Sat, 22 Jan 2022 00:00:00 GMT"),
    ("yesterday-ish", None),
    (None, None),
    ("Sat, 22 Jan 2999 12:16:05 +0000", None),  # far future: a feed's mistake
])
def test_post_dates(text, expected):
    from newsmirror.dates import parse_date
    crawl = 1_700_000_000.0
    result = post_date(text, parse_date(text), crawl)
    assert result == (expected if expected is not None else crawl_time_text(crawl))


def test_media_rss_image():
    doc = b'''<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>m</title>
<item><title>a</title><media:content url="https://e.x/v.mp4" type="video/mp4"/>
<media:thumbnail url="https://e.x/t.jpg"/><description>no image here</description></item>
<item><title>b</title><enclosure url="https://e.x/a.mp3" type="audio/mpeg"/><description>x</description></item>
</channel></rss>'''
    first, second = parse_feed(doc, "u").entries
    assert first.image == "https://e.x/t.jpg" and second.image is None
