"""Benchmark: newsmirror's built-in site against Hexo (landscape theme) on the same posts.

For each size (articles), a deterministic corpus (bench/corpus.py, 20 items per feed, read from
local files) is mirrored once with `newsmirror run`; then, in one run, RUNS times each:

  build full          `newsmirror build --full` on an empty public/ (search index included)
  … without search    the same with `[site] search = false` (once per size): the pages alone
  build incremental   `newsmirror build` after `newsmirror run` brought 20 new articles
  build unchanged     `newsmirror build` with nothing new (must write no page)
  hexo                `hexo clean && hexo generate` on the same posts (the sizes in --hexo-sizes;
                      one run above 1,000 posts: Hexo needs minutes and gigabytes there)

Each is its own process group, killed after --limit seconds; peak memory is summed over the
group (Pagefind, Node). Medians and ratios go to bench/SITE-RESULTS.md. A public/ folder
(newsmirror's or Hexo's) is moved aside before a full build and deleted when the benchmark ends,
then it waits 35 s: see measure.SetAside for why deleting it just before would distort the run.

    python bench/site.py [--sizes 1000,5000,10000] [--hexo-sizes 1000,5000] [--runs 3]

Needs tests/hexo/node_modules (`bash scripts/test` installs it, or `npm ci` there). No network.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HEXO = ROOT / "tests" / "hexo"
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402
from measure import SetAside, measure_command, precompile_newsmirror  # noqa: E402

ITEMS_PER_FEED = 20
GROUPS = ("新媒体", "编程", "传统媒体", "游戏", "金融")


def newsmirror(*args: str, limit: float) -> tuple[float, float, str]:
    seconds, peak, out, err = measure_command([sys.executable, "-m", "newsmirror", *args],
                                              limit=limit, env=dict(os.environ, NO_COLOR="1"))
    return seconds, peak, (out.strip().splitlines() or [err.strip()])[-1]


def prepare(size: int, work: Path, limit: float) -> Path:
    """A mirrored site of ``size`` articles: corpus, config, one `newsmirror run`."""
    feeds = size // ITEMS_PER_FEED
    folder = work / f"site-{size}"
    config = folder / "newsmirror.toml"
    if config.exists():
        return config
    shutil.rmtree(folder, ignore_errors=True)
    names = corpus.generate(folder / "corpus", feeds, ITEMS_PER_FEED)
    lines = ['[output]', 'dir = "site"', f"max_items = {ITEMS_PER_FEED * 10}",
             '[site]', 'title = "bench"', 'per_page = 20', 'search = true', '[fetch]', 'concurrency = 16']
    for number, name in enumerate(names):
        lines += ["[[channel]]", f'group = "{GROUPS[number % len(GROUPS)]}"',
                  f'site = "site {number // 10:03d}"', f'channel = "channel {number:04d}"',
                  f'url = "corpus/{name}"']
    lines += ["[[channel]]", 'group = "新媒体"', 'site = "incoming"', 'channel = "latest"',
              'url = "corpus/incoming.xml"']
    (folder / "corpus" / "incoming.xml").write_text(incoming(0), encoding="utf-8")
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    newsmirror("run", "--quiet", "--config", str(config), limit=limit)
    return config


def next_batch(folder: Path) -> int:
    """A batch number this work folder has not used (it may be reused across invocations)."""
    marker = folder / "batches"
    batch = int(marker.read_text() or 0) + 1 if marker.exists() else 1
    marker.write_text(str(batch))
    return batch


def incoming(batch: int) -> str:
    """20 articles not seen before (batch 0: none yet), newer than the corpus."""
    items = []
    for n in range(ITEMS_PER_FEED if batch else 0):
        items.append(f"<item><title>Incoming {batch}-{n} 新到文章</title><guid>in-{batch}-{n}</guid>"
                     f"<link>https://incoming.example/{batch}/{n}</link>"
                     f"<pubDate>Tue, {1 + batch % 28:02d} Mar 2022 {n:02d}:30:00 GMT</pubDate>"
                     f"<description><![CDATA[<p>New article {batch}-{n}: 港口 throughput and 开源 news.</p>]]>"
                     f"</description></item>")
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>in</title>'
            f"<link>https://incoming.example/</link>{''.join(items)}</channel></rss>")


def without_search(config: Path) -> Path:
    """The same site with `[site] search = false` (same state, same output)."""
    other = config.with_name("without-search.toml")
    other.write_text(config.read_text("utf-8").replace("search = true", "search = false"), "utf-8")
    return other


def hexo_site(config: Path) -> Path:
    """A Hexo site (landscape) whose posts are newsmirror's."""
    site = config.parent / "hexo"
    if not site.exists():
        site.mkdir()
        for name in ("package.json", "_config.yml"):
            shutil.copy(HEXO / name, site / name)
        (site / "node_modules").symlink_to(HEXO / "node_modules")
        (site / "source").mkdir()
        (site / "source" / "_posts").symlink_to(config.parent / "site" / "source" / "_posts")
    return site


def hexo(site: Path, limit: float, aside: SetAside) -> tuple[float, float, str]:
    env = dict(os.environ, PATH=f"{site / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}")
    aside.move(site / "public")  # `hexo clean` then has only db.json to delete (see SetAside)
    seconds, peak, out, err = measure_command(
        ["sh", "-c", "hexo clean >/dev/null && hexo generate --config _config.yml"],
        limit=limit, cwd=site, env=env)
    lines = [line for line in (out + err).splitlines() if "files generated" in line]
    return seconds, peak, lines[-1].strip() if lines else err.strip()[-200:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--hexo-sizes", default="1000,5000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=float, default=900.0, help="seconds before a process is killed")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    hexo_sizes = {int(s) for s in args.hexo_sizes.split(",") if s}
    precompile_newsmirror()
    if hexo_sizes and not (HEXO / "node_modules" / ".bin" / "hexo").exists():
        sys.exit("tests/hexo/node_modules is missing: run `npm ci` in tests/hexo first")
    results: dict[tuple[int, str], list[tuple[float, float, str]]] = {}
    aside = SetAside(args.work / "set-aside")
    try:
        for size in sizes:
            measure_size(size, hexo_sizes, args, aside, results)
    finally:
        aside.empty()
    write_results(args, sizes, results)


def measure_size(size: int, hexo_sizes: set[int], args: argparse.Namespace, aside: SetAside,
                 results: dict[tuple[int, str], list[tuple[float, float, str]]]) -> None:
    config = prepare(size, args.work, args.limit)
    public = config.parent / "site" / "public"
    for run in range(args.runs):
        aside.move(public)
        results.setdefault((size, "build full"), []).append(
            newsmirror("build", "--full", "--quiet", "--config", str(config), limit=args.limit))
        (config.parent / "corpus" / "incoming.xml").write_text(
            incoming(next_batch(config.parent)), encoding="utf-8")
        newsmirror("run", "--quiet", "--config", str(config), limit=args.limit)
        results.setdefault((size, "build incremental (20 new)"), []).append(
            newsmirror("build", "--quiet", "--config", str(config), limit=args.limit))
        results.setdefault((size, "build unchanged"), []).append(
            newsmirror("build", "--quiet", "--config", str(config), limit=args.limit))
        if run == 0:
            aside.move(public)
            results.setdefault((size, "build full, search = false"), []).append(newsmirror(
                "build", "--full", "--quiet", "--config", str(without_search(config)),
                limit=args.limit))
        if size in hexo_sizes and (run == 0 or size <= 1000):
            results.setdefault((size, "hexo clean && hexo generate"), []).append(
                hexo(hexo_site(config), args.limit, aside))
        print(f"{size}: run {run + 1} done", file=sys.stderr)


def write_results(args: argparse.Namespace, sizes: list[int],
                  results: dict[tuple[int, str], list[tuple[float, float, str]]]) -> None:
    def median(size: int, what: str, index: int) -> float:
        runs = results.get((size, what), [])
        return statistics.median(r[index] for r in runs) if runs else float("nan")

    lines = [
        "# Built-in site benchmark (`python bench/site.py`)", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        f"Sizes {args.sizes}; Hexo at {args.hexo_sizes} (landscape theme, the same posts). Medians of "
        f"{args.runs} runs (Hexo above 1,000 posts: one run). Peak memory is summed over the process "
        "group (Pagefind for newsmirror, every Node process for Hexo). The full build includes the "
        "Pagefind index; each incremental build re-indexes the search shard its new articles join "
        "(a tail shard of at most 100 articles). Before each full build (ours and Hexo's) the old "
        "public/ is moved aside, not deleted: on this file system, files created within ~30 s of a "
        "mass deletion cost several times more kernel time (bench/measure.py, SetAside).", "",
        "| articles | what | median s | peak MB | runs (s) | last output |", "| --- | --- | --- | --- | --- | --- |",
    ]
    for (size, what), runs in results.items():
        times = ", ".join(f"{r[0]:.2f}" for r in runs)
        lines.append(f"| {size:,} | {what} | {median(size, what, 0):.2f} | {median(size, what, 1):.0f} "
                     f"| {times} | {runs[-1][2]} |")
    lines += ["", "| articles | full build vs Hexo: time | memory |", "| --- | --- | --- |"]
    for size in sizes:
        ours, theirs = median(size, "build full", 0), median(size, "hexo clean && hexo generate", 0)
        if theirs == theirs:  # not NaN: Hexo ran at this size
            memory = median(size, "hexo clean && hexo generate", 1) / median(size, "build full", 1)
            lines.append(f"| {size:,} | {theirs / ours:.1f}× faster | {memory:.1f}× less |")
    (HERE / "SITE-RESULTS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
