"""The viewer on HTTP: the standard library's threading server, bound to 127.0.0.1 by default.

Every answer carries a Content-Security-Policy that allows scripts and styles from this server's
own files only (no inline script, no `eval`, nothing from elsewhere), images from itself and
`data:` URLs, and no framing; plus `nosniff` and no referrer. Requests whose `Host` is not this
server's own address are refused, so a web page in the browser cannot reach the viewer through a
DNS name of its own (DNS rebinding). Only GET and HEAD are answered: the viewer changes nothing.
"""

from __future__ import annotations

import socket
import sys
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .app import App, Response

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
DEFAULT_PORT = 8765
LOOPBACK = "127.0.0.1"


class ViewerServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: App, host: str = LOOPBACK, port: int = DEFAULT_PORT, *, quiet: bool = True) -> None:
        self.app, self.quiet = app, quiet
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        self.host, self.port = host, self.server_address[1]
        self.allowed_hosts = _allowed_hosts(host, self.port)

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "::", "") else LOOPBACK
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def start_in_thread(self) -> threading.Thread:
        """Serve in a daemon thread (tests, the bench); `shutdown()` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="agentzoo-view", daemon=True)
        thread.start()
        return thread


def _allowed_hosts(host: str, port: int) -> set[str] | None:
    """The `Host` headers this server answers; None (any) when the user bound every address."""
    if host in ("0.0.0.0", "::", ""):
        return None
    names = {host, LOOPBACK, "localhost", "[::1]"} if host in (LOOPBACK, "localhost", "::1") else {host}
    return {f"{n}:{port}" for n in names} | ({f"[{host}]:{port}"} if ":" in host else set())


class _Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    protocol_version = "HTTP/1.1"
    server_version = "agentzoo-view"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def _refuse(self, status: int, text: str) -> None:
        self._send(Response(status, text.encode(), "text/plain; charset=utf-8"), head=False)

    def do_POST(self) -> None:  # noqa: N802
        self._refuse(405, "the viewer only reads")

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _answer(self, head: bool) -> None:
        allowed = self.server.allowed_hosts
        if allowed is not None and self.headers.get("Host", "") not in allowed:
            self._refuse(421, "this viewer answers only to its own address")
            return
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self._send(self.server.app.handle(parts.path, query), head)

    def _send(self, response: Response, head: bool) -> None:
        self.send_response(response.status)
        headers = {**SECURITY_HEADERS, "Content-Type": response.content_type,
                   "Content-Length": str(len(response.body)), **response.headers}
        headers.setdefault("Cache-Control", "no-cache")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            try:
                self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):  # the browser went away mid-answer
                pass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the standard library's name)
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


def bind(app: App, host: str = LOOPBACK, port: int = DEFAULT_PORT, *, quiet: bool = True) -> ViewerServer:
    """A server on `host:port`; when the port is taken (another viewer), on a free one."""
    try:
        return ViewerServer(app, host, port, quiet=quiet)
    except OSError as exc:
        if port == 0 or exc.errno not in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise
        return ViewerServer(app, host, 0, quiet=quiet)


def open_browser(url: str) -> bool:
    """Open `url` in the user's browser; False when there is none (a server without a display)."""
    try:
        return webbrowser.open(url, new=2)
    except (webbrowser.Error, OSError):
        return False
