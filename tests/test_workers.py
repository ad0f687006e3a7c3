"""A large run's worker processes: the fetch limits hold across them, a dead worker costs only
the feeds it held, and both ways of starting them work."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

from conftest import EPOCH, Response, channel_toml, item, newsmirror, posts_in, rss, write_config
from newsmirror import Mirror, load_config
from newsmirror.config import FetchSettings
from newsmirror.fetch import Fetcher
from newsmirror.job import OFFLOAD_ABOVE, ChannelJob, ChannelUpdate, fetch_and_update
from newsmirror.workers import _context

FEEDS = 40   # enough for two workers


def _count_in_flight(server, delay: float) -> list[int]:
    """Serve /f0 ... /f39, each after ``delay``; the list returned holds the most requests seen
    in flight at once."""
    lock = threading.Lock()
    active, peak = [0], [0]

    def route(n):
        def answer(handler):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(delay)
            with lock:
                active[0] -= 1
            return Response(200, rss(item(f"feed {n}", f"{n}-1"), item(f"feed {n} b", f"{n}-2")))
        return answer

    for n in range(FEEDS):
        server.routes[f"/f{n}"] = route(n)
    return peak


def _config(tmp_path, server, per_host: int):
    channels = [channel_toml("g", "s", f"c{n}", server.url(f"/f{n}")) for n in range(FEEDS)]
    return write_config(tmp_path, channels, fetch_extra=f"concurrency = 16\nper_host = {per_host}")


def test_per_host_limit_holds_across_forked_workers(tmp_path, server):
    peak = _count_in_flight(server, delay=0.1)
    result = newsmirror("run", "--config", str(_config(tmp_path, server, per_host=3)))
    assert result.returncode == 0, result.stderr
    assert "40 ok" in result.stdout and "80 new" in result.stdout
    assert peak[0] == 3   # never more than per_host, and the workers together used all of it
    assert len(posts_in(tmp_path)) == 2 * FEEDS


def test_workers_from_a_fork_server_when_threads_run(tmp_path, server):
    # This process runs the test server's thread: forking it would be unsafe.
    assert _context().get_start_method() == "forkserver"
    peak = _count_in_flight(server, delay=0.1)
    report = Mirror(load_config(_config(tmp_path, server, per_host=2))).run()
    assert report.count("ok") == FEEDS and report.total("new") == 2 * FEEDS
    assert peak[0] == 2
    again = Mirror(load_config(tmp_path / "newsmirror.toml")).run()
    assert again.total("unchanged") == 2 * FEEDS and again.total("new") == 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2:].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_a_killed_worker_costs_only_the_feeds_it_held(tmp_path, server):
    _count_in_flight(server, delay=0.3)
    config = _config(tmp_path, server, per_host=4)
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    run = subprocess.Popen([sys.executable, "-m", "newsmirror", "run", "--all", "--config", str(config)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 10
    while len(_children(run.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(_children(run.pid)[0], signal.SIGKILL)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 1, err
    died = int(re.search(r"(\d+) failed", out).group(1))
    assert 1 <= died <= 4, out       # the feeds it held, within per_host
    assert f"{FEEDS - died} ok" in out and "Traceback" not in err
    assert "the worker process died while handling this feed" in err
    # a new worker served the feeds after it, and the next run writes what was lost
    again = newsmirror("run", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert f"{2 * died} new" in again.stdout
    assert len(posts_in(tmp_path)) == 2 * FEEDS


def test_only_a_large_feed_is_handed_to_the_offload(tmp_path, server):
    big = "<p>" + "大" * (OFFLOAD_ABOVE // 3) + "</p>"
    server.routes["/small"] = Response(200, rss(item("small", "s")))
    server.routes["/big"] = Response(200, rss(item("big", "b", big)))
    config = load_config(_config(tmp_path, server, per_host=2))
    offloaded = []

    async def offload(work):
        offloaded.append(True)
        return await asyncio.to_thread(work)

    async def known():
        return {}

    async def go(path):
        channel = replace(config.channels[0], url=server.url(path), channel=path[1:])
        job = ChannelJob(channel, None, config.output.posts_dir, "", "keep", 0.0, False)
        async with Fetcher(FetchSettings()) as fetcher:
            return await fetch_and_update(fetcher, job, known, offload=offload)

    small = asyncio.run(go("/small"))
    assert isinstance(small, ChannelUpdate) and small.new == 1 and offloaded == []
    large = asyncio.run(go("/big"))
    assert isinstance(large, ChannelUpdate) and large.new == 1 and offloaded == [True]


def test_a_bug_while_fetching_comes_back_as_the_feeds_error(tmp_path, server):
    """In a worker an exception would lose the job (and the run would wait for it forever)."""
    config = load_config(_config(tmp_path, server, per_host=2))
    job = ChannelJob(config.channels[0], None, config.output.posts_dir, "", "keep", 0.0, False)

    class BrokenClient:
        async def fetch(self, url, validators, gate):
            raise AssertionError("a bug in the HTTP client")

    async def known():
        return {}

    error = asyncio.run(fetch_and_update(BrokenClient(), job, known))
    assert "internal error (AssertionError: a bug in the HTTP client)" in str(error)
    assert "Traceback" in error.details


def test_messages_larger_than_a_pipe_holds_cross_both_ways_at_once(tmp_path, server):
    """Each result (a channel's records) and each answer of the store's records for a channel
    is larger than a pipe holds; on the second run both kinds cross at the same time. Neither
    process may end up waiting for the other to read."""
    items = 100
    for n in range(FEEDS):
        server.routes[f"/f{n}"] = Response(200, rss(*(
            item(f"feed {n} item {k} " + "长" * 300, f"{n}-{k}") for k in range(items))))
    channels = [channel_toml("g", "s", f"c{n}", server.url(f"/f{n}")) for n in range(FEEDS)]
    config = write_config(tmp_path, channels, output_extra=f"max_items = {items}",
                          fetch_extra="concurrency = 16\nper_host = 16")
    first = newsmirror("run", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert f"{FEEDS * items} new" in first.stdout
    again = newsmirror("run", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert f"{FEEDS * items} unchanged" in again.stdout and "0 new" in again.stdout
