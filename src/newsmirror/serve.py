"""``newsmirror serve``: the built site over HTTP on this machine, for a preview."""

from __future__ import annotations

import functools
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable


class _SiteHandler(SimpleHTTPRequestHandler):
    """Static files under the site's root path; the site's own 404 page for anything else."""

    root = "/"

    def translate_path(self, path: str) -> str:
        if path.startswith(self.root):
            path = "/" + path[len(self.root):]
        return super().translate_path(path)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet: a preview, not a server log
        pass


def serve_site(public: Path, root: str, bind: str, port: int,
               on_ready: Callable[[str], None]) -> None:
    handler = type("Handler", (_SiteHandler,), {"root": root})
    server = ThreadingHTTPServer((bind, port), functools.partial(handler, directory=str(public)))
    host, real_port = server.server_address[:2]
    on_ready(f"http://{host}:{real_port}{root}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
