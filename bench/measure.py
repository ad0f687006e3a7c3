"""Timing a command as its own process group: wall time and peak memory of the whole group."""

from __future__ import annotations

import compileall
import itertools
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path


def precompile_newsmirror() -> None:
    """Byte-compile newsmirror's modules, as `pip install` of a wheel does. An editable
    install under PYTHONDONTWRITEBYTECODE=1 would otherwise compile them in every measured
    process, a cost no installed copy pays."""
    import newsmirror
    compileall.compile_dir(os.path.dirname(newsmirror.__file__), quiet=1)


class SetAside:
    """Output a benchmark is done with, moved out of the way and deleted only when it ends.

    On ext4 without a journal (this machine's root file system), creating a file skips, one
    by one, every free inode deleted less than 60 s ago, or 300 s more while its inode table
    block is not yet written back (``recently_deleted()`` in fs/ext4/ialloc.c; seen with
    ``perf record``). A full build of 10,000 articles right after deleting the previous
    build's 13,000 files spent 8-11 s in the kernel; with nothing deleted in the minute
    before, 1.7-3 s. No user deletes the site before each build, so a benchmark should not
    make its contenders pay for its own clean-up. After deleting, it writes everything back
    (sync) and waits out the 60 s.
    """

    SETTLE_SECONDS = 61

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._names = itertools.count()
        self.empty()  # what a killed run left, then a pause so it costs no one's run

    def move(self, path: Path) -> None:
        """Move ``path`` (if it exists) out of the way; a rename frees no inode."""
        if path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            path.rename(self.folder / f"{os.getpid()}-{next(self._names)}")

    def empty(self) -> None:
        """Delete what was set aside; if there was anything, wait until it costs nothing."""
        if self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)
            os.sync()
            time.sleep(self.SETTLE_SECONDS)


# kcmp(2), which tells whether two processes share one address space (KCMP_VM).
_KCMP = {"x86_64": 312, "aarch64": 272}.get(os.uname().machine)
_KCMP_VM = 1


def _same_memory(first: int, second: int) -> bool:
    if _KCMP is None:
        return False
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).syscall(_KCMP, first, second, _KCMP_VM, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def group_rss_mb(group: int) -> float:
    """Resident memory of every process in a process group (a program and its children).

    A child between its spawn and its exec shares its parent's address space (vfork, as
    subprocess and posix_spawn do), and its RSS is the parent's: counted once, or each Pagefind
    a build starts would briefly add the whole build's memory again."""
    page = os.sysconf("SC_PAGE_SIZE")
    members: list[tuple[int, int, int]] = []  # (pid, parent, rss in pages)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == group:      # pgrp
                members.append((int(entry), int(fields[1]), int(fields[21])))  # ppid, rss
        except (OSError, ValueError, IndexError):
            continue
    pids = {pid for pid, _, _ in members}
    total = sum(rss for pid, parent, rss in members
                if not (parent in pids and _same_memory(pid, parent)))
    return total * page / 2**20


def measure_command(argv: list[str], *, limit: float, cwd: Path | None = None,
                    env: dict[str, str] | None = None) -> tuple[float, float, str, str]:
    """Run ``argv`` in its own process group: (seconds, peak RSS of the group in MB, stdout,
    stderr). NaNs when it had to be killed after ``limit`` seconds.

    Dirty pages are flushed (sync) before it starts. The group's memory is sampled every 100 ms
    and summed over its processes, so worker and helper processes count (a getrusage of
    children would miss those started by a forkserver). Sampling more often costs the measured
    program CPU time on a 2-core machine.
    """
    # What earlier contenders wrote is flushed first: writeback going on meanwhile made creating
    # files cost several times the kernel time on this machine's file system.
    os.sync()
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], group_rss_mb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return float("nan"), float("nan"), "", f"killed after {limit:.0f} s"
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}):\n{err[-2000:]}")
    return seconds, peak[0], out, err
