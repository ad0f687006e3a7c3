"""Golden cases: the reference's real posts, reproduced byte for byte from the served feed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from conftest import IMAGE_PROXY, golden_cases, mask_picsum
from newsmirror.clean import clean_body
from newsmirror.dates import post_date
from newsmirror.decide import file_name, item_identity, picsum_number
from newsmirror.hexo import Post, picsum_url, render_post
from newsmirror.parse import parse_feed

CASES = golden_cases()


def _crawl_timestamp(case) -> float:
    if case.crawl_time is None:
        return datetime(2022, 6, 1, tzinfo=timezone.utc).timestamp()
    return datetime.strptime(case.crawl_time, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_post_bytes(case):
    feed = parse_feed(case.feed, "https://example.invalid/feed")
    (entry,) = feed.entries
    body = clean_body(entry.body, entry.link, IMAGE_PROXY)
    assert not body.sanitized
    identity = item_identity(entry)
    image = body.lead_image or picsum_url(picsum_number(identity))
    text = render_post(Post(
        title=entry.title, group=case.group, site=case.site, channel=case.channel,
        author=case.site, date=post_date(entry.date_text, entry.published, _crawl_timestamp(case)),
        image=image, body=body.html,
    ))
    assert mask_picsum(text) == mask_picsum(case.expected)
    assert (body.lead_image is None) == case.picsum_fallback


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_post_path(case):
    (entry,) = parse_feed(case.feed, "https://example.invalid/feed").entries
    name = file_name(entry.title, item_identity(entry), taken=set())
    assert f"source/_posts/{case.group}/{case.site}/{case.channel}/{name}" == case.expected_path
