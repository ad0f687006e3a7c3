"""Fuzz the parse -> clean -> render -> write path with hypothesis, for a bounded time.

Generates feed documents (RSS, Atom, JSON Feed; random encodings, declarations and BOMs; broken
markup; item bodies built from real HTML, script vectors and random text), runs each through
newsmirror's whole per-channel update into a temporary folder, and checks:

- nothing raises except a FeedError (a reported feed failure);
- every written post's front matter is valid YAML and lies inside its channel folder;
- every cleaned body passes the HTML5 safety check (nothing that runs script survives).

    python bench/fuzz.py --minutes 5

Prints the number of documents tried and any failure (with the document that caused it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from newsmirror.clean import clean_body, unsafe_reason
from newsmirror.config import parse_config
from newsmirror.exceptions import FeedError
from newsmirror.job import ChannelJob
from newsmirror.types import Fetched
from newsmirror.update import update_channel

VECTORS = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>', '<a href="java&#x09;script:alert(1)">x</a>',
    '<iframe srcdoc="<script>alert(1)</script>">', "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">', "<!--><img src=x onerror=alert(1)>-->",
    '<object data="javascript:alert(1)">', '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<style>@import 'javascript:alert(1)';</style>", '<div style="background:url(javascript:alert(1))">',
    "<template><script>alert(1)</script></template>", '<img srcset="javascript:alert(1) 1x">',
    "<base href=javascript:/>", "<form><button formaction=javascript:alert(1)>x", "<body onload=alert(1)>",
]
BENIGN = [
    "<p>段落 paragraph</p>", '<img src="https://i.example/a.jpg" alt>', '<img data-src="/lazy.jpg">',
    '<a href="../rel">rel</a>', "<br>", "<ul><li>a</li></ul>", "&amp; &copy; &nbsp;", "<!-- c -->",
    '<div class="x" onclick>y</div>', "{{ site }} {% raw %} {#", "<table><tr><td>1</td></tr></table>",
    "<p>unclosed", "</div>", "<", ">", "&", "'", '"',
]
FRAGMENT = st.one_of(st.sampled_from(VECTORS), st.sampled_from(BENIGN), st.text(max_size=40))
BODY = st.lists(FRAGMENT, max_size=12).map("".join)
TEXT = st.one_of(st.text(max_size=60), st.sampled_from(["", "'\"", "../../x", "CON", "长" * 100, "a: b #c"]))
ENCODING = st.sampled_from(["utf-8", "gb18030", "big5", "latin-1", "utf-16"])


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def documents(draw) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["rss", "atom", "json", "garbage"]))
    items = draw(st.lists(st.tuples(TEXT, BODY, st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT)),
                          max_size=6))
    if kind == "json":
        doc = {"version": "https://jsonfeed.org/version/1.1", "title": "f",
               "items": [{"id": guid, "title": title, "content_html": body, "date_published": date}
                         for title, body, guid, date in items]}
        return json.dumps(doc).encode(), kind
    if kind == "garbage":
        return draw(st.binary(max_size=400)), kind
    cdata = draw(st.booleans())
    parts = []
    for title, body, guid, date in items:
        content = f"<![CDATA[{body.replace(']]>', '')}]]>" if cdata else _xml_escape(body)
        if kind == "rss":
            parts.append(f"<item><title>{_xml_escape(title)}</title>"
                         + (f"<guid>{_xml_escape(guid)}</guid>" if guid else "")
                         + (f"<pubDate>{_xml_escape(date)}</pubDate>" if date else "")
                         + f"<description>{content}</description></item>")
        else:
            parts.append(f"<entry><title>{_xml_escape(title)}</title>"
                         + (f"<id>{_xml_escape(guid)}</id>" if guid else "")
                         + (f"<updated>{_xml_escape(date)}</updated>" if date else "")
                         + f'<content type="html">{content}</content></entry>')
    encoding = draw(ENCODING)
    declared = draw(st.sampled_from([encoding, "utf-8", None]))
    head = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    if kind == "rss":
        text = f'{head}<rss version="2.0"><channel><title>f</title>{"".join(parts)}</channel></rss>'
    else:
        text = f'{head}<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>{"".join(parts)}</feed>'
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]  # cut anywhere
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data, kind


def check(data: bytes, workdir: Path) -> None:
    config = parse_config({"channel": [{"group": "g", "site": "s", "channel": "c",
                                        "url": "https://feeds.example/f"}]}, workdir / "newsmirror.toml")
    (channel,) = config.channels
    job = ChannelJob(channel, None, config.output.posts_dir, "https://proxy.example/?", "window",
                     1_700_000_000.0, False)
    try:
        result = update_channel(job, Fetched("https://feeds.example/f", data))
    except FeedError:
        return
    folder = config.output.posts_dir / "g" / "s" / "c"
    for record in result.records:
        path = folder / record.file
        assert path.resolve().parent == folder.resolve(), path
        text = path.read_text("utf-8")
        meta = yaml.safe_load(text[5:text.index("\n---\n", 4)])
        assert meta["categories"] == ["g", "s", "c"]
        body = text[text.index("<div>   \n") + 9: text.rindex("  \n</div>\n")]
        body = body.replace("&#123;", "{").replace("&#125;", "}")
        assert unsafe_reason(body) is None, (unsafe_reason(body), body[:300])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    deadline = time.monotonic() + args.minutes * 60
    tried = [0]
    failures: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="newsmirror-fuzz-"))

    # Batches of examples, each a fresh hypothesis run, until the time is up.
    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(documents(), BODY)
    def one(document: tuple[bytes, str], body: str) -> None:
        if time.monotonic() > deadline:
            return
        tried[0] += 1
        shutil.rmtree(workdir / "site", ignore_errors=True)
        try:
            check(document[0], workdir)
            cleaned = clean_body(body, "https://e.example/a/b", "")
            assert unsafe_reason(cleaned.html) is None, cleaned.html[:300]
        except Exception:  # noqa: BLE001 - every unexpected error is a finding
            failures.append(f"{traceback.format_exc()}\ninput: {document!r}\nbody: {body!r}")
            raise

    try:
        while time.monotonic() < deadline and not failures:
            try:
                one()
            except Exception:  # noqa: BLE001 - reported below
                break
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"fuzz: {tried[0]} documents in {args.minutes:g} min, {len(failures)} failures")
    for failure in failures[:3]:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
