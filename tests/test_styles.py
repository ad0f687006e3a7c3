"""Which CSS may stay in a body: the quick reading of everyday inline styles agrees with
tinycss2's, and a <style> element's verdict depends on the body's own classes and ids."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsmirror.clean import loads_safely
from newsmirror.styles import _filter_parsed, _plainly_allowed, filter_declarations, stylesheet_allowed

PIECES = ["color", "margin", "padding", "position", "text-align", "font-family", "width", "z-index",
          "-webkit-text-size-adjust", "--x", ":", ";", " ", "\t", "\n", ",", "/", "-", "+", ".", "#",
          "0", "1", "10", "px", "em", "%", "e3", "center", "auto", "solid", "red", "#ccc", "absolute",
          '"a b"', "'c'", '"', "'", "\\", "/*", "*/", "(", ")", "rgb(", "rgba(0,0,0,.5)", "url(",
          "url(https://i.example/a.png)", "expression(", "javascript:", "!important", "微软雅黑",
          "\u3000", "{", "}", "@import"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=25).map("".join))
def test_the_quick_reading_allows_only_what_tinycss2_allows(css):
    if _plainly_allowed(css):
        assert _filter_parsed(css, loads_safely) == css


def test_everyday_inline_styles_stay_as_served():
    for css in ("text-align:center", "border-left:3px solid #ccc", "margin:0 auto; padding: 1em 2px;",
                'font-family: "Microsoft YaHei", 微软雅黑; font-size: 14px', "color:rgba(0, 0, 0, .5)",
                "width:100%; max-width: 640px", "font: 12px/1.5 serif"):
        assert _plainly_allowed(css), css
        assert filter_declarations(css, loads_safely) == css


def test_what_reaches_outside_the_body_goes():
    assert filter_declarations("position:absolute; color:red", loads_safely) == "color:red"
    assert filter_declarations("margin:-40px 0", loads_safely) == ""
    assert filter_declarations("background:url(http://127.0.0.1/x.png)", loads_safely) == ""
    assert filter_declarations("color:red; width:expression(alert(1))", loads_safely) == "color:red"


def test_a_style_element_stays_only_for_the_bodys_own_names():
    css = ".entry-content img{max-width:100%}#main h3{margin:1em 0}"
    assert stylesheet_allowed(css, frozenset({".entry-content", "#main"}), loads_safely)
    assert not stylesheet_allowed(css, frozenset({".entry-content"}), loads_safely)  # the same text, cached
    assert not stylesheet_allowed("body{background:#000}", frozenset({".x"}), loads_safely)
    assert not stylesheet_allowed(".x + p{color:red}", frozenset({".x"}), loads_safely)
