"""Private hosts as a browser reads them, and what of a fetch URL may be published (pure)."""

from __future__ import annotations

import pytest

from newsmirror.urls import is_private_url, publishable_url


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.1", "http://0x7f.1/", "http://0177.0.0.1/", "http://2130706433/",
    "https://a.com@127.0.0.1/", "http://a.com:80@10.0.0.1/", "https://localhost./x", "http://printer.local:80/",
    "https://[::1]/", "http://[::ffff:127.0.0.1]/", "//10.0.0.1/a", "http://192.168.1.1/", "http://169.254.169.254/",
    "http://%31%32%37.0.0.1/", "http://１２７.０.０.１/", "http://router/", "file:///etc/passwd",
    "HTTP://127.0.0.1/", "http://127.0.0.\n1/", " http://10.1.2.3/", "http://x.internal/", "http://a.home.arpa/",
])
def test_private(url):
    assert is_private_url(url)


@pytest.mark.parametrize("url", [
    "https://a.com/x", "https://x.example:8080/a", "http://a.com\\@127.0.0.1/", "/rel", "rel.png",
    "data:image/png,x", "https://8.8.8.8/", "https://例子.中国/图", "mailto:a@127.0.0.1",
])
def test_public(url):
    assert not is_private_url(url)


def test_publishable_url():
    assert publishable_url("https://u:p@feeds.example/a?key=1&page=2&token=x") == "https://feeds.example/a?page=2"
    assert publishable_url("https://feeds.example/a?page=2") == "https://feeds.example/a?page=2"
    assert publishable_url("http://127.0.0.1:1200/test/1?key=SECRET") is None
    assert publishable_url("file:///home/me/feed.xml") is None
