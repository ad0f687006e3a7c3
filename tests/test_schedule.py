"""When a channel is fetched: its interval, the server's Cache-Control / Expires, the feed's
<ttl>, a failing channel's backoff, the one-day cap, Retry-After and ``run --all``.

The rules are pure (decide.fetch_wait / next_fetch); the CLI tests move the clock with
SOURCE_DATE_EPOCH and count the requests a loopback server sees per path.
"""

from __future__ import annotations

import email.utils
import json
import time

import pytest

from conftest import EPOCH, Response, channel_toml, item, newsmirror, rss, write_config
from newsmirror.config import parse_duration
from newsmirror.decide import DAY, fetch_wait, next_fetch
from newsmirror.fetch import fresh_for_seconds

HOUR = 3600.0


# ------------------------------------------------------------------------------ pure rules

def test_the_wait_is_the_largest_of_interval_lifetime_and_ttl():
    assert fetch_wait(interval=900, fresh_for=None, ttl=None, failures=0) == 900
    assert fetch_wait(interval=900, fresh_for=3600, ttl=None, failures=0) == 3600
    assert fetch_wait(interval=900, fresh_for=300, ttl=7200, failures=0) == 7200
    assert fetch_wait(interval=0, fresh_for=None, ttl=None, failures=0) == 0


def test_failures_double_the_wait_up_to_a_day():
    waits = [fetch_wait(interval=900, fresh_for=None, ttl=None, failures=n) for n in range(1, 10)]
    assert waits[:5] == [900, 1800, 3600, 7200, 14400]
    assert waits[-1] == DAY and all(w <= DAY for w in waits)
    # without an interval, backoff starts at five minutes
    assert fetch_wait(interval=0, fresh_for=None, ttl=None, failures=1) == 300
    assert fetch_wait(interval=0, fresh_for=None, ttl=None, failures=1000) == DAY


def test_no_wait_exceeds_a_day():
    assert fetch_wait(interval=7 * DAY, fresh_for=30 * DAY, ttl=10 * DAY, failures=0) == DAY


def test_next_fetch_keeps_retry_after_and_a_new_channel_is_due_at_once():
    assert next_fetch(last_attempt=None, interval=900, fresh_for=None, ttl=None, failures=0,
                      retry_after=None) is None
    assert next_fetch(last_attempt=1000.0, interval=900, fresh_for=None, ttl=None, failures=0,
                      retry_after=None) == 1900.0
    assert next_fetch(last_attempt=1000.0, interval=900, fresh_for=None, ttl=None, failures=0,
                      retry_after=5000.0) == 5000.0


@pytest.mark.parametrize("text, seconds", [
    ("15m", 900), ("1h", 3600), ("90s", 90), ("1d", DAY), ("1h30m", 5400), ("90", 90),
    (30, 30), ("0", 0), (" 2h ", 7200)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "15x", "-5", -5, "1h-2m", True, "h15"])
def test_bad_durations(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("headers, seconds", [
    ({"Cache-Control": "public, max-age=300"}, 300),
    ({"Cache-Control": "max-age=300", "Age": "100"}, 200),
    ({"Cache-Control": 'max-age="60"'}, 60),
    ({"Cache-Control": "no-cache, max-age=300"}, 0),
    ({"Cache-Control": "max-age=300", "Expires": "Thu, 01 Jan 2099 00:00:00 GMT"}, 300),
    ({"Expires": "Sat, 22 Jan 2022 13:16:05 GMT", "Date": "Sat, 22 Jan 2022 12:16:05 GMT"}, 3600),
    ({"Expires": "0"}, 0),
    ({}, None),
])
def test_response_lifetime(headers, seconds):
    assert fresh_for_seconds(headers, now=0.0) == seconds


# ------------------------------------------------------------------------------ through the CLI

def _run(config, at: float, *args):
    return newsmirror("run", "--config", str(config), *args, due_only=True,
                      env_extra={"SOURCE_DATE_EPOCH": str(int(int(EPOCH) + at))})


def _feed(server, path, headers=None, ttl=None):
    body = rss(item("one", "g1"))
    if ttl is not None:
        body = body.replace(b"<channel>", f"<channel><ttl>{ttl}</ttl>".encode())
    server.routes[path] = Response(200, body, headers or {})
    return server.url(path)


def _hits_over(server, config, path, moments, *args):
    """Runs at each moment (seconds after the first); the requests the path saw after each."""
    seen = []
    for at in moments:
        result = _run(config, at, *args)
        assert result.returncode in (0, 1), result.stderr
        seen.append(server.hits(path))
    return seen


def test_interval(tmp_path, server):
    url = _feed(server, "/a.xml")
    config = write_config(tmp_path, [channel_toml("g", "s", "c", url)], fetch_extra='interval = "15m"')
    assert _hits_over(server, config, "/a.xml", [0, 60, 899, 900, 1000, 1800]) == [1, 1, 1, 2, 2, 3]
    summary = _run(config, 1801).stdout
    assert "1 not due" in summary, summary


def test_a_channel_s_own_interval_wins(tmp_path, server):
    a, b = _feed(server, "/a.xml"), _feed(server, "/b.xml")
    config = write_config(tmp_path, [channel_toml("g", "s", "a", a, 'interval = "1h"'),
                                     channel_toml("g", "s", "b", b)],
                          fetch_extra='interval = "10m"')
    for at in (0, 600, 3600):
        _run(config, at)
    assert (server.hits("/a.xml"), server.hits("/b.xml")) == (2, 3)


def test_max_age(tmp_path, server):
    url = _feed(server, "/a.xml", {"Cache-Control": "public, max-age=300"})
    config = write_config(tmp_path, [channel_toml("g", "s", "c", url)])
    assert _hits_over(server, config, "/a.xml", [0, 10, 299, 300, 301]) == [1, 1, 1, 2, 2]


def test_expires(tmp_path, server):
    # an hour after the Date header the server sends (its own clock)
    url = _feed(server, "/a.xml", {"Expires": email.utils.formatdate(time.time() + 3600, usegmt=True)})
    config = write_config(tmp_path, [channel_toml("g", "s", "c", url)])
    assert _hits_over(server, config, "/a.xml", [0, 3590, 3600]) == [1, 1, 2]


def test_ttl_in_minutes(tmp_path, server):
    url = _feed(server, "/a.xml", ttl=60)
    config = write_config(tmp_path, [channel_toml("g", "s", "c", url)], fetch_extra='interval = "5m"')
    assert _hits_over(server, config, "/a.xml", [0, 300, 3599, 3600]) == [1, 1, 1, 2]


def test_a_failing_channel_backs_off(tmp_path, server):
    server.routes["/a.xml"] = Response(500, b"down", {"Content-Type": "text/plain"})
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/a.xml"))],
                          fetch_extra='interval = "10m"')
    # failures at 0, 600 (wait 10 min), 1800 (20 min), 4200 (40 min); then it comes back
    hits = _hits_over(server, config, "/a.xml", [0, 599, 600, 1799, 1800, 4199, 4200])
    assert hits == [1, 1, 2, 2, 3, 3, 4]
    server.routes["/a.xml"] = Response(200, rss(item("one", "g1")))
    assert _hits_over(server, config, "/a.xml", [4200 + 4799, 4200 + 4800, 4200 + 4800 + 599]) == [4, 5, 5]


def test_waits_are_capped_at_a_day(tmp_path, server):
    url = _feed(server, "/a.xml", {"Cache-Control": "max-age=31536000"}, ttl=100000)
    config = write_config(tmp_path, [channel_toml("g", "s", "c", url)], fetch_extra='interval = "7d"')
    assert _hits_over(server, config, "/a.xml", [0, DAY - 1, DAY]) == [1, 1, 2]


def test_run_all_fetches_what_is_not_due_but_honours_retry_after(tmp_path, server):
    a = _feed(server, "/a.xml", {"Cache-Control": "max-age=3600"})
    server.routes["/b.xml"] = Response(429, b"slow down", {"Retry-After": "3600"})
    config = write_config(tmp_path, [channel_toml("g", "s", "a", a),
                                     channel_toml("g", "s", "b", server.url("/b.xml"))])
    _run(config, 0)
    assert (server.hits("/a.xml"), server.hits("/b.xml")) == (1, 1)
    result = _run(config, 60, "--all")
    assert (server.hits("/a.xml"), server.hits("/b.xml")) == (2, 1)
    assert "1 ok, 0 not modified, 0 failed, 1 deferred, 0 not due" in result.stdout, result.stdout
    result = _run(config, 120)
    assert (server.hits("/a.xml"), server.hits("/b.xml")) == (2, 1)
    assert "1 deferred, 1 not due" in result.stdout, result.stdout


def test_a_304_renews_the_lifetime(tmp_path, server):
    def answer(handler):
        headers = {"ETag": '"v1"', "Cache-Control": "max-age=600"}
        if handler.headers.get("If-None-Match") == '"v1"':
            return Response(304, headers=headers)
        return Response(200, rss(item("one", "g1")), headers)
    server.routes["/a.xml"] = answer
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/a.xml"))])
    assert _hits_over(server, config, "/a.xml", [0, 600, 1199, 1200]) == [1, 2, 2, 3]


def test_status_shows_the_next_fetch(tmp_path, server):
    url = _feed(server, "/a.xml")
    config = write_config(tmp_path, [channel_toml("g", "s", "c", url)], fetch_extra='interval = "1h"')
    _run(config, 0)
    status = newsmirror("status", "--json", "--config", str(config),
                        env_extra={"SOURCE_DATE_EPOCH": str(int(EPOCH) + 60)})
    assert status.returncode == 0, status.stderr
    (row,) = json.loads(status.stdout)
    assert row["next_fetch"] == "2021-08-07T03:22:05+00:00"
    text = newsmirror("status", "--config", str(config),
                      env_extra={"SOURCE_DATE_EPOCH": str(int(EPOCH) + 3600)}).stdout
    assert "next fetch on the next run" in text, text


@pytest.mark.parametrize("value", ['"15x"', '"-1m"', "true", '""'])
def test_a_bad_interval_is_a_config_error(tmp_path, server, value):
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/a.xml"))],
                          fetch_extra=f"interval = {value}")
    result = newsmirror("run", "--config", str(config), due_only=True)
    assert result.returncode == 2
    assert "[fetch]" in result.stderr and "interval must be" in result.stderr
    assert "Traceback" not in result.stderr
