"""Regenerate src/newsmirror/data/rsshub-namespaces.json from RSSHub's route metadata.

Usage: python scripts/rsshub_namespaces.py namespace.json [--source TEXT]

``namespace.json`` is what a current RSSHub instance serves at ``/api/namespace`` (namespaces
with their names and routes). The table keeps, per namespace, its name, its main category and,
per route, the route's name (and Chinese name) and documented example. newsmirror uses it to
name the routes of an RSSHub 1.x instance, whose ``/api/routes`` lists only path patterns.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "src" / "newsmirror" / "data" / "rsshub-namespaces.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metadata", type=Path)
    parser.add_argument("--source", default="RSSHub /api/namespace")
    args = parser.parse_args()
    data = json.loads(args.metadata.read_text(encoding="utf-8"))
    namespaces = {}
    for namespace, info in sorted(data.items()):
        routes, categories = {}, Counter()
        for path, route in sorted((info.get("routes") or {}).items()):
            found = [c for c in route.get("categories") or [] if c != "popular"]
            categories.update(found[:1] or route.get("categories") or [])
            zh = (route.get("zh") or {}).get("name") or ""
            name = route.get("name") or ""
            routes[path] = [name, zh if zh != name else "", route.get("example") or ""]
        namespaces[namespace] = {
            "name": info.get("name") or namespace,
            "zh": ((info.get("zh") or {}).get("name") or ""),
            "category": categories.most_common(1)[0][0] if categories else "other",
            "routes": routes,
        }
    # One namespace per line: a later regeneration diffs readably.
    lines = [f"{json.dumps(name)}:{json.dumps(value, ensure_ascii=False, separators=(',', ':'))}"
             for name, value in namespaces.items()]
    TABLE.write_text(f'{{"source":{json.dumps(args.source)},"namespaces":{{\n' + ",\n".join(lines) + "\n}}\n",
                     encoding="utf-8")
    print(f"{TABLE}: {len(namespaces)} namespaces, "
          f"{sum(len(n['routes']) for n in namespaces.values())} routes")


if __name__ == "__main__":
    main()
