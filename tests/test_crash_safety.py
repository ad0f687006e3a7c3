"""A run killed with SIGKILL at any moment loses nothing and leaves nothing half-written."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

from conftest import EPOCH, Response, channel_toml, item, newsmirror, posts_in, rss, write_config
from newsmirror.store import RunLock

FEEDS, ITEMS = 20, 12   # 240 items, in channels enough to use the worker pool


def _serve(server):
    channels = []
    for f in range(FEEDS):
        items = [item(f"Feed {f} item {i}" + (" clash" if i % 5 == 0 else ""),
                      f"{f}-{i}", f"<p>{'正文 ' * 200}</p><img src='/img/{f}/{i}.jpg'>")
                 for i in range(ITEMS)]
        items.append(item(f"Feed {f} item 0 clash", f"{f}-twin"))  # a name clash in every channel
        # a little latency per feed, so a run lasts long enough to be killed at many moments
        server.routes[f"/f{f}"] = Response(200, rss(*items), delay=0.1)
        channels.append(channel_toml("g", f"site {f}", "c", server.url(f"/f{f}"), "max_items = 20\n"))
    return channels


def _start(config):
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    return subprocess.Popen([sys.executable, "-m", "newsmirror", "run", "--all", "--quiet", "--config",
                             str(config)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_sigkill_at_random_moments(tmp_path, server):
    channels = _serve(server)
    clean_dir, crash_dir = tmp_path / "clean", tmp_path / "crash"
    clean_dir.mkdir()
    crash_dir.mkdir()
    clean_config = write_config(clean_dir, channels)
    crash_config = write_config(crash_dir, channels)

    assert newsmirror("run", "--config", str(clean_config)).returncode == 0
    expected = posts_in(clean_dir)
    assert len(expected) == FEEDS * (ITEMS + 1)

    rng = random.Random(20221)
    # One run without a kill measures how long a run lasts, so the kills land all over it.
    started = time.monotonic()
    _start(crash_config).wait(timeout=120)
    duration = time.monotonic() - started
    (crash_dir / "site").rename(tmp_path / "discard")
    kills = attempts = 0
    while kills < 30 and attempts < 80:
        attempts += 1
        process = _start(crash_config)
        time.sleep(rng.uniform(0.0, duration))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
    assert kills >= 30, f"only {kills} of {attempts} runs were still going when killed"

    final = newsmirror("run", "--config", str(crash_config))
    assert final.returncode == 0, final.stderr
    assert posts_in(crash_dir) == expected  # same files, same bytes, no duplicates
    leftovers = [p for p in (crash_dir / "site").rglob("*") if p.is_file() and p.name.endswith(".tmp")]
    assert leftovers == []
    again = newsmirror("run", "--config", str(crash_config))
    assert "0 new, 0 updated" in again.stdout


def test_stale_lock_of_a_killed_run_does_not_block(tmp_path, server):
    server.routes["/x"] = Response(200, rss(item("x", "1")))
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/x"))])
    state = tmp_path / "site" / ".newsmirror" / "state.db"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from newsmirror.store import RunLock; from pathlib import Path;"
                               "RunLock(Path(sys.argv[1])).acquire(); print('held', flush=True); time.sleep(60)",
                               str(state)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    blocked = newsmirror("run", "--config", str(config))
    assert blocked.returncode == 3 and "another newsmirror run" in blocked.stderr
    assert not (tmp_path / "site" / "source").exists()  # the second run wrote nothing
    holder.kill()
    holder.wait()
    lock = RunLock(state)
    lock.acquire()
    assert lock.previous_run_interrupted  # the killed holder's pid was still in the file
    lock.release()
    assert newsmirror("run", "--config", str(config)).returncode == 0


def test_a_killed_runs_forked_children_do_not_keep_its_lock(tmp_path):
    """Workers are forked while the run holds its lock: their copies must not hold it on."""
    state = tmp_path / "state.db"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import os, sys, time; from newsmirror.store import RunLock;"
                               "from pathlib import Path; RunLock(Path(sys.argv[1])).acquire();"
                               "child = os.fork()\n"
                               "if child == 0: print(os.getpid(), flush=True); time.sleep(30); os._exit(0)\n"
                               "time.sleep(60)",
                               str(state)], stdout=subprocess.PIPE, text=True)
    child = int(holder.stdout.readline())   # the child runs, past what fork does in it
    try:
        holder.kill()
        holder.wait()
        lock = RunLock(state)
        lock.acquire()   # the child, still alive, holds no copy of the lock
        lock.release()
    finally:
        os.kill(child, signal.SIGKILL)


def test_second_run_during_a_real_run_exits_at_once(tmp_path, server):
    server.routes["/slow"] = Response(200, rss(item("slow", "1")), delay=3)
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/slow"))])
    first = _start(config)
    lock_file = tmp_path / "site" / ".newsmirror" / "state.db.lock"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (lock_file.exists() and lock_file.read_text().strip()):
        time.sleep(0.05)
    started = time.monotonic()
    second = newsmirror("run", "--config", str(config))
    assert time.monotonic() - started < 2.5  # at once, not after the first run's 3 s
    assert second.returncode == 3 and "another newsmirror run is using this state" in second.stderr
    assert first.wait(timeout=30) == 0
    assert list(posts_in(tmp_path)) == ["source/_posts/g/s/c/slow.md"]
    assert newsmirror("run", "--config", str(config)).returncode == 0


def _processes_running(config) -> list[int]:
    """Processes whose command line names ``config``: a run and its forked workers."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read()
            except OSError:
                continue
            if str(config).encode() in cmdline:
                found.append(int(entry))
    return found


def test_ctrl_c_stops_at_once_and_keeps_what_is_done(tmp_path, server):
    """Ctrl-C does not wait for feeds in flight: the workers are stopped, what was done is
    recorded, the exit code says so, and the next run fetches the rest."""
    release = threading.Event()

    def slow(n):
        def answer(handler):
            release.wait(30)
            return Response(200, rss(item(f"slow {n}", f"slow-{n}")))
        return answer

    channels = []
    for n in range(20):
        server.routes[f"/fast{n}"] = Response(200, rss(item(f"fast {n}", f"fast-{n}")))
        server.routes[f"/slow{n}"] = slow(n)
        channels += [channel_toml("g", f"fast {n}", "c", server.url(f"/fast{n}")),
                     channel_toml("g", f"slow {n}", "c", server.url(f"/slow{n}"))]
    config = tmp_path / "newsmirror.toml"
    config.write_text('[output]\ndir = "site"\n[fetch]\nconcurrency = 40\nper_host = 40\n'
                      'timeout = 60\n' + "".join(channels), encoding="utf-8")
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    run = subprocess.Popen([sys.executable, "-m", "newsmirror", "run", "--all", "--config", str(config)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while (sum(server.hits(f"/slow{n}") for n in range(20)) < 20 or len(posts_in(tmp_path)) < 20) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)   # the fast feeds' outcomes reach the store
        run.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        out, err = run.communicate(timeout=30)
        stopped = time.monotonic() - interrupted
    finally:
        release.set()
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, (out, err)
    assert stopped < 5, stopped   # not after the 30 s the slow feeds would take
    assert "Traceback" not in err
    assert "newsmirror: interrupted: 20 of 40 feeds done and recorded" in err
    assert _processes_running(config) == []   # no worker left behind
    again = newsmirror("run", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert "40 ok" in again.stdout and "20 new" in again.stdout and "20 unchanged" in again.stdout
    assert len(posts_in(tmp_path)) == 40
    assert [p for p in (tmp_path / "site").rglob("*.tmp")] == []
