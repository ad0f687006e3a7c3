"""What a run shows while it runs: the bar on a terminal, and `status` from another shell."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time

from conftest import Response, channel_toml, item, rss

FAST = 8


def slow_and_fast_mirror(tmp_path, server, release: threading.Event):
    def slow(handler):
        release.wait(60)  # answers when the test has seen the run in flight
        return Response(200, rss(item("Late", "late", "<p>late</p>")))

    channels = []
    for number in range(FAST):
        server.routes[f"/fast{number}"] = Response(200, rss(item(f"A{number}", f"a{number}", "<p>a</p>")))
        channels.append(channel_toml("新闻", "Daily", f"fast{number}", server.url(f"/fast{number}")))
    server.routes["/slow"] = slow
    channels.append(channel_toml("新闻", "Daily", "slow", server.url("/slow")))
    config = tmp_path / "newsmirror.toml"
    config.write_text('[output]\ndir = "site"\n[fetch]\ntimeout = 90\nretries = 0\n'
                      + "".join(channels), encoding="utf-8")
    return config


class Terminal:
    """The CLI on a pseudo-terminal 120 columns wide, as a person at a shell runs it."""

    def __init__(self, *args: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: its stdin, stdout and stderr are the terminal
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            os.execv(sys.executable, [sys.executable, "-m", "newsmirror", *args])
        self.screen = ""

    def read_until(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self.screen)) is None:
            left = deadline - time.monotonic()
            assert left > 0, f"{pattern!r} never shown; the terminal showed:\n{self.screen}"
            if not self._read(left):
                raise AssertionError(f"{pattern!r} never shown before the end:\n{self.screen}")
        return found

    def wait(self) -> int:
        while self._read(60):
            pass
        return os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.screen += data.decode("utf-8", "replace")
        return bool(data)


def test_the_bar_moves_per_feed_names_the_slow_one_and_status_sees_the_run(tmp_path, server):
    release = threading.Event()
    config = slow_and_fast_mirror(tmp_path, server, release)
    terminal = Terminal("run", "--all", "--config", str(config))
    try:
        # The fast feeds are counted as they finish, not all at once at the end ...
        terminal.read_until(rf"\b{FAST}/{FAST + 1}\b")
        # ... and once it has taken a while, the one still in flight is named.
        waiting = terminal.read_until(r"waiting for 新闻/Daily/slow \((\d+) s\)")
        assert int(waiting.group(1)) >= 5

        status = subprocess.run([sys.executable, "-m", "newsmirror", "status", "--config", str(config)],
                                capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        assert re.search(rf"a run is in progress \(pid {terminal.pid}, started [0-9T:+-]+\): "
                         rf"{FAST} of {FAST + 1} channels done so far", status.stdout), status.stdout
        assert "新闻/Daily/fast0: 1 item, last ok" in status.stdout
        assert "新闻/Daily/slow: 0 items" in status.stdout
    finally:
        release.set()
    assert terminal.wait() == 0, terminal.screen
    assert "items: 9 new" in terminal.screen

    after = subprocess.run([sys.executable, "-m", "newsmirror", "status", "--config", str(config)],
                           capture_output=True, text=True, timeout=60)
    assert "in progress" not in after.stdout and "新闻/Daily/slow: 1 item" in after.stdout
