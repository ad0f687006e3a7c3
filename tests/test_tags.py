"""The tag positions the edits rely on, checked against a second HTML5 parser (lexbor; the
safety decision's own parse is turbohtml's).

The oracle: give every start tag that ``iter_start_tags`` reports a new attribute at its
``insert_at``, then parse. Each of those attributes must come out on an element of the same
name, and nowhere else (not in text, a comment, another attribute's value), whatever the body.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from newsmirror.clean import clean_body
from newsmirror.tags import attribute_insertion, iter_start_tags

# Markup pieces, hostile ones included. Not SVG or MathML (their CDATA rules differ, and a body
# with them never keeps its markup), nor elements whose content the parser keeps out of the tree
# (<template>, <select>, table parts outside a table) or renames (<image>), nor <noscript> (lexbor parses with scripting off,
# browsers with it on).
PIECES = ["<", ">", "/", "=", '"', "'", " ", "\n", "\t", "\x0c", "a", "img", "p", "b", "style",
          "title", "iframe", "textarea", "xmp", "x", "src=", "href=", "<!--", "-->", "--!>", "-",
          "!", "?", "</", "<a ", "<img ", "<p>", "</p>", "<b>", "</b>", "<br/>", "</a>",
          "</style>", "</STYLE ", "<Style>", "<title>", "</title>", "<iframe>", "</iframe>",
          "<textarea>", "</textarea>", "<!", "<?", "é", "&amp;", "&quot;", "<li>",
          "<h3>", "<div>", "</div>", 'title="', "alt='", "<plaintext>"]


def _marked(markup: str) -> tuple[str, list[str]]:
    found = list(iter_start_tags(markup))
    out, position = [], 0
    for k, tag in enumerate(found):
        out += [markup[position:tag.insert_at], attribute_insertion(markup, tag, f" data-nm{k}")]
        position = tag.insert_at
    out.append(markup[position:])
    return "".join(out), [tag.name for tag in found]


def _check_positions(markup: str) -> None:
    marked, names = _marked(markup)
    tree = LexborHTMLParser("<!DOCTYPE html><html><head></head><body><div>" + marked)
    seen: dict[int, str] = {}
    for node in tree.root.traverse(include_text=False):
        for attribute in node.attributes:
            match = re.fullmatch(r"data-nm(\d+)", attribute)
            if match:
                seen.setdefault(int(match.group(1)), node.tag)
    assert seen == dict(enumerate(names)), (markup, marked)
    # every marker became an attribute: none is left in text, comments or attribute values
    html = tree.html or ""
    assert html.count("data-nm") == sum(1 for node in tree.root.traverse(include_text=False)
                                        for a in node.attributes if a.startswith("data-nm")), marked


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_every_tag_found_is_a_tag_to_the_parser(markup):
    _check_positions(markup)


def test_tags_inside_values_comments_and_raw_text_are_not_tags():
    for markup in (
        '<b title="<img x>">t</b><img src=y>',
        "<b title='<a href=x>'>t</b>",
        '<a href="/x">one<p>two</a></p><b title="<img x><script>alert(1)</script>">t</b>',
        "<!-- <img src=a> --><img src=b><!--><img src=c><!---><img src=d>",
        "<style><img src=a></style ><img src=b><title><a href=x></title>",
        '<iframe src="https://player.example/"><img src=a></iframe><textarea><img></textarea>',
        "</é <img src=a> x><img src=b><? <img ?><img src=c>",
        "<img src=x/><img src='a>b'><img alt=a=b><img src=><img src= ><img alt= / >",
    ):
        _check_positions(markup)


def test_an_image_tag_in_an_attribute_value_is_left_alone():
    # An <a> the parser clones (misnested around a <p>) makes as many <a>/<img> elements as
    # "<a"/"<img" strings: the edits must still only go where the tokenizer sees tags.
    body = '<a href="https://e.example/x">one<p>two</a></p><b title="<img x><script>alert(1)</script>">t</b>'
    assert clean_body(body).html == body


def test_an_attribute_added_after_a_dangling_equals_sign_is_not_its_value():
    assert clean_body("<img src=>").html == '<img src="" referrerpolicy="no-referrer">'
    # (here data-src=… is alt's value, as a browser reads it)
    assert clean_body('<img alt= data-src="https://i.example/a.jpg">').html == \
        '<img alt= data-src="https://i.example/a.jpg" referrerpolicy="no-referrer">'
    assert clean_body('<img data-src="https://i.example/a.jpg" src= >').html == \
        '<img data-src="https://i.example/a.jpg" src= "https://i.example/a.jpg" referrerpolicy="no-referrer">'


# Pieces of images and links as feeds serve them: with and without referrerpolicy, absolute,
# relative, http:// (which an image proxy takes), lazy, and with entities in their URLs.
LINKED_PIECES = PIECES + [
    '<img src="https://i.example.com/a.jpg" referrerpolicy="no-referrer">',
    '<img src="https://i.example.com/a.jpg">', '<img src="/b.png" referrerpolicy="no-referrer">',
    '<img src="http://i.example.com/c.gif" referrerpolicy="no-referrer">',
    '<img data-src="https://i.example.com/d.jpg">', "<img src=x.jpg referrerpolicy=no-referrer/>",
    '<a href="https://example.com/x?a=1&amp;b=2">', '<a href="/tag/1">', "<a href=rel>", "</a>",
    "<a href>", '<img src=" https://i.example.com/e.jpg" referrerpolicy="no-referrer">',
]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(LINKED_PIECES), max_size=30).map("".join),
       st.sampled_from([None, "https://example.com/post/1"]),
       st.sampled_from(["", "https://proxy.example.net/?url="]))
def test_fixes_skipped_on_the_parse_s_word_would_change_nothing(markup, base, proxy):
    """clean_body reads off the parse which of the image and link fixes a body needs; doing
    them all must give the same bytes and the same lead image."""
    from newsmirror.clean import fix_images, make_safe

    safe, seen, _ = make_safe(markup)
    if seen is None:
        return  # repaired bodies always get every fix
    result = clean_body(markup, base, proxy)
    assert (result.html, result.lead_image) == fix_images(safe, base, proxy)


# The same, and the line breaks of Windows-made feeds (the parser counts a CR LF as one character).
LOCATED_PIECES = LINKED_PIECES + ["\r\n", "\r", '<img\r\nsrc="/a.jpg"\r\nalt="x\r\ny">',
                                  "<a\r\nhref=x\r\n>", '<img src="a" src=b>', "<img src=a src=>"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(LOCATED_PIECES), max_size=30).map("".join))
def test_tags_the_parse_located_are_the_tokenizer_s(markup):
    """The <img> and <a> tags the safety parse reports (turbohtml's element positions) are where
    the tokenizer of tags.py finds them, with the same attributes and insertion point."""
    from newsmirror.clean import _inspect, _located_tags

    seen = _inspect(markup)
    located = list(_located_tags(seen.elements, markup, links=True))
    assert [tag.start for tag in located] == sorted(tag.start for tag in located), markup
    scanned = {tag.start: tag for tag in iter_start_tags(markup, names=frozenset(("img", "a")))}
    for tag in located:
        assert tag.start in scanned, (markup, tag)
        other = scanned[tag.start]
        assert (tag.name, tag.end, tag.insert_at) == (other.name, other.end, other.insert_at), markup
        assert (tag.dangling is None) == (other.dangling is None), markup
        for name in ("src", "href", "referrerpolicy", "data-src", "srcset", "alt"):
            assert tag.get(name) == other.get(name), (markup, name)
    if seen.problem is None:  # every image of a body kept as served is one the parse located
        assert {start for start, tag in scanned.items() if tag.name == "img"} <= \
            {tag.start for tag in located}, markup
