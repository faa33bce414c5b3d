"""The dev server's live reload: livereload's websocket and client script, with the checks a preview needs.

Speaks the LiveReload protocol (hello, info, reload) through livereload's handler and serves its
livereload.js. Accepts a connection only for the host names the pages answer to and only from a page
of the preview itself (or a client sending no Origin); ignores messages it cannot read. A page's
script address carries the number of the build it comes from as the protocol's `snipver` option, which
livereload.js sends back in its hello: a tab whose page is older than the server's build is told to
reload at once, so no rebuild is missed while a tab reconnects.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import urlsplit

from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
from tornado.websocket import WebSocketClosedError

from .webapp import host_name

# livereload.js reads its options from its own address: reconnect after 50 ms (doubling up to 2 s)
# instead of its 1 s minimum, so a tab reloading for one rebuild is back before the next one.
SCRIPT_OPTIONS = "mindelay=50&maxdelay=2000"


class ReloadPolicy:
    """What one server's reload sockets share: the host names allowed (None: any), the number of the
    build the server shows now, and whether an unreadable message was already noted."""

    def __init__(self, allowed_hosts: frozenset[str] | None, current_build: Callable[[], int],
                 err: TextIO | None = None) -> None:
        self.allowed_hosts = allowed_hosts
        self.current_build = current_build
        self.err = err or sys.stderr
        self.noted_unreadable = False

    def allows_host(self, host_header: str) -> bool:
        return self.allowed_hosts is None or host_name(host_header) in self.allowed_hosts

    def note_unreadable(self) -> None:
        """One quiet line per server, however many unreadable messages arrive."""
        if not self.noted_unreadable:
            self.noted_unreadable = True
            print("live reload: ignored a message that is not LiveReload JSON (and will ignore any more)",
                  file=self.err, flush=True)


class ReloadSocket(LiveReloadHandler):  # type: ignore[misc]
    """One tab's live-reload connection: livereload's handler, its set of tabs (`waiters`) and its
    messages, behind our host, origin and message checks."""

    def initialize(self, policy: ReloadPolicy) -> None:
        self.policy = policy
        self.page_build: str | None = None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Refuse other host names before the upgrade, as the pages do (DNS rebinding)."""
        if not self.policy.allows_host(self.request.headers.get("Host", "")):
            self.set_status(403)
            self.finish("this preview answers only to the address it listens on\n")
            return
        await super().get(*args, **kwargs)

    def check_origin(self, origin: str) -> bool:
        """Only a page of the preview itself: its origin is the very host (and port) asked for."""
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == self.request.headers.get("Host", "").lower()

    def on_message(self, message: str | bytes) -> None:
        try:
            command = json.loads(message)
        except ValueError:
            command = None
        if not isinstance(command, dict) or not isinstance(command.get("command"), str):
            self.policy.note_unreadable()
            return
        if command["command"] == "hello" and command.get("snipver") is not None:
            self.page_build = str(command["snipver"])
        super().on_message(json.dumps(command))
        if command["command"] == "info" and self in LiveReloadHandler.waiters and self.page_build is not None \
                and self.page_build != str(self.policy.current_build()):
            self.send_reload()  # the site changed while this tab was loading or reconnecting

    def send_reload(self) -> None:
        try:
            self.write_message(json.dumps({"command": "reload", "path": "*", "liveCSS": False}))
        except WebSocketClosedError:
            LiveReloadHandler.waiters.discard(self)

    @classmethod
    def tabs(cls) -> int:
        """How many tabs are connected (livereload keeps them in one process-wide set)."""
        return len(LiveReloadHandler.waiters)

    @classmethod
    def close_all(cls) -> None:
        for tab in list(LiveReloadHandler.waiters):
            tab.close()

    @classmethod
    def reload_all(cls) -> None:
        """Tell every connected tab to reload now (livereload's own reload waits out a 3 s throttle)."""
        for tab in list(LiveReloadHandler.waiters):
            tab.send_reload()


class ReloadScript(LiveReloadJSHandler):  # type: ignore[misc]
    """livereload.js, an external file (the site's Content-Security-Policy allows no inline script)."""

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
