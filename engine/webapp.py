"""The dev server's WSGI app: the in-memory site served under its base path, nothing else.

Answers only GET and HEAD, only to the host names the server listens on, and only with the
files of the last good rebuild: anything else (`..`, encoded separators, backslashes) is a 404.
While the last rebuild failed, HTML requests get a page listing its problems.
"""

from __future__ import annotations

import html
import mimetypes
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

_HEAD_END = re.compile(rb"</head\s*>", re.I)
_BODY_END = re.compile(rb"</body\s*>", re.I)
_ENCODED_FORBIDDEN = re.compile(r"%(2f|5c|00)", re.I)
_PORT = re.compile(r"(:[0-9]{0,5})?")  # RFC 9110: the port may be empty

WsgiStartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Response:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


class SiteApp:
    """WSGI app serving the in-memory site under base_path, with the reload script in every HTML page.

    While the last rebuild failed, every HTML request gets the error page
    listing its problems; assets are still served.
    """

    def __init__(self, base_path: str, reload_script_src: str | None = None,
                 allowed_hosts: frozenset[str] | None = None):
        self.base_path = decoded_base(base_path)
        self.reload_script_src = reload_script_src
        # Host names the pages may be asked for by (None: any). Refusing others stops a web page from
        # reading the preview, drafts included, through DNS rebinding.
        self.allowed_hosts = allowed_hosts
        self._files: Mapping[str, bytes] = {}
        self._problems: tuple[str, ...] = ()
        # Counts what was shown (each site or error page); the reload script's address carries it, so a
        # tab can tell the server which one it shows.
        self.build = 0

    def show_site(self, files: Mapping[str, bytes], base_path: str | None = None) -> None:
        """Serve these files (under a new base path, when base_url changed) from now on; clear the error page."""
        self._files = files
        self._problems = ()
        self.build += 1
        if base_path is not None:
            self.base_path = decoded_base(base_path)

    def show_problems(self, problems: Sequence[str]) -> None:
        """Answer HTML requests with an error page listing these lines until show_site() is called."""
        self._problems = tuple(problems)
        self.build += 1

    def __call__(self, environ: Mapping[str, Any], start_response: WsgiStartResponse) -> list[bytes]:
        response = self.respond(environ)
        start_response(response.status, response.headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [response.body]

    def respond(self, environ: Mapping[str, Any]) -> Response:
        """The response to one request: a file, a redirect, the error page or a 404."""
        method = environ.get("REQUEST_METHOD", "GET")
        if self.allowed_hosts is not None and host_name(str(environ.get("HTTP_HOST", ""))) not in self.allowed_hosts:
            return Response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")],
                            b"this preview answers only to the address it listens on\n")
        if method not in ("GET", "HEAD"):
            return Response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")],
                            b"only GET and HEAD are served\n")
        target = self.resolve(request_path(environ))
        if isinstance(target, _Redirect):
            return Response("302 Found", [("Location", quote(target.location, safe="/%:@!$&'()*+,;=~")),
                                          ("Cache-Control", "no-store"), ("Content-Length", "0")], b"")
        if self._problems and (target is None or target.endswith(".html")):
            return self._html("500 Internal Server Error", self._error_page())
        if target is None:
            page = self._files.get(self._not_found_page(request_path(environ)))
            return self._html("404 Not Found", page if page is not None else self._plain_404())
        body = self._files[target]
        kind = mimetypes.guess_type(target)[0] or "application/octet-stream"
        if kind == "text/html":
            return self._html("200 OK", body)
        if kind.startswith("text/") or kind in ("application/javascript", "application/json", "image/svg+xml",
                                                "application/xml", "application/atom+xml", "application/rss+xml"):
            kind += "; charset=utf-8"
        return Response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body))),
                                   ("Cache-Control", "no-store")], body)

    def _not_found_page(self, path: str | None) -> str:
        """The 404 page for a missing address: its language folder's (`es/404.html` for `es/…`) when the
        site has one, else the site's."""
        if path and path.startswith(self.base_path):
            folder = path[len(self.base_path):].split("/", 1)[0]
            if folder and f"{folder}/404.html" in self._files:
                return f"{folder}/404.html"
        return "404.html"

    def resolve(self, path: str | None) -> str | _Redirect | None:
        """The out_path a decoded request path names, a redirect to its canonical form, or None."""
        if path is None or "\\" in path or any(ord(c) < 32 or ord(c) == 127 for c in path):
            return None
        if path != self.base_path and path in ("/", "", self.base_path.rstrip("/")):
            return _Redirect(self.base_path)
        if not path.startswith(self.base_path):
            return None
        rest = path[len(self.base_path):]
        parts = rest.split("/")
        inner = parts[:-1] if rest.endswith("/") else parts
        if any(part in ("", ".", "..") for part in inner) and rest:
            return None
        if rest == "" or rest.endswith("/"):
            key = rest + "index.html"
            return key if key in self._files else None
        if rest in self._files:
            return rest
        if rest + "/index.html" in self._files:
            return _Redirect(self.base_path + rest + "/")
        return None

    def _html(self, status: str, body: bytes) -> Response:
        body = self._inject(body)
        return Response(status, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                                 ("Cache-Control", "no-store")], body)

    def _inject(self, body: bytes) -> bytes:
        """Add the external reload script, with the build's number, before </head> (any case), else before
        </body>, else at the end."""
        if not self.reload_script_src:
            return body
        src = f"{self.reload_script_src}{'&' if '?' in self.reload_script_src else '?'}snipver={self.build}"
        tag = f'<script src="{html.escape(src)}"></script>'.encode()
        for pattern in (_HEAD_END, _BODY_END):
            match = pattern.search(body)
            if match:
                return body[:match.start()] + tag + body[match.start():]
        return body + tag

    def _error_page(self) -> bytes:
        items = "\n".join(f"<li><code>{html.escape(line)}</code></li>" for line in self._problems)
        return (
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>Build error</title>\n"
            # a phone's width: long paths and messages wrap anywhere rather than widen the page
            "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem}"
            "h1{color:#b00020;font-size:1.5rem}ul{padding-left:1.2rem}li{margin:.5rem 0}"
            "code{white-space:pre-wrap;overflow-wrap:anywhere}</style>\n</head>\n<body>\n"
            "<h1>The site could not be rebuilt</h1>\n"
            f"<ul class=\"build-problems\">\n{items}\n</ul>\n"
            "<p>Fix the file and save it: this page reloads by itself.</p>\n</body>\n</html>\n"
        ).encode()

    def _plain_404(self) -> bytes:
        base = html.escape(self.base_path)
        return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Not found</title>\n"
                f"</head>\n<body>\n<h1>Not found</h1>\n<p>The site starts at <a href=\"{base}\">{base}</a>.</p>\n"
                "</body>\n</html>\n").encode()


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def host_name(host_header: str) -> str:
    """The name part of a Host header, lowercased: `[::1]:8000` -> `::1`, `Localhost:80` -> `localhost`;
    "" (no name allowed) when what follows the name is not a port (`[::1]evil.example`, `localhost:x`)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name if _PORT.fullmatch(rest) else ""
    if host.count(":") != 1:
        return host
    name, _, port = host.partition(":")
    return name if _PORT.fullmatch(":" + port) else ""


def decoded_base(base_path: str) -> str:
    base_path = unquote(base_path)
    return base_path if base_path.endswith("/") else base_path + "/"


@dataclass(frozen=True)
class _Redirect:
    location: str


def request_path(environ: Mapping[str, Any]) -> str | None:
    """The decoded request path, or None when it uses an encoded separator or NUL (%2f, %5c, %00)."""
    raw = environ.get("REQUEST_URI")
    if raw is None:  # a plain WSGI server: PATH_INFO is already decoded, as latin-1 (PEP 3333)
        return str(environ.get("PATH_INFO", "/")).encode("latin-1").decode("utf-8", "replace")
    raw = str(raw).split("?", 1)[0].split("#", 1)[0]
    if _ENCODED_FORBIDDEN.search(raw):
        return None
    return unquote(raw, errors="replace")
