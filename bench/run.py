"""Benchmark: newsmirror against PyPI `reader` and a naive httpx + fastfeedparser loop.

Serves a deterministic corpus (bench/corpus.py) from nginx on 127.0.0.1 (ETags on), in each of
its shapes (``rsshub``: what RSSHub routes serve; ``web``: sites' own feeds, with relative and
lazy images, <style> blocks, entity-heavy and GBK feeds), then, in one run, measures each
contender as its own process (wall time and peak RSS), RUNS times per shape:

  newsmirror cold    `newsmirror run --quiet` on a fresh state and output folder: every feed
                     new, every post written
  newsmirror warm    the same state again: every feed answers 304
  reader cold        reader.update_feeds() on a fresh database
  reader warm        update_feeds(scheduled=False): sends the conditional requests
  naive loop         httpx.AsyncClient + fastfeedparser, fetch and parse only, writes nothing
  aiohttp / httpx    the bare HTTP clients fetching every feed (how fetch.py's client was chosen)

and writes medians and ratios to bench/RESULTS.md.

    pip install -r bench/requirements.txt      # reader, sgmllib3k, httpx, fastfeedparser
    apt-get install nginx-light                 # or nginx
    python bench/run.py [--feeds 1000] [--items 20] [--runs 3] [--shapes rsshub,web]

Loopback traffic only. Every measured process is killed after --limit seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402
from contenders import CONCURRENCY  # noqa: E402
from measure import measure_command, precompile_newsmirror  # noqa: E402

# ----------------------------------------------------------------------------- contenders
# Each is measured as its own process. newsmirror runs as a user's scheduled job would; the
# others through bench/contenders.py.

def newsmirror_config(workdir: Path, urls: list[str]) -> Path:
    config = workdir / "newsmirror.toml"
    if not config.exists():
        lines = ["[output]", 'dir = "site"', "max_items = 20", "[fetch]",
                 f"concurrency = {CONCURRENCY}", f"per_host = {CONCURRENCY}"]
        for n, url in enumerate(urls):
            lines += ["[[channel]]", 'group = "bench"', f'site = "site {n:04d}"', 'channel = "news"',
                      f'url = "{url}"']
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


# ----------------------------------------------------------------------------- harness

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_nginx(root: Path, work: Path) -> tuple[subprocess.Popen, int]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(textwrap.dedent(f"""
        worker_processes 1;
        daemon off;
        pid {work}/nginx.pid;
        error_log {work}/nginx-error.log;
        events {{ worker_connections 4096; }}
        http {{
          access_log off;
          types {{ application/rss+xml xml; application/atom+xml atom; }}
          client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp;
          fastcgi_temp_path {work}/tmp; uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
          keepalive_requests 100000;
          server {{ listen 127.0.0.1:{port}; root {root}; etag on; }}
        }}
    """))
    (work / "tmp").mkdir(exist_ok=True)
    process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start")


def measure(name: str, workdir: Path, urls_file: Path, limit: float) -> tuple[float, float, str]:
    """Run one contender in its own process group: (seconds, peak RSS of the group in MB, summary)."""
    if name == "newsmirror":
        config = newsmirror_config(workdir, urls_file.read_text().split())
        argv = [sys.executable, "-m", "newsmirror", "run", "--quiet", "--config", str(config)]
    else:
        argv = [sys.executable, str(HERE / "contenders.py"), name, str(workdir), str(urls_file)]
    # A failed feed makes `newsmirror run` exit 1, and measure_command raise.
    seconds, peak, out, err = measure_command(argv, limit=limit)
    if name == "newsmirror":
        # `run --quiet` prints nothing when all went well (it exited 0, or measure_command
        # raised): what it left on disk, counted outside the measurement, is the check.
        posts = sum(1 for _ in (workdir / "site" / "source" / "_posts").rglob("*.md"))
        return seconds, peak, out.strip() or f"exit 0, {posts} posts on disk"
    if not out:
        return seconds, peak, err
    last = out.strip().splitlines()[-1]
    result = json.loads(last)
    return seconds, max(peak, result["peak_mb"]), result["summary"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=float, default=300, help="seconds before a process is killed")
    parser.add_argument("--skip", default="", help="comma-separated contenders to skip")
    parser.add_argument("--shapes", default=",".join(corpus.SHAPES),
                        help="comma-separated corpus shapes (bench/corpus.py)")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    shapes = [shape for shape in args.shapes.split(",") if shape]
    precompile_newsmirror()

    base = Path(tempfile.mkdtemp(prefix="newsmirror-bench-"))
    base.chmod(0o755)  # nginx's workers may run as another user
    by_shape: dict[str, dict] = {}
    try:
        for shape in shapes:
            work = base / shape
            work.mkdir()
            feeds_dir = work / "feeds"
            names = corpus.generate(feeds_dir, args.feeds, args.items, shape=shape)
            nginx, port = start_nginx(feeds_dir, work)
            try:
                urls_file = work / "urls.txt"
                urls_file.write_text("\n".join(f"http://127.0.0.1:{port}/{n}" for n in names))
                print(f"-- corpus shape {shape!r}", flush=True)
                by_shape[shape] = run_all(work, urls_file, args, skip)
            finally:
                nginx.terminate()
                nginx.wait()
        write_results(args, by_shape)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_all(base: Path, urls_file: Path, args: argparse.Namespace, skip: set[str]) -> dict:
    results: dict[str, list[tuple[float, float, str]]] = {}

    def record(label: str, value: tuple[float, float, str]) -> None:
        results.setdefault(label, []).append(value)
        print(f"{label:18s} {value[0]:7.2f} s {value[1]:7.0f} MB  {value[2]}", flush=True)

    for run in range(args.runs):
        # Contenders take turns within a run, so a noisy moment hits all of them.
        if "newsmirror" not in skip:
            work = base / f"newsmirror-{run}"
            work.mkdir()
            record("newsmirror cold", measure("newsmirror", work, urls_file, args.limit))
            record("newsmirror warm", measure("newsmirror", work, urls_file, args.limit))
        if "reader" not in skip:
            work = base / f"reader-{run}"
            work.mkdir()
            record("reader cold", measure("reader", work, urls_file, args.limit))
            record("reader warm", measure("reader", work, urls_file, args.limit))
        for name, label in (("naive", "naive loop"), ("aiohttp", "aiohttp fetch"), ("httpx", "httpx fetch")):
            if name not in skip:
                record(label, measure(name, base, urls_file, args.limit))
    return results


SHAPE_NOTES = {
    "rsshub": "bodies as RSSHub routes serve them: paragraphs and an absolute image every fourth "
              "block, nothing to repair but a `referrerpolicy` on each image",
    "web": "bodies as sites' own feeds serve them: headings, links and several images per body, "
           "relative URLs, lazy `data-src` images behind a placeholder GIF, `<figure>`s and "
           "`srcset`, `<style>` blocks (a tenth of them reaching the page, which must go), inline "
           "styles; every tenth feed entity-heavy, every fifteenth in GBK",
}


def _median(results: dict, label: str, index: int = 0) -> float:
    return statistics.median(r[index] for r in results[label]) if label in results else float("nan")


def _ratio(results: dict, a: str, b: str) -> str:
    if a not in results or b not in results:
        return "n/a"
    return f"{_median(results, b) / _median(results, a):.2f}×"


def shape_section(shape: str, results: dict) -> str:
    rows = []
    for label, values in results.items():
        times = ", ".join(f"{v[0]:.2f}" for v in values)
        rows.append(f"| {label} | {_median(results, label):.2f} s | {_median(results, label, 1):.0f} MB "
                    f"| {times} | {values[-1][2]} |")
    return f"""## Corpus shape `{shape}`

{SHAPE_NOTES.get(shape, shape)}.

| what | median | peak RSS | runs (s) | last result |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Ratios (medians, same run):

- newsmirror cold vs reader cold: **{_ratio(results, 'newsmirror cold', 'reader cold')} faster**
- newsmirror cold vs naive httpx + fastfeedparser loop (fetch and parse only, writes nothing):
  **{_ratio(results, 'newsmirror cold', 'naive loop')}** (above 1× means newsmirror is faster)
- newsmirror warm vs reader warm (`scheduled=False`): **{_ratio(results, 'newsmirror warm', 'reader warm')} faster**
- HTTP clients alone, aiohttp vs httpx: **{_ratio(results, 'aiohttp fetch', 'httpx fetch')}** (why fetch.py uses aiohttp)
"""


def write_results(args: argparse.Namespace, by_shape: dict[str, dict]) -> None:
    cpu = platform.processor() or platform.machine()
    sections = "\n".join(shape_section(shape, results) for shape, results in by_shape.items())
    text = f"""# Benchmark results

`python bench/run.py --feeds {args.feeds} --items {args.items} --runs {args.runs} --shapes {','.join(by_shape)}`
on this machine ({os.cpu_count()} cores, {cpu}, Python {platform.python_version()}), {time.strftime('%Y-%m-%d')}.
Corpus (bench/corpus.py): {args.feeds} feeds × {args.items} items of 3–8 KB HTML, Chinese and
English, every fifth feed Atom, served by nginx on 127.0.0.1 with ETags. Each figure is one
process: wall time and peak RSS summed over its process group (its worker processes included).
newsmirror is its command, `newsmirror run --quiet`, with `concurrency = per_host = {CONCURRENCY}`;
the others are bench/contenders.py. Medians of {args.runs} runs; the contenders take turns within
each run. newsmirror cold writes {args.feeds * args.items} posts and the state; the naive loop
writes nothing.

{sections}"""
    args.out.write_text(text, encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
