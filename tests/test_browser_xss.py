"""No script from a feed runs in a real browser: headless Chromium (Debian's) loads every vector.

Each vector, if it ran, would request ``/fired/<n>`` from the loopback server. The page is
loaded, then every link, button and form in it is clicked, hovered, focused and submitted, and
the browser is given time for timers and image errors; the server must have seen no such
request. As a control, the same vectors uncleaned must fire (most of them), so a silent
harness cannot pass.
"""

from __future__ import annotations

import html

from browser_check import EXERCISE, markdown_beacon
from conftest import Response, channel_toml, hexo_generate, new_hexo_site, newsmirror, rss, write_config
from newsmirror.clean import clean_body
from newsmirror.hexo import Post, render_post

# {B} is the beacon: a statement that requests /fired/<n> from the test server.
VECTORS = [
    "<script>{B}</script>",
    "<SCRIPT>{B}</SCRIPT>",
    "<ScRiPt >{B}</sCrIpT>",
    "<scr<script>ipt>{B}</script>",
    '<script src="data:text/javascript,{B}"></script>',
    "<img src=x onerror=\"{B}\">",
    "<IMG SRC=x OnErRoR=\"{B}\">",
    "<img src=x onerror\n=\n\"{B}\">",
    "<img/src=x/onerror=\"{B}\">",
    "<svg onload=\"{B}\"></svg>",
    "<svg><script>{B}</script></svg>",
    "<svg><a xlink:href=\"javascript:{B}\"><text y=20>x</text></a></svg>",
    "<svg><animate onbegin=\"{B}\" attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"{B}\">",
    "<math><mi xlink:href=\"javascript:{B}\">x</mi></math>",
    "<body onload=\"{B}\">",
    "<input autofocus onfocus=\"{B}\">",
    "<details open ontoggle=\"{B}\">",
    "<div onmouseover=\"{B}\">hover</div>",
    "<a href=\"javascript:{B}\">x</a>",
    "<a href=\"JaVaScRiPt:{B}\">x</a>",
    "<a href=\"java&#x09;script:{B}\">x</a>",
    "<a href=\"&#106;avascript:{B}\">x</a>",
    "<a href=\" \njavascript:{B}\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<iframe srcdoc=\"<script>{B}</script>\"></iframe>",
    "<iframe src=\"javascript:{B}\"></iframe>",
    "<iframe src=\"data:text/html,<script>{B}</script>\"></iframe>",
    "<object data=\"javascript:{B}\"></object>",
    "<object data=\"data:text/html,<script>{B}</script>\"></object>",
    "<embed src=\"data:text/html,<script>{B}</script>\">",
    "<base href=\"javascript:{B}//\"><a href=\"x\">rel</a>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:{B}\">",
    "<form><button formaction=\"javascript:{B}\">go</button></form>",
    "<form action=\"javascript:{B}\"><input type=submit></form>",
    "<img srcset=\"javascript:{B} 1x\">",
    "<noscript><p title=\"</noscript><img src=x onerror=&quot;{B}&quot;>\"></noscript>",
    "<style><img src=x onerror=\"{B}\"></style>",
    "<template><img src=x onerror=\"{B}\"></template>",
    "<!--><img src=x onerror=\"{B}\">-->",
    "<!-- --!><img src=x onerror=\"{B}\"> -->",
    "<div style=\"background:url(javascript:{B})\">x</div>",
    "<video><source onerror=\"{B}\"></video>",
    "<audio src=x onerror=\"{B}\"></audio>",
    "<marquee onstart=\"{B}\">x</marquee>",
    "<isindex type=image src=1 onerror=\"{B}\">",
    "<xmp><img src=x onerror=\"{B}\"></xmp>",
    "<table background=\"javascript:{B}\">",
]
# What only Hexo's Markdown renderer would turn into a link (text in HTML, a link in Markdown).
MARKDOWN_VECTORS = [
    # {F} is a beacon without spaces, which a Markdown link destination cannot hold
    "\n\n[click](javascript:{F})\n\n",
    "\n\na`b<span title=\"`<img src=x onerror={F}>\">x</span>",          # a code span hides a quote
    "\n\n    <span title=\"\n\n<img src=x onerror={F}>\">y</span>",      # indented code does
    "<span title=\"a\n\n<img src=x onerror={F}>\">z</span>",               # a blank line in a value
    "\n\n\\<span title=\"\\\"><img src=x onerror={F}>\">e</span>",        # a backslash escape
    "<span title=\"\n```\n\"><img src=x onerror={F}>\n```\n\">f</span>",  # a code fence (Hexo's)
    "\n\n[click](javascript:{B})\n\n",
    "\n\n[click][r]\n\n[r]: javascript:{B}\n\n",
    "\n\n<javascript:{B}>\n\n",
    "\n\n[click](JaVaScRiPt&#58;{B})\n\n",
]


def beacon(server, n: int) -> str:
    # void: a javascript: URL whose value is a string would replace the page (and cancel the
    # request) instead of just running
    return f"void(new Image().src='//127.0.0.1:{server.port}/fired/{n}')"


def page(body: str) -> bytes:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>post</title>'
            f"</head><body><main>{body}</main></body></html>").encode()


def fired(server) -> set[int]:
    return {int(path.rsplit("/", 1)[1]) for path, _ in server.requests if path.startswith("/fired/")}


def exercise(browser, url: str) -> None:
    """Load a page and do what a reader might: click, hover, focus, submit; then wait."""
    context = browser.new_context()
    # Loopback only: a theme's web fonts or CDN scripts are refused at once, not waited for.
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(("http://127.0.0.1:", "data:", "about:"))
                  else route.abort())
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.dismiss())
    try:
        tab.goto(url, wait_until="load", timeout=15_000)
        tab.evaluate(EXERCISE)
        # until no request has been in flight for 500 ms: a beacon sent late still arrives
        tab.wait_for_timeout(100)
        tab.wait_for_load_state("networkidle", timeout=5_000)
    except Exception:  # a vector that navigated the tab away: what it requested is still seen
        pass
    finally:
        context.close()


def test_cleaned_bodies_run_nothing(browser, server):
    for n, vector in enumerate(VECTORS):
        body = f"<p>before</p>{vector.format(B=beacon(server, n))}<p>after</p>"
        cleaned = clean_body(body, "https://news.example/a/1.html").html
        server.routes[f"/raw/{n}"] = Response(200, page(body), {"Content-Type": "text/html"})
        server.routes[f"/clean/{n}"] = Response(200, page(cleaned), {"Content-Type": "text/html"})
    for n in range(len(VECTORS)):
        exercise(browser, server.url(f"/clean/{n}"))
    assert fired(server) == set(), [VECTORS[n] for n in fired(server)]
    for n in range(len(VECTORS)):
        exercise(browser, server.url(f"/raw/{n}"))
    raw_fired = fired(server)
    # The control: uncleaned, the harness sees vectors of every kind fire (script, event
    # handler, javascript: link, srcdoc, mutation), so it would see a cleaned one fire too.
    core = {VECTORS.index(v) for v in ("<script>{B}</script>", "<img src=x onerror=\"{B}\">",
                                       "<a href=\"javascript:{B}\">x</a>",
                                       "<iframe srcdoc=\"<script>{B}</script>\"></iframe>",
                                       "<!--><img src=x onerror=\"{B}\">-->")}
    assert core <= raw_fired, sorted(core - raw_fired)
    assert len(raw_fired) >= len(VECTORS) // 3, sorted(raw_fired)


def test_hexo_pages_run_nothing(browser, server, tmp_path, node_modules):
    vectors = VECTORS + MARKDOWN_VECTORS
    items = "".join(
        f"<item><title>vector {n}</title><guid>v{n}</guid><link>https://news.example/v/{n}</link>"
        f"<pubDate>Sat, 22 Jan 2022 12:16:05 GMT</pubDate><description><![CDATA[<p>before</p>"
        f"{vector.format(B=beacon(server, n), F=markdown_beacon(n))}<p>after</p>]]></description></item>"
        for n, vector in enumerate(vectors))
    server.routes["/vectors"] = Response(200, rss(items))
    site = new_hexo_site(tmp_path / "site", node_modules)
    config = write_config(tmp_path, [channel_toml("安全", "XSS", "vectors", server.url("/vectors"),
                                                  f"max_items = {len(vectors)}\n")])
    assert newsmirror("run", "--config", str(config)).returncode == 0
    # The control: the Markdown vectors written as posts uncleaned (2023, beacons from 1000 on),
    # so that the harness is seen to catch what Hexo's Markdown makes of them.
    control = site / "source" / "_posts" / "control"
    control.mkdir(parents=True)
    for n, vector in enumerate(MARKDOWN_VECTORS):
        body = "<p>before</p>" + vector.format(B=beacon(server, 1000 + n), F=markdown_beacon(1000 + n))
        (control / f"c{n}.md").write_text(render_post(Post(
            title=f"control {n}", group="control", site="c", channel="c", author="c",
            date="Sun, 22 Jan 2023 12:16:05 GMT", image="https://img.example/a.png", body=body)), "utf-8")
    hexo_generate(site, "_config.yml")
    server.static_root = site / "public"
    pages = sorted((site / "public" / "2022").rglob("index.html"))
    assert len(pages) == len(vectors)
    for article in pages:
        exercise(browser, server.url("/" + str(article.relative_to(site / "public"))))
    assert fired(server) == set(), [vectors[n] for n in fired(server)]
    # the articles are there: each shows the paragraph before its vector
    assert all("<p>before</p>" in html.unescape(p.read_text("utf-8")) for p in pages)
    for article in sorted((site / "public" / "2023").rglob("index.html")):
        exercise(browser, server.url("/" + str(article.relative_to(site / "public"))))
    # a code span, indented code and a backslash escape each reveal a tag the HTML hid
    assert {1001, 1002, 1004} <= fired(server), sorted(fired(server))
