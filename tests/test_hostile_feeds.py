"""Hostile and malformed feeds: nothing expands, nothing is read or requested, good items survive."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from conftest import Response, channel_toml, item, newsmirror, posts_in, rss, run_measured, write_config
from newsmirror.exceptions import FeedError
from newsmirror.parse import parse_feed

LAUGHS = b'''<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>t</title>
<item><title>&lol9;</title><description>&lol9;</description><guid>1</guid></item>
</channel></rss>'''


def _entity_doc(declarations: str, use: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rss [{declarations}]>\n<rss version="2.0"><channel>'
            f"<title>t</title><item><title>x{use}</title><description>d{use}</description>"
            "<guid>1</guid></item></channel></rss>").encode()


def test_billion_laughs_does_not_expand():
    start = time.monotonic()
    (entry,) = parse_feed(LAUGHS, "u").entries
    assert time.monotonic() - start < 1
    assert len(entry.title) < 100 and "lollollol" not in entry.body


def test_quadratic_blowup_does_not_expand():
    big = "A" * 100_000
    doc = _entity_doc(f'<!ENTITY a "{big}">', "&a;" * 2000)
    start = time.monotonic()
    (entry,) = parse_feed(doc, "u").entries
    assert time.monotonic() - start < 2 and len(entry.body) < 1000


def test_external_entities_and_dtds_fetch_nothing(tmp_path, server):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    server.routes["/evil.dtd"] = Response(200, b'<!ENTITY remote "REMOTE-TEXT">')
    server.routes["/entity"] = Response(200, b"REMOTE-ENTITY")
    cases = [
        _entity_doc(f'<!ENTITY xxe SYSTEM "{secret.as_uri()}">', "&xxe;"),
        _entity_doc(f'<!ENTITY xxe SYSTEM "{server.url("/entity")}">', "&xxe;"),
        _entity_doc(f'<!ENTITY % dtd SYSTEM "{server.url("/evil.dtd")}"> %dtd;', "&remote;"),
        (f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{server.url("/evil.dtd")}">'
         '<rss version="2.0"><channel><title>t</title><item><title>x&remote;</title>'
         "<guid>1</guid></item></channel></rss>").encode(),
        (f'<?xml version="1.0"?><rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude">'
         f'<channel><title>t</title><item><title>x</title><description><xi:include href="{secret.as_uri()}" parse="text"/>'
         f'<xi:include href="{server.url("/entity")}" parse="text"/></description><guid>1</guid></item>'
         "</channel></rss>").encode(),
    ]
    for doc in cases:
        try:
            entries = parse_feed(doc, "u").entries
        except FeedError:
            continue  # refusing the document is fine too
        text = "".join(e.title + e.body for e in entries)
        assert "TOP-SECRET" not in text and "REMOTE" not in text
    assert server.requests == []  # not one request reached the loopback server


BAD_ENTITY = b'<rss version="2.0"><channel><title>t</title><item><title>A &nbsp; B &foo; C</title><guid>1</guid><description>ok &copy;</description></item></channel></rss>'


@pytest.mark.parametrize("doc", [
    BAD_ENTITY,
    b'<rss version="2.0"><channel><title>t</title><item><title>unclosed</title><guid>1</guid><description><p>x</description></item>',
    b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><item><title>bom</title><guid>1</guid></item></channel></rss>',
    b'<rss version="2.0"><channel><title>t</title><item><title>nul\x00 and \x1b ctrl</title><guid>1</guid></item></channel></rss>',
    b'<rss version="2.0"><channel><title>t</title><item><title>bad \xff\xfe utf8</title><guid>1</guid></item></channel></rss>',
    '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><item><title>café latin-1 labelled utf-8</title><guid>1</guid></item></channel></rss>'.encode("latin-1"),
    '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>t</title><item><title>中文 utf-8 labelled latin-1</title><guid>1</guid></item></channel></rss>'.encode("utf-8"),
    b'<rss version="2.0"><channel><title>t</title><item><guid>1</guid></item></channel></rss>',
    b'<rss version="2.0"><channel><title>t</title><item><title>far future</title><guid>1</guid><pubDate>Tue, 01 Jan 2999 00:00:00 GMT</pubDate></item><item><title>odd zone</title><guid>2</guid><pubDate>Sat, 22 Jan 2022 12:16:05 +1345</pubDate></item><item><title>garbage date</title><guid>3</guid><pubDate>32/13/2022 25:61</pubDate></item></channel></rss>',
])
def test_malformed_documents_keep_their_good_items(doc):
    entries = parse_feed(doc, "u").entries
    assert entries, doc[:80]
    for entry in entries:
        assert "\x00" not in entry.title + entry.body


def test_latin1_labelled_utf8_and_reverse_read_right():
    lying = '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>t</title><item><title>中文</title><guid>1</guid></item></channel></rss>'
    # Declared Latin-1, but the bytes are UTF-8: mojibake is the documented behaviour of a
    # liar; what must hold is that the run goes on with an item.
    assert parse_feed(lying.encode("utf-8"), "u").entries[0].title
    honest = '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>t</title><item><title>café</title><guid>1</guid></item></channel></rss>'
    assert parse_feed(honest.encode("latin-1"), "u").entries[0].title == "café"


def test_hundred_thousand_items_and_a_50mb_item(tmp_path, server):
    many = rss(*(f"<item><title>n{i}</title><guid>{i}</guid><description>x</description></item>"
                 for i in range(100_000)))
    server.routes["/many"] = Response(200, many)
    huge = rss(item("huge", "h", "<p>" + "长" * (50 * 2**20 // 3) + "</p>"), item("small", "s"))
    server.routes["/huge"] = Response(200, huge)
    server.routes["/fine"] = Response(200, rss(item("fine", "f")))
    config = write_config(tmp_path, [
        channel_toml("g", "s", "many", server.url("/many")),
        channel_toml("g", "s", "huge", server.url("/huge")),
        channel_toml("g", "s", "fine", server.url("/fine")),
    ])
    result, peak = run_measured(config, timeout=300)
    assert peak <= 300, peak
    # 100,000 items: the first 15 are written. 50 MB: over max_bytes (20 MB), a failed feed.
    assert result.returncode == 1
    assert "g/s/huge" in result.stderr and "too large" in result.stderr
    written = posts_in(tmp_path)
    assert sum(1 for p in written if "/many/" in p) == 15
    assert any("/fine/" in p for p in written)


def test_duplicate_guids_and_same_item_in_two_feeds(tmp_path, server):
    body = rss(item("first", "dup", "<p>1</p>"), item("second", "dup", "<p>2</p>"), item("other", "o"))
    server.routes["/a"] = Response(200, body)
    server.routes["/b"] = Response(200, body)
    config = write_config(tmp_path, [channel_toml("g", "s", "a", server.url("/a")),
                                     channel_toml("g", "s", "b", server.url("/b"))])
    assert newsmirror("run", "--config", str(config)).returncode == 0
    written = posts_in(tmp_path)
    # one post per identity per channel: the first of the duplicates; both channels keep theirs
    assert sorted(written) == ["source/_posts/g/s/a/first.md", "source/_posts/g/s/a/other.md",
                               "source/_posts/g/s/b/first.md", "source/_posts/g/s/b/other.md"]
