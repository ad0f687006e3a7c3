"""Reading RSSHub's error pages: the reason in one line, and the kind of failure.

The pages are RSSHub's own formats: 1.0's (what tests/rsshub runs; test_rsshub.py checks it
end to end), the later Hono-based one's, and the JSON of RSSHub embedded as a package.
"""

from __future__ import annotations

import json

import pytest

from conftest import Response
from newsmirror.exceptions import FeedError
from newsmirror.rsshub import Failure, describe, error_reason
from test_fetch import fetch

_V1 = ('<!DOCTYPE html><html><head><title>Error in RSSHub!</title></head><body><div class="content">'
       '<h1>Looks like something went wrong</h1><pre class="message">{}</pre></div></body></html>')
_V2 = ('<!DOCTYPE html><html><head><title>RSSHub</title></head><body><h1>Looks like something went wrong</h1>'
       '<p class="message">Error Message:<br><code class="mt-2 block details">{}</code></p>'
       '<p class="message">Route: <code>/zhihu/daily</code></p></body></html>')
_HINT = (': target website might be blocking our access, you can <a href="https://docs.rsshub.app/install/">'
         'host your own RSSHub instance</a> for a better usability.<br><br>如果您认为 RSSHub 导致了该错误，'
         '<a href="https://github.com/DIYgod/RSSHub/issues/new">报告</a>')
_STACK = "\n    at module.exports (/app/lib/middleware/parameter.js:14:15)\n    at async dispatch"


@pytest.mark.parametrize("page, status, kind, message", [
    (_V1.format("Error: wrong path" + _STACK), 404, Failure.NO_ROUTE, "Error: wrong path"),
    (_V1.format("getaddrinfo ENOTFOUND chinese.aljazeera.net" + _HINT), 404, Failure.SOURCE,
     "getaddrinfo ENOTFOUND chinese.aljazeera.net"),
    (_V1.format("Response code 403 (Forbidden)" + _HINT), 404, Failure.SOURCE, "Response code 403 (Forbidden)"),
    (_V1.format("Response code 429 (Too Many Requests)" + _HINT), 404, Failure.RATE_LIMITED,
     "Response code 429 (Too Many Requests)"),
    (_V1.format("TypeError: Cannot read properties of undefined (reading 'map')" + _STACK), 404, Failure.ROUTE,
     "TypeError: Cannot read properties of undefined (reading 'map')"),
    (_V2.format("NotFoundError: The route does not exist or has been deleted."), 404, Failure.NO_ROUTE,
     "NotFoundError: The route does not exist or has been deleted."),
    (_V2.format('FetchError: [GET] "https://news-at.zhihu.com/api/7/section/2": &lt;no response&gt; fetch failed'),
     503, Failure.SOURCE, 'FetchError: [GET] "https://news-at.zhihu.com/api/7/section/2": <no response> fetch failed'),
    (_V2.format("Error: something broke"), 429, Failure.RATE_LIMITED, "Error: something broke"),
    (_V2.format("Error: this route is empty"), 503, Failure.ROUTE, "Error: this route is empty"),
    (json.dumps({"error": {"message": "wrong path"}}), 404, Failure.NO_ROUTE, "wrong path"),
])
def test_rsshub_error_pages_give_their_reason_and_kind(page, status, kind, message):
    assert error_reason(status, page.encode()) == (kind, message)
    assert describe(status, "Not Found", page.encode()) == f"{kind.value}: {message} (HTTP {status} Not Found)"


@pytest.mark.parametrize("body", [
    b"", b"Not Found", b"<html><body><h1>404</h1><pre class='message'>nginx</pre></body></html>",
    b'{"detail": "missing"}', b"{not json", b'{"error": "wrong path"}',
    _V1.format("").encode(), b"\xff\xfe RSSHub \x00",
])
def test_other_answers_are_the_bare_status(body):
    assert error_reason(404, body) is None
    assert describe(404, "Not Found", body) == "HTTP 404 Not Found"
    assert describe(404, None, body) == "HTTP 404"


def test_a_long_reason_is_cut_to_one_line():
    page = _V1.format("Error: " + "x " * 500 + "\n\nmore").encode()
    kind, message = error_reason(500, page)
    assert kind is Failure.ROUTE and "\n" not in message and len(message) == 200 and message.endswith("…")


def test_fetch_reports_the_reason_and_still_retries_a_5xx(server):
    server.routes["/busy"] = Response(503, _V2.format("Error: route crashed").encode(), {"Content-Type": "text/html"})
    with pytest.raises(FeedError) as caught:
        fetch(server.url("/busy"), retries=1)
    assert str(caught.value) == "the RSSHub route failed: Error: route crashed (HTTP 503 Service Unavailable)"
    assert server.hits("/busy") == 2
