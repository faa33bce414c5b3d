"""The dev server's live reload: the websocket that tells open tabs to reload, and the script they run.

Speaks the LiveReload protocol (hello, info, reload). Accepts a connection only for the host names
the pages answer to and only from a page of the preview itself (or a client sending no Origin);
ignores messages it cannot read. A tab says which build its page comes from and is told to reload at
once when the server has a newer one, so no rebuild is missed while a tab reconnects.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, TextIO
from urllib.parse import urlsplit

from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .webapp import host_name

CLIENT_SCRIPT = (Path(__file__).with_name("reload-client.js")).read_bytes()
PROTOCOL = "http://livereload.com/protocols/official-7"


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


class ReloadSocket(WebSocketHandler):
    """One tab's live-reload connection."""

    tabs: ClassVar[set[ReloadSocket]] = set()  # the connected tabs of the process (one server runs at a time)

    def initialize(self, policy: ReloadPolicy) -> None:
        self.policy = policy

    async def get(self, *args: str, **kwargs: str) -> None:
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
        if command["command"] == "hello":
            self.write_message(json.dumps({"command": "hello", "protocols": [PROTOCOL],
                                           "serverName": "explainer-dev-server"}))
        elif command["command"] == "info":
            ReloadSocket.tabs.add(self)
            build = command.get("build")
            if build is not None and str(build) != str(self.policy.current_build()):
                self.send_reload()  # the site changed while this tab was loading or reconnecting

    def on_close(self) -> None:
        ReloadSocket.tabs.discard(self)

    def send_reload(self) -> None:
        try:
            self.write_message(json.dumps({"command": "reload", "path": "*", "liveCSS": False}))
        except WebSocketClosedError:
            ReloadSocket.tabs.discard(self)

    @classmethod
    def reload_all(cls) -> None:
        """Tell every connected tab to reload now."""
        for tab in list(cls.tabs):
            tab.send_reload()


class ReloadScript(web.RequestHandler):
    """The client script, an external file (the site's Content-Security-Policy allows no inline script)."""

    def get(self) -> None:
        self.set_header("Content-Type", "application/javascript; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(CLIENT_SCRIPT)
