"""Cleaning: benign markup keeps its bytes, images get fixed, nothing that runs script survives."""

from __future__ import annotations

import pytest

from newsmirror.clean import clean_body, fix_images, iter_start_tags, unsafe_reason

BASE = "https://news.example/2022/01/article.html"
PROXY = "https://proxy.example/?"


def test_benign_markup_keeps_its_bytes():
    body = '<div class="a"  data-x=1><p>R&D &copy; <a href="https://e.x/?a=1&b=2">x</a></p>\n<br>text<hr/></div>  '
    result = clean_body(body, BASE)
    assert result.html == body and result.lead_image is None and not result.sanitized


@pytest.mark.parametrize("body, expected", [
    ('<img src="https://i.x/a.jpg">', '<img src="https://i.x/a.jpg" referrerpolicy="no-referrer">'),
    ("<img src='https://i.x/a.jpg' />", "<img src='https://i.x/a.jpg' referrerpolicy=\"no-referrer\" />"),
    ('<IMG SRC=https://i.x/a.jpg alt>', '<IMG SRC=https://i.x/a.jpg alt referrerpolicy="no-referrer">'),
    ('<img src="https://i.x/a.jpg" referrerpolicy="origin">', '<img src="https://i.x/a.jpg" referrerpolicy="origin">'),
    ('<img\nsrc="https://i.x/a.jpg"\n>', '<img\nsrc="https://i.x/a.jpg"\nreferrerpolicy="no-referrer">'),
    ('<img src="https://i.x/a.jpg"/>', '<img src="https://i.x/a.jpg" referrerpolicy="no-referrer"/>'),
    ('<img alt="a > b" src="https://i.x/a.jpg">', '<img alt="a > b" src="https://i.x/a.jpg" referrerpolicy="no-referrer">'),
])
def test_referrerpolicy_added_last(body, expected):
    assert clean_body(body, BASE).html == expected


def test_lazy_source_promoted_and_relative_urls_resolved():
    body = ('<img data-src="/img/1.jpg"><img data-original="https://i.x/2.jpg" src="">'
            '<a href="../other.html">o</a><a href="#top">t</a><img src="3.png">')
    result = clean_body(body, BASE)
    assert result.html == (
        '<img data-src="/img/1.jpg" src="https://news.example/img/1.jpg" referrerpolicy="no-referrer">'
        '<img data-original="https://i.x/2.jpg" src="https://i.x/2.jpg" referrerpolicy="no-referrer">'
        '<a href="https://news.example/2022/other.html">o</a>'
        '<a href="https://news.example/2022/01/article.html#top">t</a>'
        '<img src="https://news.example/2022/01/3.png" referrerpolicy="no-referrer">'
    )
    assert result.lead_image == "https://news.example/img/1.jpg"


def test_image_proxy_on_every_http_image_only():
    body = ('<img src="https://i.x/secure.jpg"><img data-original="http://i.x/a.jpg" src="http://i.x/a.jpg?x=1&amp;y=2">'
            '<a href="http://e.x/">link untouched</a>')
    result = clean_body(body, BASE, PROXY)
    assert result.html == (
        '<img src="https://i.x/secure.jpg" referrerpolicy="no-referrer">'
        '<img data-original="http://i.x/a.jpg" src="https://proxy.example/?http://i.x/a.jpg?x=1&amp;y=2" referrerpolicy="no-referrer">'
        '<a href="http://e.x/">link untouched</a>'
    )
    assert result.lead_image == "https://i.x/secure.jpg"
    only_http = clean_body('<p><img src="http://i.x/a.jpg"></p>', BASE, PROXY)
    assert only_http.lead_image == "https://proxy.example/?http://i.x/a.jpg"


def test_lead_image_is_first_with_a_source():
    body = '<!-- <img src="https://i.x/comment.jpg"> --><img alt="none"><img src="data:image/png;base64,AA=="><img src="https://i.x/real.jpg">'
    result = clean_body(body, BASE)
    assert result.lead_image == "https://i.x/real.jpg"
    assert '<!-- <img src="https://i.x/comment.jpg"> -->' in result.html


def test_tokenizer_skips_comments_and_raw_text():
    body = '<style>a{background:url(x)}<img src=no></style><!--><img src=yes1><textarea><img src=no></textarea>'
    names = [(t.name, t.get("src").value if t.get("src") else None) for t in iter_start_tags(body)]
    assert names == [("style", None), ("img", "yes1"), ("textarea", None)]


def test_bare_event_attribute_is_harmless():
    body = '<div class="img_box" onclick><img src="https://i.x/a.jpg" referrerpolicy="no-referrer"></div>'
    assert unsafe_reason(body) is None
    assert clean_body(body, BASE).html == body


@pytest.mark.parametrize("vector", [
    '<script>alert(1)</script>',
    '<SCRIPT SRC=//evil.example/x.js></SCRIPT>',
    '<img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href=" JaVaScRiPt:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="x.swf"></object>',
    '<embed src="x.swf">',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<form><button formaction="javascript:alert(1)">x</button></form>',
    '<svg><script>alert(1)</script></svg>',
    '<svg onload=alert(1)>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<img srcset="javascript:alert(1) 1x">',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="width: expression(alert(1))">x</div>',
    '<body onload=alert(1)>',
    '<template><img src=x onerror=alert(1)></template>',
    '<img src="https://i.x/a.jpg" data-src="x" onload="alert(1)">',
])
def test_script_vectors_removed(vector):
    assert unsafe_reason(vector) is not None
    result = clean_body(f"<p>before</p>{vector}<p>after</p>", BASE)
    assert result.sanitized
    assert unsafe_reason(result.html) is None
    lowered = result.html.lower()
    assert "alert(1)" not in lowered or "<script" not in lowered and "onerror" not in lowered and "javascript:" not in lowered
    assert "<p>before</p>" in result.html


def test_sanitized_output_still_gets_image_fixes():
    result = clean_body('<img src="/a.jpg" onerror="x()"><script>x()</script>', BASE)
    assert result.sanitized and "onerror" not in result.html and "<script" not in result.html
    assert 'src="https://news.example/a.jpg"' in result.html and 'referrerpolicy="no-referrer"' in result.html
    assert result.lead_image == "https://news.example/a.jpg"


@pytest.mark.parametrize("src", ["https://www.youtube.com/embed/x1", "https://player.bilibili.com/player.html?bvid=1",
                                 "https://v.qq.com/txp/iframe/player.html?vid=x"])
def test_player_frames_kept(src):
    body = f'<p>a</p><iframe src="{src}" allowfullscreen></iframe>'
    assert clean_body(body, BASE).html == body


@pytest.mark.parametrize("src", ["https://player.example/v/1", "http://www.youtube.com/embed/x",
                                 "https://127.0.0.1/x", "https://[::1]/x", "https://youtube.com.evil.example/x"])
def test_other_frames_become_links(src):
    result = clean_body(f'<p>a</p><iframe src="{src}"></iframe><p>b</p>', BASE)
    assert "<iframe" not in result.html and result.html.startswith("<p>a</p>") and result.html.endswith("<p>b</p>")
    public = not any(h in src for h in ("127.0.0.1", "[::1]"))
    assert (f'<a href="{src}">' in result.html) == public


def test_frames_allowed_by_the_operator():
    from newsmirror.clean import CleanPolicy
    body = '<iframe src="https://player.example/v/1"></iframe>'
    assert clean_body(body, BASE, policy=CleanPolicy(iframe_hosts=("player.example",))).html == body


def test_fix_images_without_images_is_identity():
    text = "plain text with < and > and & signs"
    assert fix_images(text, BASE) == (text, None)


@pytest.mark.parametrize("cut", ["<img s", "<img src=", '<img src="x', "<a href", "<img", "&<img s"])
def test_tags_cut_off_by_the_end(cut):
    result = clean_body("<p>x</p>" + cut, BASE)
    assert unsafe_reason(result.html) is None
