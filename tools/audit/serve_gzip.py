"""Serve a built site on 127.0.0.1 the way a production host would: gzip-compressed, cached, under its base path.

Usage: serve_gzip.py OUTPUT_DIR BASE_PATH PORT_FILE -- writes the chosen port to PORT_FILE, then serves until killed.
"""

from __future__ import annotations

import gzip
import http.server
import mimetypes
import sys
from pathlib import Path

COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml",
                "application/atom+xml")


def main() -> None:
    output, base_path, port_file = Path(sys.argv[1]).resolve(), sys.argv[2], Path(sys.argv[3])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0].split("#")[0]
            file = None
            if path.startswith(base_path):
                candidate = (output / path[len(base_path):]).resolve()
                if candidate.is_dir():
                    candidate = candidate / "index.html"
                if candidate.is_relative_to(output) and candidate.is_file():
                    file = candidate
            status = 200 if file else 404
            file = file or output / "404.html"
            body = file.read_bytes()
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            self.send_response(status)
            self.send_header("Content-Type", kind + ("; charset=utf-8" if kind.startswith("text/") else ""))
            # Fingerprinted assets never change; pages are revalidated.
            immutable = "/assets/" in path and file.parent.name == "assets"
            self.send_header("Cache-Control", "public, max-age=31536000, immutable" if immutable else "no-cache")
            if kind.startswith(COMPRESSIBLE) and "gzip" in self.headers.get("Accept-Encoding", ""):
                body = gzip.compress(body, 9)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "Accept-Encoding")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
