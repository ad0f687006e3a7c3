"""``newsmirror init DIR``: a new mirror's folder, ready to run by hand, by cron or in CI.

It writes a commented config, a ``.gitignore`` and a GitHub Actions workflow that fetches on a
schedule, keeps the state between runs in the Actions cache, commits the posts and publishes the
built site to GitHub Pages. It never overwrites: a folder that already has a config is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .exceptions import ConfigError

CONFIG_NAME = "newsmirror.toml"

CONFIG = """\
# newsmirror: RSSHub routes and feeds, mirrored as Hexo posts and a static site.
# Every key is optional unless marked; see the README for all of them.

[rsshub]
base = "https://rsshub.app"        # your RSSHub instance; public ones rate-limit, so poll politely
# key = ""                          # the instance's ACCESS_KEY, if it has one (never written out)

[output]
dir = "site"                       # posts: site/source/_posts/<group>/<site>/<channel>/*.md
max_items = 15                     # per feed, newest first
retention = "keep"                 # "keep": posts accumulate; "window": only what feeds still list

[fetch]
interval = "15m"                   # a channel waits at least this long between fetches; longer
                                   # when its server says so (Cache-Control, Expires, <ttl>)
per_host = 4                       # connections to one host at once (all routes share RSSHub)

[site]
enabled = true                     # `newsmirror run` also builds the site
dir = "public"                     # into ./public: a folder of its own (Hexo, if you also run
                                   # it on site/, writes site/public)
title = "My news mirror"
# base_url = "https://you.github.io/mirror/"   # set it for absolute links and the sitemap

# A route of the RSSHub instance above; `newsmirror catalog WORDS` finds more and prints
# them in this form (`--toml`). group / site / channel are the three category levels.
[[route]]
path = "/aljazeera/chinese/news"
group = "新媒体"
site = "Aljazeera 半岛网"
channel = "新闻"

[[route]]
path = "/cnbeta"
group = "科技"
site = "cnBeta"
channel = "资讯"

[[route]]
path = "/juejin/category/frontend"
group = "编程"
site = "掘金"
channel = "前端"
interval = "1h"                    # its own wait

# Any RSS, Atom or JSON feed works too:
# [[channel]]
# group = "新闻"
# site = "Example"
# channel = "World"
# url = "https://example.org/world.xml"
"""

GITIGNORE = """\
# The state lives in the Actions cache (see .github/workflows/newsmirror.yml) or on the server;
# back it up there, not here. The built site is published, not committed.
/site/.newsmirror/
/public/
__pycache__/
node_modules/
"""

WORKFLOW = """\
# Mirrors the feeds on a schedule and publishes the site to GitHub Pages.
# Settings > Pages > Source: "GitHub Actions". The posts are committed back to the repository
# (your archive); the state (what was fetched, validators, schedule) is kept in the Actions
# cache: every run saves a new entry and restores the latest. If the cache is ever lost, the
# next run adopts the committed posts and nothing is rewritten or lost.
name: newsmirror

on:
  schedule:
    - cron: "7,37 * * * *"         # every 30 minutes; channels that are not due are skipped
  workflow_dispatch:

permissions:
  contents: write                  # to commit the posts
  pages: write
  id-token: write

concurrency:
  group: newsmirror
  cancel-in-progress: false

jobs:
  mirror:
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{ steps.deployment.outputs.page_url }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install newsmirror
        run: pip install newsmirror
      - name: Restore the state
        uses: actions/cache@v4
        with:
          path: site/.newsmirror
          key: newsmirror-state-${{ github.run_id }}-${{ github.run_attempt }}
          restore-keys: newsmirror-state-
      - name: Fetch the feeds and build the site
        # exit code 1 means some feeds failed and the others were written: publish anyway
        run: newsmirror run --config newsmirror.toml || [ $? -eq 1 ]
      - name: Commit the posts
        run: |
          git config user.name "newsmirror"
          git config user.email "newsmirror@users.noreply.github.com"
          git add site/source/_posts
          if ! git diff --cached --quiet; then
            git commit -m "newsmirror: new posts"
            git push
          fi
      - uses: actions/upload-pages-artifact@v3
        with:
          path: public
      - id: deployment
        uses: actions/deploy-pages@v4
"""


@dataclass(frozen=True, slots=True)
class Scaffold:
    folder: Path
    written: tuple[Path, ...]


def scaffold(folder: Path) -> Scaffold:
    """Write a new mirror into ``folder`` (made if missing). Raises ConfigError, changing
    nothing, if the folder already has a config or any of the files."""
    files = {folder / CONFIG_NAME: CONFIG, folder / ".gitignore": GITIGNORE,
             folder / ".github" / "workflows" / "newsmirror.yml": WORKFLOW}
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder}: exists and is not a folder")
    present = [path for path in files if path.exists()]
    if present:
        raise ConfigError(f"{present[0]}: already exists; init changes nothing in a folder that "
                          "has a mirror (edit the file, or choose another folder)")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as file:  # never over a file made meanwhile
            file.write(text)
    return Scaffold(folder, tuple(files))
