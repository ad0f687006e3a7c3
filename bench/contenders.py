"""The contenders bench/run.py measures besides newsmirror, each run as its own process:

    python bench/contenders.py NAME WORKDIR URLS_FILE

prints {"summary": ..., "peak_mb": ...} as JSON. It imports nothing beyond what the contender
needs, so the harness's own imports (the corpus generator, argparse, ...) count in no one's time.
newsmirror itself is measured as a user runs it: `newsmirror run --quiet --config ...`.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

CONCURRENCY = 16


def contender_reader(workdir: Path, urls: list[str]) -> str:
    from reader import make_reader
    db = workdir / "reader.sqlite"
    warm = db.exists()
    reader = make_reader(str(db))
    if not warm:
        for url in urls:
            reader.add_feed(url, exist_ok=True)
        reader.update_feeds(workers=CONCURRENCY)
    else:
        reader.update_feeds(workers=CONCURRENCY, scheduled=False)
    counts = reader.get_entry_counts()
    reader.close()
    return f"{counts.total} entries"


def contender_naive(workdir: Path, urls: list[str]) -> str:
    import asyncio

    import fastfeedparser
    import httpx

    async def main() -> int:
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits, timeout=20) as client:
            slots = asyncio.Semaphore(CONCURRENCY)

            async def one(url: str) -> int:
                async with slots:
                    response = await client.get(url)
                return len(fastfeedparser.parse(response.content).entries)

            return sum(await asyncio.gather(*(one(u) for u in urls)))

    return f"{asyncio.run(main())} entries parsed"


def contender_aiohttp(workdir: Path, urls: list[str]) -> str:
    import asyncio

    import aiohttp

    async def main() -> int:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def one(url: str) -> int:
                async with session.get(url) as response:
                    return len(await response.read())
            return sum(await asyncio.gather(*(one(u) for u in urls)))

    return f"{asyncio.run(main())} bytes"


def contender_httpx(workdir: Path, urls: list[str]) -> str:
    import asyncio

    import httpx

    async def main() -> int:
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits) as client:
            slots = asyncio.Semaphore(CONCURRENCY)

            async def one(url: str) -> int:
                async with slots:
                    return len((await client.get(url)).content)
            return sum(await asyncio.gather(*(one(u) for u in urls)))

    return f"{asyncio.run(main())} bytes"


CONTENDERS = {
    "reader": contender_reader, "naive": contender_naive, "aiohttp": contender_aiohttp,
    "httpx": contender_httpx,
}


if __name__ == "__main__":
    name, workdir, urls_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    summary = CONTENDERS[name](workdir, urls_file.read_text().split())
    # VmHWM, not RUSAGE_SELF: a child's ru_maxrss starts at its parent's high-water mark.
    with open("/proc/self/status") as status:
        own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"summary": summary, "peak_mb": max(own, children) / 1024}))
