"""The bundled demo: a local HTTP server on 127.0.0.1 serving three made-up outlets' feeds and pages,
so the demo ingest goes through exactly the same fetch path as real feeds."""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit

PLACEHOLDER = b"__BASE__"
_TEXT_SUFFIXES = {".html", ".xml", ".txt", ".json"}


class _DemoHandler(BaseHTTPRequestHandler):
    server_version = "newswatch-demo/1"

    def __init__(self, *args: object, site: Path, **kwargs: object) -> None:
        self.site = site
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        relative = unquote(urlsplit(self.path).path).lstrip("/")
        target = (self.site / relative).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(self.site) or not target.is_file():
            self.send_error(404, "Not Found")
            return
        body = target.read_bytes()
        if target.suffix in _TEXT_SUFFIXES:
            port = cast(tuple[str, int], self.server.server_address)[1]
            body = body.replace(PLACEHOLDER, f"http://127.0.0.1:{port}".encode())
        ctype = {
            ".xml": "application/rss+xml; charset=utf-8",
            ".html": "text/html; charset=utf-8",
        }.get(target.suffix, mimetypes.guess_type(target.name)[0] or "application/octet-stream")
        if target.name.startswith("atom"):
            ctype = "application/atom+xml; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The demo's output is the trend summary; request lines would drown it.
        return


class PortInUse(RuntimeError):
    """The demo server could not bind its port."""


@contextmanager
def serve_site(site: Path, *, port: int = 0) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 (a free port by default) for the duration of the block; yields
    the base URL that replaces `__BASE__` in the served feeds and pages."""
    handler = partial(_DemoHandler, site=site.resolve())
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise PortInUse(
            f"cannot serve the demo on 127.0.0.1:{port} ({exc}); set NEWSWATCH_DEMO_PORT"
        ) from exc
    thread = threading.Thread(target=server.serve_forever, name="demo-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
