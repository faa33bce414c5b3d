"""Dev server: the site kept in memory by LiveSite, served by webapp.py, rebuilt on save.

Rebuilds after each quiet burst of saves that watch.py reports, and reloads open tabs through
reloads.py. Listens on 127.0.0.1 unless told otherwise; never writes output/.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import quote, unquote

from tornado import web
from tornado.httpserver import HTTPServer

from .errors import BuildError, UsageError, named_from
from .live import LiveSite, pace_collector
from .reloads import SCRIPT_OPTIONS, ReloadPolicy, ReloadScript, ReloadSocket
from .settings import Settings
from .watch import QUIET_SECONDS, InotifyWakeup, SourceWatcher
from .webapp import LOOPBACK_NAMES, SiteApp, decoded_base, host_name

# With inotify waking the server, a scan now and then still catches what inotify cannot see
# (a network file system, a folder it could not watch).
_SAFETY_POLL = 0.5
RELOAD_SCRIPT_PATH = "/livereload.js"

class _SiteHandler(web.RequestHandler):
    """Tornado's side of the bridge: hands each request to the WSGI SiteApp with its raw URI."""

    def initialize(self, site_app: SiteApp) -> None:
        self.site_app = site_app

    def get(self, *args: str) -> None:
        self._answer()

    def head(self, *args: str) -> None:
        self._answer()

    def _answer(self) -> None:
        environ = {"REQUEST_METHOD": self.request.method, "REQUEST_URI": self.request.uri,
                   "PATH_INFO": unquote(self.request.path, encoding="latin-1"), "QUERY_STRING": self.request.query,
                   "HTTP_HOST": self.request.headers.get("Host", ""), "SERVER_NAME": self.request.host_name,
                   "wsgi.url_scheme": self.request.protocol}
        response = self.site_app.respond(environ)
        code, _, reason = response.status.partition(" ")
        self.set_status(int(code), reason)
        self.clear_header("Content-Type")
        for name, value in response.headers:
            self.set_header(name, value)
        self.finish(response.body)

    def compute_etag(self) -> None:
        return None  # every answer is no-store; a 304 would only hide a rebuild

    def log_exception(self, kind: type[BaseException] | None, value: BaseException | None, tb: object) -> None:
        """One line instead of tornado's traceback: a bug here must not bury the writer's terminal."""
        if isinstance(value, web.HTTPError):
            return
        print(f"internal error while serving {self.request.uri}: {type(value).__name__}: {value} "
              "(a bug in the dev server; please report it)", file=sys.stderr, flush=True)


def reload_clients() -> int:
    """How many tabs are connected for live reload."""
    return ReloadSocket.tabs()


# --- the server -------------------------------------------------------------------------------

def format_rebuild_line(pages: int, seconds: float, changed: Sequence[str] | None, served: int) -> str:
    """One terminal line per rebuild: `rebuilt 2 pages in 18 ms (content/background.md)`; the first says how
    many pages are served, and one that renders nothing says the site is up to date ("0 pages" reads as if
    nothing had happened, after a fix say)."""
    took = f"{seconds * 1000:.0f} ms"
    if changed is None:
        cached = f", {served - pages} from the cache" if pages < served else ""
        return f"built {served} page{'' if served == 1 else 's'} in {took}{cached}"
    if not pages:
        return f"up to date in {took}, no page to render again ({_list_changes(changed)})"
    return f"rebuilt {pages} page{'' if pages == 1 else 's'} in {took} ({_list_changes(changed)})"


def _is_page(out_path: str) -> bool:
    """An HTML page, counted as the build counts pages: the not-found pages are host files."""
    return out_path.endswith(".html") and not out_path.endswith("404.html")


def _list_changes(changed: Sequence[str]) -> str:
    if len(changed) <= 3:
        return ", ".join(changed)
    return f"{', '.join(changed[:2])} and {len(changed) - 2} more"


def bind_port(host: str, port: int) -> list[socket.socket]:
    """A listening socket for host:port, or a UsageError in one line that suggests a free port."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {port}")
    try:
        return [_listen(host, port)]
    except socket.gaierror:
        raise UsageError(f"cannot listen on '{host}': no such address (try --host 127.0.0.1)") from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            free = find_free_port(host, port + 1)
            suggestion = f"try --port {free}" if free else "try another --port"
            raise UsageError(f"port {port} on {host} is already in use; {suggestion}") from None
        if error.errno == errno.EACCES:
            raise UsageError(f"not allowed to listen on port {port} (ports below 1024 need privileges); "
                             "try --port 8000") from None
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def _listen(host: str, port: int) -> socket.socket:
    """One non-blocking listening socket on the first address host resolves to; closed again on failure."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM,
                                                         0, socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait for TIME_WAIT
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def find_free_port(host: str, start: int, tries: int = 50) -> int | None:
    """The first port from start on that can be bound on host, or None."""
    for port in range(start, min(start + tries, 65536)):
        try:
            _listen(host, port).close()
            return port
        except OSError:
            continue
    return None


class DevServer:
    """Builds the site in memory, serves it, rebuilds after each quiet burst of saves, reloads the tabs.

    open() binds the port and builds once; run() serves until stop() (from
    any thread) or Ctrl-C. A failing rebuild never stops it.
    """

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8000,
                 out: TextIO | None = None, err: TextIO | None = None, use_inotify: bool = True,
                 quiet_seconds: float = QUIET_SECONDS):
        self.settings = settings
        self.host = host
        self.port = port
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.live = LiveSite(settings)
        self.app = SiteApp(settings.base_path, allowed_hosts=_allowed_hosts(host))
        self.watcher = SourceWatcher(settings.root, [settings.content_dir, settings.layouts_dir],
                                     [settings.root / settings.config_source], quiet_seconds)
        self.rebuilds = 0
        self.started_in = Path.cwd()  # problems name their files from here, as the writer typed --config
        self._last_warnings: list[str] = []
        self._sockets: list[socket.socket] = []
        self.use_inotify = use_inotify
        self.uses_inotify = False  # whether the running server is woken by inotify
        self._stop = threading.Event()
        self._wake: Callable[[], object] | None = None
        self._has_events = True  # whether inotify reported anything since the last scan
        self.ready = threading.Event()

    @property
    def url(self) -> str:
        """The address of the site's home page."""
        return self._url(self.app.base_path)

    def _url(self, base_path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{quote(decoded_base(base_path))}"

    def open(self) -> None:
        """Bind the port (UsageError when busy) and build the whole site once."""
        self._sockets = bind_port(self.host, self.port)
        self.port = self._sockets[0].getsockname()[1]
        self.app.reload_script_src = f"{RELOAD_SCRIPT_PATH}?port={self.port}&{SCRIPT_OPTIONS}"
        self.rebuild(None)

    def rebuild(self, changed: tuple[str, ...] | None) -> None:
        """Rebuild, print one line, update what is served and reload the tabs; never raises for bad input."""
        started = time.perf_counter()
        what = "full build" if changed is None else _list_changes(changed)
        try:
            report = self.live.rebuild(changed)
        except BuildError as error:
            lines = [str(named_from(problem, self.settings.root, self.started_in)) for problem in error.problems]
            for line in lines:
                print(line, file=self.err, flush=True)
            errors = sum(not problem.is_warning for problem in error.problems)
            print(f"rebuild failed: {errors} problem{'' if errors == 1 else 's'} ({what}); "
                  f"the browser shows {'it' if errors == 1 else 'them'} until fixed", file=self.err, flush=True)
            self.app.show_problems(lines)
        except Exception as error:  # catch everything (STYLE "dev server"): an engine bug must not stop the server
            line = f"internal error while rebuilding: {type(error).__name__}: {error}"
            print(f"{line} ({what}); this is a bug in the generator: "
                  "run `build.py --debug` for the traceback and report it", file=self.err, flush=True)
            self.app.show_problems([line, "This is a bug in the generator, not in your files."])
        else:
            warnings = [str(named_from(warning, self.settings.root, self.started_in)) for warning in report.warnings]
            if warnings != self._last_warnings:  # the same warnings again after every save would bury the news
                for warning in warnings:
                    print(warning, file=self.err, flush=True)
                self._last_warnings = warnings
            pages = sum(_is_page(out_path) for out_path in report.rendered)
            served = sum(_is_page(out_path) for out_path in self.live.files)
            print(format_rebuild_line(pages, time.perf_counter() - started, changed, served), file=self.out, flush=True)
            base_path = self.live.settings.base_path  # site_config.yaml may have changed base_url
            if changed is not None and decoded_base(base_path) != self.app.base_path:
                print(f"base_url changed: now serving {self._url(base_path)}", file=self.out, flush=True)
            self.app.show_site(self.live.files, base_path)
        self.rebuilds += 1

    def run(self) -> None:
        """Serve until stop() is called; open() must have been called."""
        asyncio.run(self._serve())

    def stop(self) -> None:
        """Ask run() to return (thread-safe)."""
        self._stop.set()
        wake = self._wake
        if wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: it has stopped anyway
                wake()

    async def _serve(self) -> None:
        application = web.Application([
            (r"/livereload", ReloadSocket, {"policy": ReloadPolicy(self.app.allowed_hosts, lambda: self.app.build,
                                                                    self.err)}),
            (re.escape(RELOAD_SCRIPT_PATH), ReloadScript),
            (r"/.*", _SiteHandler, {"site_app": self.app}),
        ], log_function=lambda handler: None)
        server = HTTPServer(application)
        server.add_sockets(self._sockets)
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        self._wake = lambda: loop.call_soon_threadsafe(woken.set)
        inotify = self._open_inotify()
        if inotify is not None:
            def on_event() -> None:
                inotify.drain()
                self._has_events = True
                woken.set()
            loop.add_reader(inotify.fd, on_event)
        self.ready.set()
        try:
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), self._wait_seconds(inotify is not None))
                woken.clear()
                self._tick()
                if inotify is not None:
                    inotify.watch(self.watcher.folders_seen)
        finally:
            self._wake = None
            if inotify is not None:
                loop.remove_reader(inotify.fd)
                inotify.close()
            server.stop()
            ReloadSocket.close_all()
            # A stuck client must not keep the server alive; its socket dies with the loop.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.close_all_connections(), timeout=2)

    def _open_inotify(self) -> InotifyWakeup | None:
        if not self.use_inotify:
            return None
        try:
            inotify = InotifyWakeup()
        except OSError:  # not Linux, or out of inotify instances: polling alone still works
            return None
        inotify.watch(self.watcher.folders_seen)
        self.uses_inotify = True
        return inotify

    def _wait_seconds(self, has_inotify: bool) -> float:
        """How long to sleep: until a pending burst may be quiet; with inotify, else only a safety poll."""
        if not has_inotify:
            return self.watcher.poll_interval
        until_quiet = self.watcher.seconds_until_quiet()
        return _SAFETY_POLL if until_quiet is None else until_quiet

    def _tick(self) -> None:
        # A burst inotify has heard nothing of since the last scan is over: the inputs are as that scan
        # saw them, so a large site is not scanned twice per save. A safety poll always scans.
        rescan = self._has_events or not self.uses_inotify or self.watcher.seconds_until_quiet() is None
        self._has_events = False
        try:
            changed = self.watcher.poll(rescan)
        except Exception as error:  # catch everything (STYLE "dev server"): a watcher hiccup is reported, not fatal
            print(f"watching failed for a moment: {type(error).__name__}: {error}", file=self.err, flush=True)
            return
        if changed:
            self.rebuild(changed)
            ReloadSocket.reload_all()


def _allowed_hosts(host: str) -> frozenset[str] | None:
    """Loopback names (and the given name) for a server bound to one address; None (any) for 0.0.0.0 or ::."""
    if host in ("0.0.0.0", "::", ""):
        return None
    return LOOPBACK_NAMES | {host_name(host)}


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> int:
    """`build.py serve`: build in memory, serve with live reload until Ctrl-C; 0 when stopped."""
    pace_collector()
    server = DevServer(settings, host=host, port=port)
    server.open()
    print(f"serving {server.url} (drafts included; Ctrl-C to stop)", flush=True)
    signal.signal(signal.SIGTERM, lambda number, frame: server.stop())  # `kill` and process managers stop it cleanly
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a writer stops it
        server.run()
    print("stopped", flush=True)
    return 0
