"""A differential fuzzer in a real browser: hostile bodies through the whole pipeline, each
result loaded in headless Chromium exactly as it is published, as a Hexo post and as a page of
the built-in site.

Bodies are drawn from the XSS families (script in every spelling, event handlers, URL schemes
with entities, controls and whitespace, srcdoc, object/embed/base/meta/form, SVG/MathML,
mutation XSS through noscript/style/template/comments/select/table), cut off at a random point,
frames, CSS overlays, private addresses and stray end tags, then mutated. Each batch goes into
a local RSS feed and through ``newsmirror run`` (posts written, site built); each post's HTML
is put in a theme-like page (and, with ``--hexo``, rendered by real Hexo with the landscape
theme, Markdown and all), each article page is served as built, and all are loaded with a
beacon. A finding is a beacon hit or dialog, a request to a loopback or private address, or a
part of the page outside the body covered by the body; each is saved as a regression case
(``tests/fixtures/browser-regressions.txt``, one per line: the body with its ``{B}`` and
``{P}`` placeholders and the private address, as JSON), which
``tests/test_browser_xss.py`` replays.

    python bench/browser_fuzz.py --minutes 2 [--seed N] [--hexo] [--src OTHER/src]

``--src`` runs another checkout's newsmirror (to compare before and after a change). Exit
code 1 when anything was found. Needs Debian's chromium and playwright (the test extras).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser_check import POST_CHROME, PRIVATE_TARGETS, SITE_CHROME, PageChecker, fill, post_page  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, HEXO, FeedServer, Response, hexo_generate, new_hexo_site  # noqa: E402

REGRESSIONS = ROOT / "tests" / "fixtures" / "browser-regressions.txt"
# The landscape theme's own parts, around a post that real Hexo rendered.
HEXO_CHROME = ["#header", "#footer"]

SCRIPTS = ["<script>{B}</script>", "<SCRIPT>{B}</SCRIPT>", "<script\n>{B}</script >",
           "<scr<script>ipt>{B}</script>", '<script src="data:text/javascript,{B}"></script>',
           "<svg><script>{B}</script></svg>", "<svg><script href=data:,{B}></script>"]
HANDLERS = ['<img src=x onerror="{B}">', "<img src=x onerror={B}>", '<IMG SRC=x OnErRoR="{B}">',
            "<img/src=x/onerror=\"{B}\">", '<img src=x onerror\n=\n"{B}">', '<svg onload="{B}">',
            '<body onload="{B}">', '<details open ontoggle="{B}">', '<div onmouseover="{B}">hover</div>',
            '<input autofocus onfocus="{B}">', '<video><source onerror="{B}"></video>',
            '<audio src=x onerror="{B}">', '<marquee onstart="{B}">x</marquee>',
            '<svg><animate onbegin="{B}" attributeName=x dur=1s>', '<img src=x onerror="{B}"//',
            '<img src=x onerror={B}//', '<p title="x" onclick="{B}">y</p>']
SCHEMES = ['<a href="javascript:{B}">x</a>', '<a href="JaVaScRiPt:{B}">x</a>',
           '<a href="java&#x09;script:{B}">x</a>', '<a href="&#106;avascript:{B}">x</a>',
           '<a href=" \njavascript:{B}">x</a>', '<a href="java\tscript:{B}">x</a>',
           '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;{B}">x</a>',
           '<a href="javascript&colon;{B}">x</a>', '<a href="data:text/html,<script>{B}</script>">x</a>',
           '<img srcset="javascript:{B} 1x">', '<a href="vbscript:msgbox(1)">x</a>']
ACTIVE = ['<iframe srcdoc="<script>{B}</script>"></iframe>', '<iframe src="javascript:{B}"></iframe>',
          '<object data="javascript:{B}"></object>', '<embed src="data:text/html,<script>{B}</script>">',
          '<base href="javascript:{B}//"><a href="x">rel</a>', '<meta http-equiv="refresh" content="0;url=javascript:{B}">',
          '<form><button formaction="javascript:{B}">go</button></form>',
          '<form action="javascript:{B}"><input type=submit></form>', '<isindex type=image src=1 onerror="{B}">',
          '<math><mi xlink:href="javascript:{B}">x</mi></math>', '<table background="javascript:{B}">']
MUTATION = ['<noscript><p title="</noscript><img src=x onerror={B}>"></noscript>',
            '<style><img src=x onerror="{B}"></style>', '<template><img src=x onerror="{B}"></template>',
            '<!--><img src=x onerror="{B}">-->', '<!-- --!><img src=x onerror="{B}"> -->',
            '<math><mtext><table><mglyph><style><img src=x onerror="{B}">',
            '<svg></p><style><a id="</style><img src=1 onerror={B}>">', '<select><template><style><!--</style><img src=x onerror={B}>',
            '<table><caption><svg><title><img src=x onerror={B}></title></svg></caption></table>',
            '<xmp><img src=x onerror="{B}"></xmp>', '<title><img src=x onerror="{B}"></title>',
            '<textarea><img src=x onerror="{B}"></textarea>', '<a title="<!--"><img src=x onerror={B}>-->',
            '<form><math><mtext></form><form><mglyph><style></math><img src onerror={B}>']
FRAMES = ['<iframe src="{P}"></iframe>', '<iframe src="https://evil.example/frame"></iframe>',
          '<iframe src="https://www.youtube.com/embed/x"></iframe>', '<iframe src="http://127.0.0.1:9/admin">',
          '<iframe src="https://0x7f.1/"></iframe>']
PRIVATE = ['<img src="{P}">', '<img data-src="{P}">', '<video poster="{P}"></video>', '<audio src="{P}" autoplay>',
           '<video><source src="{P}"></video>', '<img srcset="{P} 1x">', '<div style="background:url({P})">x</div>',
           '<table background="{P}"><tr><td>x</td></tr></table>', '<p style="background-image:url(\'{P}\')">x</p>',
           '<picture><source srcset="{P}"><img src="https://img.example/a.png"></picture>']
OVERLAYS = ['<div style="position:fixed;top:0;left:0;right:0;bottom:0;z-index:2147483647;background:#fff">'
            '<a href="https://evil.example/login">sign in again</a></div>',
            '<div style="position:absolute;top:0;left:0;width:100%;height:3000px;background:red"></div>',
            '<div style="position : FIXED ; inset:0;background:#000">x</div>',
            '<div style="pos\\ition:fixed;top:0;left:0;width:100vw;height:100vh;background:#000">x</div>',
            '<div style="margin-top:-2000px;height:2500px;background:#000">x</div>',
            '<p style="transform:translateY(-500px);background:#000;height:400px">x</p>',
            '<div style="outline:3000px solid #000">x</div>',
            '<style>body{background:#000}*{visibility:hidden}</style>',
            '<style>.x{position:fixed;inset:0;background:#000;z-index:9}</style><div class="x">x</div>',
            '<style>header,footer{display:none}</style>', '<style>:root{filter:invert(1)}</style>',
            '<div style="position:sticky;top:0;height:3000px;background:#000">x</div>',
            '<div style="box-shadow:0 0 0 3000px #000">x</div>']
STRUCTURE = ['</div></article></main><div style="height:3000px;background:#000">escaped</div>',
             '</div></div></div></div>', '<table><tr><td>open', '<a href="https://evil.example/">',
             '<b><i>', '<div><div><div>', '</body></html><p>after</p>', '<li>x', '<p>x</p><',
             '<plaintext>', '<!-- open', '<p title="unclosed', "<style>", '<title>', '</']
MARKDOWN = ["\n\na`b<span title=\"`<img src=x onerror={F}>\">x</span>",
            "\n\n    <span title=\"\n\n<img src=x onerror={F}>\">y</span>",
            "<span title=\"a\n\n<img src=x onerror={F}>\">z</span>", "\n\n[click](javascript:{F})",
            "\n\n\\<span title=\"\\\"><img src=x onerror={F}>\">e</span>",
            "<span title=\"\n```\n\"><img src=x onerror={F}>\n```\n\">f</span>",
            "<!-- a\n\n<img src=x onerror={F}> -->", "\n\n<javascript:{F}>", "\n\n*a<span title=\"*\">b</span>"]
BENIGN = ["<p>段落 paragraph</p>", '<img src="https://img.example/a.jpg" alt>', '<img data-src="/lazy.jpg">',
          '<a href="../rel">rel</a>', "<br>", "<ul><li>a</li></ul>", "&amp; &copy; &nbsp;", "<!-- c -->",
          '<div class="x" onclick>y</div>', "<table><tr><td>1</td></tr></table>", '<p style="text-align:center">c</p>',
          "<h3>小标题</h3>", "<blockquote>q</blockquote>", '<div class="markdown-body"><style>.markdown-body p{color:#333}</style>t</div>']
FAMILIES = [SCRIPTS, HANDLERS, SCHEMES, ACTIVE, MUTATION, FRAMES, PRIVATE, OVERLAYS, STRUCTURE, MARKDOWN]
NOISE = ['"', "'", "<", ">", "`", "=", "/", "-->", "</div>", "</p>", "<!--", "&", "&#", "\n", "\t", "\x00",
         " ", "</style>", "</noscript>", "</textarea>", "</title>", "<svg>", "<math>", "\n\n", "\n    ",
         "`", "\\", "```\n"]


def body(rng: random.Random) -> str:
    parts = [rng.choice(BENIGN)]
    for _ in range(rng.randint(1, 3)):
        parts.append(rng.choice(rng.choice(FAMILIES)))
        if rng.random() < 0.4:
            parts.append(rng.choice(BENIGN))
    text = "".join(parts)
    for _ in range(rng.choice((0, 0, 1, 2))):  # mutations
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(NOISE) + text[at:]
    if rng.random() < 0.3:  # cut off at a random point, as a truncated feed is
        text = text[:rng.randrange(1, len(text) + 1)]
    return text


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def run_batch(bodies: list[str], checker: PageChecker, server: FeedServer, src: Path, work: Path,
              hexo: bool) -> list[tuple[int, str]]:
    """Run the bodies through `newsmirror run` (posts and site) and check every page; with
    ``hexo``, also every post as a real Hexo (landscape) renders it."""
    if hexo:
        new_hexo_site(work / "site", HEXO / "node_modules")
    items = "".join(
        f"<item><title>case {n}</title><guid>c{n}</guid><link>https://news.example/c/{n}</link>"
        f"<pubDate>Sat, 22 Jan 2022 12:16:05 GMT</pubDate><description>{_cdata(text)}</description></item>"
        for n, text in enumerate(bodies))
    (work / "feed.xml").write_text(f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                                   f"<title>fuzz</title>{items}</channel></rss>", encoding="utf-8")
    (work / "newsmirror.toml").write_text(
        f'[output]\ndir = "site"\nmax_items = {len(bodies)}\n[site]\nenabled = true\nsearch = false\n'
        '[[channel]]\ngroup = "g"\nsite = "s"\nchannel = "c"\nurl = "feed.xml"\n', encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(src))
    result = subprocess.run([sys.executable, "-m", "newsmirror", "run", "--quiet", "--config",
                             str(work / "newsmirror.toml")], capture_output=True, text=True, env=env,
                            timeout=300)
    findings: list[tuple[int, str]] = []
    if result.returncode not in (0, 1):
        findings.append((-1, f"run failed ({result.returncode}): {result.stderr.strip()[-200:]}"))
        return findings
    public = work / "site" / "public"
    for n in range(len(bodies)):
        post = work / "site" / "source" / "_posts" / "g" / "s" / "c" / f"case {n}.md"
        if not post.exists():
            findings.append((n, "no post written"))
            continue
        server.routes[f"/post/{n}"] = Response(200, post_page(post.read_text("utf-8")),
                                               {"Content-Type": "text/html; charset=utf-8"})
        for problem in checker.check(server.url(f"/post/{n}"), POST_CHROME):
            findings.append((n, "post: " + problem))
        page = public / "posts" / "g" / "s" / "c" / f"case {n}.html"
        if page.exists():
            server.routes[f"/site/{n}"] = Response(200, page.read_bytes(), {"Content-Type": "text/html; charset=utf-8"})
            for problem in checker.check(server.url(f"/site/{n}"), SITE_CHROME):
                findings.append((n, "site page: " + problem))
        else:
            findings.append((n, "no site page"))
    if hexo:
        public.rename(work / "site" / "built-in")
        hexo_generate(work / "site", "_config.yml")
        rendered = {p.parent.name: p for p in (public / "2022").rglob("index.html")}
        for n in range(len(bodies)):
            page = rendered.get(f"case {n}")
            if page is None:
                findings.append((n, "no Hexo page"))
                continue
            server.routes[f"/hexo/{n}"] = Response(200, page.read_bytes(), {"Content-Type": "text/html; charset=utf-8"})
            for problem in checker.check(server.url(f"/hexo/{n}"), HEXO_CHROME):
                findings.append((n, "Hexo page: " + problem))
    return findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the newsmirror source to test")
    parser.add_argument("--no-save", action="store_true", help="do not add findings to the regression cases")
    parser.add_argument("--hexo", action="store_true",
                        help="also render the posts with real Hexo (needs tests/hexo/node_modules)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    from playwright.sync_api import sync_playwright

    deadline = time.monotonic() + args.minutes * 60
    tried, found = 0, []
    server = FeedServer()
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as temp:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        checker = PageChecker(browser)
        batch_number = 0
        while time.monotonic() < deadline:
            cases = [(body(rng), rng.choice(PRIVATE_TARGETS)) for _ in range(args.batch)]
            bodies = [fill(text, server.port, n, private) for n, (text, private) in enumerate(cases)]
            work = Path(temp) / f"batch{batch_number}"
            work.mkdir()
            for n, problem in run_batch(bodies, checker, server, args.src.resolve(), work, args.hexo):
                case = json.dumps(list(cases[n]), ensure_ascii=False) if n >= 0 else ""
                found.append((case, problem))
                print(f"FINDING {problem}: {case[:300]}", flush=True)
            tried += len(bodies)
            batch_number += 1
        browser.close()
    server.close()
    cases_found = sorted({case for case, _ in found if case})
    print(f"seed {seed}: {tried} bodies tried, {len(found)} findings in {len(cases_found)} bodies")
    if cases_found and not args.no_save:
        known = set(REGRESSIONS.read_text("utf-8").splitlines()) if REGRESSIONS.exists() else set()
        new = [case for case in cases_found if case not in known]
        with REGRESSIONS.open("a", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in new)
        print(f"{len(new)} new regression cases in {REGRESSIONS.relative_to(ROOT)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
