"""What a published page must never do, checked in headless Chromium: run script, load anything
from the reader's own machine or network, or cover the page's own parts with feed content.

Shared by the browser tests and ``bench/browser_fuzz.py``. A body under test carries ``{B}``
(a statement that requests ``/fired/<n>`` from the page's own server), ``{F}`` (the same, in a
form Markdown keeps) and ``{P}`` (a private address); the page is loaded, everything in it clicked, hovered, focused and submitted, and then
the findings are what the page requested and what covers its chrome.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# Addresses of the reader's own network that bodies aim at; no request may reach one of them.
PRIVATE_TARGETS = ["http://127.0.0.2:9/p.png", "http://192.168.1.1/p.png", "//10.0.0.1/p.png",
                   "http://[::1]:9/p.png", "http://localhost:9/p.png", "http://0x7f.1/p.png",
                   "http://169.254.169.254/latest", "http://printer.local/p.png", "http://2130706433/p.png"]
_FIRED = re.compile(r"/fired/(\d+)")

# The parts of a post page that are not the post: a theme's header, the post's title, footer.
POST_CHROME = ["#page-header", "#post-title", "#page-footer"]
# The built-in site's: its header, the article's heading and meta line, its footer.
SITE_CHROME = ["body > header", "article > header h1", "body > footer"]


def beacon(port: int, n: int) -> str:
    # void: a javascript: URL whose value is a string would replace the page instead of running
    return f"void(new Image().src='//127.0.0.1:{port}/fired/{n}')"


def markdown_beacon(n: int) -> str:
    """A beacon without spaces, quotes or slashes, which Markdown's grammar of inline HTML and
    of link destinations takes as they are: a request for /fired/<n> on the page's own server."""
    return f"fetch(String.fromCharCode({','.join(str(ord(c)) for c in f'/fired/{n}')}))"


def fill(body: str, port: int, n: int, private: str = PRIVATE_TARGETS[0]) -> str:
    return (body.replace("{B}", beacon(port, n)).replace("{F}", markdown_beacon(n))
            .replace("{P}", private))


def post_page(post: str) -> bytes:
    """A post file's HTML (what follows its front matter) in a page shaped like a theme's."""
    content = post.split("\n---\n", 2)[-1] if post.startswith("\n---\n") else post
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>post</title>"
            "<style>body{margin:0;font:16px sans-serif}#page-header,#page-footer{height:90px;"
            "background:#eee;padding:10px}#post-title{margin:20px}</style></head><body>"
            '<header id="page-header"><a href="/">home</a> site title</header>'
            '<main><article class="post"><h1 id="post-title">the post title</h1>'
            f'<div class="post-body">{content}</div></article></main>'
            '<footer id="page-footer">footer <a href="/about">about</a></footer>'
            "</body></html>").encode("utf-8")


# What a reader might do: hover, focus and click everything, submit every form.
EXERCISE = """() => {
    for (const el of document.querySelectorAll('*')) {
        for (const type of ['mouseover', 'mouseenter', 'focus', 'click'])
            try { el.dispatchEvent(new MouseEvent(type, {bubbles: true})); } catch (e) {}
    }
    for (const el of document.querySelectorAll('a, button, input, area, summary'))
        try { el.click(); } catch (e) {}
    for (const form of document.querySelectorAll('form'))
        try { form.requestSubmit(); } catch (e) {}
}"""
_COVERED = """(selectors) => {
    const found = [];
    for (const selector of selectors) {
        const el = document.querySelector(selector);
        if (!el) { found.push(selector + ' is missing'); continue; }
        el.scrollIntoView({block: 'center'});
        const r = el.getBoundingClientRect();
        for (const fx of [0.05, 0.5, 0.95]) for (const fy of [0.2, 0.5, 0.8]) {
            const x = r.left + r.width * fx, y = r.top + r.height * fy;
            if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
            const hit = document.elementFromPoint(x, y);
            if (hit && !el.contains(hit))
                found.push(selector + ' covered by <' + hit.tagName.toLowerCase() + '>');
        }
    }
    return found;
}"""


def _private(url: str) -> bool:
    """As Chromium resolved it: the URL it requests has every IPv4 spelling made canonical."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return host == "localhost" or host.endswith((".localhost", ".local")) or "." not in host


class PageChecker:
    """Loads page after page, each in a fresh browser context, and says what each did."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self.origin = ""
        self.findings: list[str] = []

    def _route(self, request_route) -> None:
        target = request_route.request.url
        fired = _FIRED.search(target)
        if fired and target.startswith(self.origin + "/fired/"):
            self.findings.append(f"script ran (beacon {fired.group(1)})")
            return request_route.fulfill(status=204)
        if target.startswith((self.origin + "/", "data:", "about:", "blob:")):
            return request_route.continue_()
        if _private(target):
            self.findings.append(f"request to a private address: {target[:80]}")
        return request_route.abort()

    def check(self, url: str, chrome: list[str]) -> list[str]:
        """Load a page from the loopback server, do what a reader might, and return what went
        wrong: beacon hits, dialogs, requests to other loopback or private hosts, parts of the
        page (``chrome``, CSS selectors) covered by others or gone."""
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        self.findings = findings = []
        context = self.browser.new_context(viewport={"width": 1000, "height": 800})
        context.route("**/*", self._route)
        tab = context.new_page()
        tab.on("dialog", lambda dialog: (findings.append("script ran (dialog)"), dialog.dismiss()))
        try:
            tab.goto(url, wait_until="load", timeout=15_000)
            findings.extend(tab.evaluate(_COVERED, chrome))
            tab.evaluate(EXERCISE)
            # time for timers and image errors; a beacon sent late still arrives
            tab.wait_for_timeout(250)
        except Exception:  # a body that navigated the tab away: what it requested is still seen
            pass
        finally:
            context.close()
        return sorted(set(findings))
