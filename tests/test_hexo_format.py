"""Front matter: the reference's bytes where it was right, valid YAML where it was not."""

from __future__ import annotations

import yaml
from hypothesis import given, settings, strategies as st

from newsmirror.hexo import Post, hexo_title, render_post, yaml_plain, yaml_title


def front_matter(text: str) -> dict:
    assert text.startswith("\n---\n")
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[5:end])


def post(**fields) -> Post:
    values = dict(title="t", group="g", site="s", channel="c", author="s",
                  date="Sat, 22 Jan 2022 12:16:05 GMT", image="https://i.x/a.jpg", body="<p>b</p>")
    values.update(fields)
    return Post(**values)


def test_reference_quoting_kept_for_good_values():
    assert yaml_title("plain") == "'plain'"
    assert yaml_title("Let's go") == '"Let\'s go"'
    assert yaml_plain("Aljazeera 半岛网") == "Aljazeera 半岛网"
    assert yaml_plain("3DMGame") == "3DMGame" and yaml_plain("36kr") == "36kr"


def test_both_quotes_in_a_title():
    title = """He said "it's fine" \\ done"""
    text = render_post(post(title=title))
    assert front_matter(text)["title"] == hexo_title(title)


def test_title_replacements():
    assert hexo_title('a: b/c\\d?e*f“g”h<i>j|k[l]m：？！％\'".#  x') == 'a_ b_c_d_e_f_g_h_i_j_k_l_m：？！％\'".#  x'


def test_categories_that_would_break_yaml():
    for value in ["C#: news", "yes", "no", "null", "~", "123", "1e3", "- x", "[x]", "{x}", "&a", "*a",
                  "!tag", "%x", "@x", "`x", "a #b", "2022-01-01", "0x1F", ".inf", "key:", "---", "'q'"]:
        text = render_post(post(group=value, site=value, channel=value, author=value))
        data = front_matter(text)
        expected = value.replace("{", "&#123;").replace("}", "&#125;")
        assert data["categories"] == [expected] * 3, value
        assert data["author"] == expected


SAFE_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
EDGE_TEXT = st.sampled_from(["'", '"', ": ", "#", "---", "\n", "yes", "null", "~", "- ", "[", "{{ x }}",
                             "\u200b", "\u202e", "\x85", "\u2028", "\t", " ", "\\", "\x00", "%"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(SAFE_TEXT, EDGE_TEXT), min_size=1, max_size=6).map("".join),
       st.lists(st.one_of(SAFE_TEXT, EDGE_TEXT), min_size=1, max_size=4).map("".join),
       st.text(max_size=50))
def test_front_matter_always_reads_back(title, category, image):
    title, category = title.strip() or "x", category.strip() or "x"
    text = render_post(post(title=title, group=category, site=category, channel=category,
                            author=category, image="https://i.x/" + image))
    data = front_matter(text)
    brace = lambda s: s.replace("{", "&#123;").replace("}", "&#125;")
    assert data["title"] == brace(hexo_title(title))
    assert data["categories"] == [brace(category)] * 3 and data["author"] == brace(category)
    assert data["headimg"] == data["thumbnail"] == brace("https://i.x/" + image)
    assert data["comments"] is False


def test_long_strings():
    title = "长" * 10_000
    assert front_matter(render_post(post(title=title)))["title"] == title


def test_markdown_leaves_most_bodies_alone():
    from newsmirror.hexo import markdown_inert, markdown_view
    plain = "<p>one</p>\n<p>two</p>"
    assert markdown_view(plain) is plain
    blocks = "<p>one</p>\n\n<p>two</p>\n  \n<div>three</div>"
    assert markdown_view(blocks) is blocks                      # every block raw HTML
    coded = "<div>\n\n        <p>a &amp; b</p>\n<p>c</p>"          # golden 02's shape
    assert markdown_view(coded) == "<div>\n\n<pre><code>    &lt;p&gt;a &amp;amp; b&lt;/p&gt;\n</code></pre>\n<p>c</p>"
    for active in ("<p>a</p>\n\ntext `code`", "<p>a</p>\n\n[x](javascript:y)", "<p>a</p>\n```\nx\n```"):
        assert markdown_view(active) is None
        inert = markdown_inert(active)
        assert "\n\n" not in inert and markdown_view(inert) is inert
    assert markdown_inert("a\r\n\r\nb\n \nc") == "a\r\n<!---->\r\nb\n<!----> \nc"
