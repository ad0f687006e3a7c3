"""The command line end to end: real HTTP server, real SQLite state, real files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path


from conftest import (
    EPOCH, Response, channel_toml, golden_cases, item, mask_picsum, newsmirror, posts_in, rss, write_config,
)
from newsmirror.store import RunLock

ROOT = Path(__file__).parent.parent

def mtimes(tmp_path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in (tmp_path / "site").rglob("*.md")}


def test_run_writes_golden_posts_then_changes_nothing(tmp_path, server, golden_site):
    result = newsmirror("run", "--config", str(golden_site))
    assert result.returncode == 0, result.stderr
    assert "feeds: 10 ok, 0 not modified, 0 failed, 0 deferred, 0 not due; items: 16 new" in result.stdout
    written = posts_in(tmp_path)
    assert len(written) == 16
    for case in golden_cases():
        assert mask_picsum(written[case.expected_path].decode()) == mask_picsum(case.expected), case.name
    before = mtimes(tmp_path)

    again = newsmirror("run", "--config", str(golden_site))
    assert again.returncode == 0
    assert "10 not modified" in again.stdout and "0 new, 0 updated" in again.stdout
    assert mtimes(tmp_path) == before and posts_in(tmp_path) == written

    # A server without validators: everything is fetched again, nothing is rewritten.
    for path, route in list(server.routes.items()):
        server.routes[path] = Response(200, route(type("H", (), {"headers": {}})()).body)
    third = newsmirror("run", "--config", str(golden_site))
    assert "10 ok" in third.stdout and "0 new, 0 updated, 16 unchanged" in third.stdout
    assert mtimes(tmp_path) == before and posts_in(tmp_path) == written


def test_picsum_number_is_stable_across_states(tmp_path, server, golden_site):
    newsmirror("run", "--config", str(golden_site))
    first = posts_in(tmp_path)
    shutil.rmtree(tmp_path / "site")
    newsmirror("run", "--config", str(golden_site))
    assert posts_in(tmp_path) == first


def test_update_rewrites_same_file_and_clash_keeps_both(tmp_path, server):
    server.routes["/f"] = Response(200, rss(item("Same title", "g1", "<p>one</p>"),
                                            item("Same title", "g2", "<p>two</p>")))
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/f"))])
    assert newsmirror("run", "--config", str(config)).returncode == 0
    folder = tmp_path / "site" / "source" / "_posts" / "g" / "s" / "c"
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and "Same title.md" in names
    original = (folder / "Same title.md").read_text()
    assert "<p>one</p>" in original
    other = next(n for n in names if n != "Same title.md")
    assert "<p>two</p>" in (folder / other).read_text()

    server.routes["/f"] = Response(200, rss(item("Same title, edited", "g1", "<p>one, fixed</p>"),
                                            item("Same title", "g2", "<p>two</p>")))
    result = newsmirror("run", "--config", str(config))
    assert "0 new, 1 updated, 1 unchanged" in result.stdout
    assert sorted(p.name for p in folder.iterdir()) == names  # same files
    assert "<p>one, fixed</p>" in (folder / "Same title.md").read_text()


def test_failed_feed_does_not_stop_the_others(tmp_path, server):
    server.routes["/good"] = Response(200, rss(item("Good news", "g1")))
    server.routes["/html"] = Response(200, b"<!doctype html><html><body>Welcome</body></html>",
                                      {"Content-Type": "text/html"})
    config = write_config(tmp_path, [
        channel_toml("g", "s", "good", server.url("/good")),
        channel_toml("g", "s", "gone", server.url("/gone")),
        channel_toml("g", "s", "html", server.url("/html")),
    ])
    result = newsmirror("run", "--config", str(config))
    assert result.returncode == 1
    assert "feeds: 1 ok, 0 not modified, 2 failed" in result.stdout
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert any("g/s/gone" in line and "HTTP 404" in line for line in failures)
    assert any("g/s/html" in line and "HTML page" in line for line in failures)
    assert "Traceback" not in result.stderr
    assert list(posts_in(tmp_path)) == ["source/_posts/g/s/good/Good news.md"]

    # failing channels back off: the run after one is told to fetch them all the same
    again = newsmirror("run", "--config", str(config), due_only=True)
    assert "1 ok, 0 not modified, 0 failed, 0 deferred, 2 not due" in again.stdout, again.stdout
    newsmirror("run", "--config", str(config))
    status = json.loads(newsmirror("status", "--json", "--config", str(config)).stdout)
    by_channel = {row["channel"]: row for row in status}
    assert by_channel["g/s/gone"]["failures"] == 2 and "HTTP 404" in by_channel["g/s/gone"]["last_error"]
    assert by_channel["g/s/good"]["failures"] == 0 and by_channel["g/s/good"]["items"] == 1
    assert by_channel["g/s/good"]["last_ok"].startswith("2021-08-07")
    text = newsmirror("--config", str(config), "status").stdout
    assert ("g/s/gone: 0 items, last ok never, last new item never, next fetch "
            "2021-08-07T02:32:05+00:00, 2 failures in a row, last error: HTTP 404") in text


def test_retry_after_is_remembered(tmp_path, server):
    server.routes["/busy"] = Response(429, headers={"Retry-After": "3600"})
    config = write_config(tmp_path, [channel_toml("g", "s", "busy", server.url("/busy"))])
    first = newsmirror("run", "--config", str(config), env_extra={"SOURCE_DATE_EPOCH": ""})
    assert first.returncode == 1 and "HTTP 429" in first.stderr
    second = newsmirror("run", "--config", str(config), env_extra={"SOURCE_DATE_EPOCH": ""})
    assert second.returncode == 0 and "1 deferred" in second.stdout
    assert server.hits("/busy") == 1


def test_dry_run_writes_nothing(tmp_path, server, golden_site):
    result = newsmirror("run", "--dry-run", "--config", str(golden_site))
    assert result.returncode == 0 and "dry run" in result.stdout and "16 new" in result.stdout
    assert not (tmp_path / "site").exists()


def test_config_error_exit_2_nothing_written(tmp_path):
    config = tmp_path / "newsmirror.toml"
    config.write_text('[output]\ndir = "site"\n[[channel]]\ngroup = "g"\nsite = "s"\nurl = "x"\n')
    result = newsmirror("run", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "missing 'channel'" in result.stderr and str(config) in result.stderr
    assert not (tmp_path / "site").exists()
    missing = newsmirror("run", "--config", str(tmp_path / "none.toml"))
    assert missing.returncode == 2 and "no such config file" in missing.stderr


def test_default_config_and_channels(tmp_path):
    (tmp_path / "newsmirror.toml").write_text(channel_toml("新媒体", "Aljazeera 半岛网", "新闻", "rsshub:/aljazeera/news"), encoding="utf-8")
    result = newsmirror("channels", cwd=tmp_path)
    assert result.returncode == 0
    assert "新媒体 / Aljazeera 半岛网 / 新闻: https://rsshub.app/aljazeera/news (max 15)" in result.stdout
    rows = json.loads(newsmirror("channels", "--json", cwd=tmp_path).stdout)
    assert rows[0]["author"] == "Aljazeera 半岛网"


def test_window_retention_removes_what_left_the_feed(tmp_path, server):
    server.routes["/w"] = Response(200, rss(item("First", "1"), item("Second", "2")))
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/w"))], 'retention = "window"')
    newsmirror("run", "--config", str(config))
    assert len(posts_in(tmp_path)) == 2
    server.routes["/w"] = Response(200, rss(item("Third", "3"), item("Second", "2")))
    result = newsmirror("run", "--config", str(config))
    assert "1 new, 0 updated, 1 unchanged, 1 removed" in result.stdout
    assert sorted(posts_in(tmp_path)) == ["source/_posts/g/s/c/Second.md", "source/_posts/g/s/c/Third.md"]
    server.routes["/w"] = Response(200, rss())  # an empty feed removes nothing
    assert "0 removed" in newsmirror("run", "--config", str(config)).stdout
    assert len(posts_in(tmp_path)) == 2


def test_max_items_and_filters(tmp_path, server):
    server.routes["/m"] = Response(200, rss(*(item(f"News {i}", str(i)) for i in range(5)), item("Ad: buy", "ad")))
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/m"), 'max_items = 2\nexclude = "^Ad"\n')])
    newsmirror("run", "--config", str(config))
    assert sorted(posts_in(tmp_path)) == ["source/_posts/g/s/c/News 0.md", "source/_posts/g/s/c/News 1.md"]


def test_second_run_is_locked_out(tmp_path, server):
    server.routes["/l"] = Response(200, rss(item("x", "1")))
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/l"))])
    with RunLock(tmp_path / "site" / ".newsmirror" / "state.db"):
        result = newsmirror("run", "--config", str(config))
    assert result.returncode == 3 and "another newsmirror run" in result.stderr
    assert newsmirror("run", "--config", str(config)).returncode == 0


def test_bundled_example(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("site"))
    result = newsmirror("run", "--config", "examples/newsmirror.toml", cwd=tmp_path,
                        env_extra={"SOURCE_DATE_EPOCH": "1795500000"})
    assert result.returncode == 0, result.stderr
    assert "feeds: 3 ok" in result.stdout and "8 new" in result.stdout
    assert str(tmp_path / "examples" / "site" / "source" / "_posts") in result.stdout
    texts = [p.read_text("utf-8") for p in (tmp_path / "examples" / "site").rglob("*.md")]
    assert len(texts) == 8
    assert any("&#123;&#123; name &#125;&#125;" in t for t in texts) and not any("{{" in t for t in texts)
    assert any("picsum.photos" in t for t in texts)
    assert all('referrerpolicy="no-referrer"' in t for t in texts if "<img" in t)


def test_console_script_installed():
    script = Path(sys.executable).parent / "newsmirror"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "newsmirror, version" in result.stdout


def test_backoff_does_not_hold_up_other_feeds(tmp_path):
    import socket
    import time
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channels = [channel_toml("g", "s", f"c{i}", f"http://127.0.0.1:{port}/{i}") for i in range(40)]
    config = write_config(tmp_path, channels, fetch_extra="")
    config.write_text(config.read_text("utf-8").replace("retries = 0", "retries = 2\nconcurrency = 4\nper_host = 4"), "utf-8")
    start = time.monotonic()
    result = newsmirror("run", "--config", str(config))
    elapsed = time.monotonic() - start
    assert result.returncode == 1 and "40 failed" in result.stdout
    assert "connection failed" in result.stderr
    # 40 feeds x 1.5 s of backoff would take 15 s if a backing-off feed held its place.
    assert elapsed < 8, elapsed


def test_a_bug_costs_one_feed_not_the_run(tmp_path, server, monkeypatch):
    """An unexpected exception while handling one feed is reported as that feed's failure."""
    import newsmirror.update as update
    from newsmirror import Mirror, load_config
    real = update.update_channel

    def flaky(job, fetched):
        if job.channel.channel == "bad":
            raise RuntimeError("boom")
        return real(job, fetched)

    monkeypatch.setattr(update, "update_channel", flaky)
    server.routes["/a"] = Response(200, rss(item("a", "1")))
    config = write_config(tmp_path, [channel_toml("g", "s", "bad", server.url("/a")),
                                     channel_toml("g", "s", "good", server.url("/a"))])
    report = Mirror(load_config(config)).run()
    (failed,) = report.failed
    assert failed.channel == "g/s/bad" and "internal error (RuntimeError: boom)" in failed.message
    assert report.count("ok") == 1 and list(posts_in(tmp_path)) == ["source/_posts/g/s/good/a.md"]


def test_unwritable_places_are_one_line_errors(tmp_path, server):
    server.routes["/a"] = Response(200, rss(item("a", "1")))
    (tmp_path / "site").write_text("a file where the site folder should be")
    config = write_config(tmp_path, [channel_toml("g", "s", "c", server.url("/a"))])
    result = newsmirror("run", "--config", str(config))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and str(tmp_path / "site") in result.stderr
    # the state elsewhere, the posts folder still a file: each feed fails with the reason
    text = config.read_text("utf-8").replace('dir = "site"', f'dir = "site"\nstate = "{tmp_path / "state.db"}"')
    config.write_text(text, "utf-8")
    result = newsmirror("run", "--config", str(config))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "g/s/c" in result.stderr and "cannot write posts" in result.stderr


def test_status_flags_failing_and_stale_channels(tmp_path, server):
    server.routes["/good"] = Response(200, rss(item("Good news", "g1")))
    config = write_config(tmp_path, [
        channel_toml("g", "s", "good", server.url("/good")),
        channel_toml("g", "s", "gone", server.url("/gone")),
    ])
    config.write_text(config.read_text("utf-8") + "\n[health]\nfailing_after = 2\nstale_days = 3\n",
                      encoding="utf-8")
    first = newsmirror("run", "--config", str(config))
    # The closing summary names the failed channel and its reason, one line each.
    assert first.returncode == 1
    assert f"failed: g/s/gone ({server.url('/gone')}): HTTP 404 Not Found\n" in first.stderr
    status = newsmirror("status", "--check", "--config", str(config))
    assert status.returncode == 0, status.stdout       # one failure: not yet flagged
    assert "2 channels, 0 flagged" in status.stdout
    newsmirror("run", "--config", str(config))
    status = newsmirror("status", "--check", "--config", str(config))
    assert status.returncode == 1
    assert "  ! failing: 2 runs in a row (HTTP 404 Not Found)" in status.stdout
    assert "2 channels, 1 flagged" in status.stdout
    # Four days on, the good channel has brought nothing new: stale.
    later = {"SOURCE_DATE_EPOCH": str(int(EPOCH) + 4 * 86400)}
    rows = json.loads(newsmirror("status", "--json", "--config", str(config), env_extra=later).stdout)
    flags = {row["channel"]: row["flags"] for row in rows}
    assert flags == {"g/s/good": ["stale: no new item for 4 days"],
                     "g/s/gone": ["failing: 2 runs in a row (HTTP 404 Not Found)"]}
    assert rows[0]["last_new"].startswith("2021-08-07")
    # Options override the config.
    rows = json.loads(newsmirror("status", "--json", "--stale-days", "5", "--failing-after", "3",
                                 "--config", str(config), env_extra=later).stdout)
    assert all(row["flags"] == [] for row in rows)
    # A new item clears the stale flag.
    server.routes["/good"] = Response(200, rss(item("Good news", "g1"), item("More news", "g2")))
    newsmirror("run", "--config", str(config), env_extra=later)
    rows = json.loads(newsmirror("status", "--json", "--config", str(config), env_extra=later).stdout)
    assert rows[0]["flags"] == []


def _run_on_a_terminal(args: list[str], timeout: float = 60) -> tuple[int, str]:
    """``newsmirror ARGS`` with a pseudo-terminal (100 columns) as its stdin, stdout and
    stderr: its exit code and everything it wrote there."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    process = subprocess.Popen([sys.executable, "-m", "newsmirror", *args], stdin=slave,
                               stdout=slave, stderr=slave, env=env)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([master], [], [], 0.2)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal's other side closed: the command ended
                break
            if not data:
                break
            output += data
        elif process.poll() is not None:
            break
    os.close(master)
    return process.wait(timeout=10), output.decode("utf-8", "replace")


def test_a_run_on_a_terminal_shows_a_progress_bar(tmp_path, server):
    channels = []
    for n in range(40):
        server.routes[f"/f{n}"] = Response(200, rss(item(f"post {n}", f"g{n}")))
        channels.append(channel_toml("g", f"s{n}", "c", server.url(f"/f{n}")))
    config = write_config(tmp_path, channels)
    code, output = _run_on_a_terminal(["run", "--config", str(config)])
    assert code == 0, output
    assert "/40 [" in output and "feed/s" in output      # the bar, redrawn in place
    assert "ok: g/s1/c" not in output                     # no line per feed on a terminal
    assert "feeds: 40 ok" in output and "40 new" in output
    assert len(posts_in(tmp_path)) == 40


def test_the_progress_bar_starts_no_thread(monkeypatch):
    """With a thread running, a run's workers cannot be forked directly (they would come from a
    fork server, tenths of a second later)."""
    import io
    import threading

    from newsmirror.cli import _Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    before = threading.active_count()
    progress = _Progress(10, quiet=False, verbose=False)
    assert progress.bar is not None and threading.active_count() == before
    progress.close()
