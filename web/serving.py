"""Serving a kiosk web app (the office or a gate): hypercorn's asyncio server in front of the Flask app.

Why this server. The office is reached over the community's Wi-Fi, which anyone
can join, and a thread-per-connection WSGI server lets whoever holds connections
hold the threads the gates' sync needs: with cheroot an idle TCP connection
stalled the TLS handshake in the accept loop; with waitress eight event streams
(or ~98 idle sockets) took every thread, and 1 GiB bodies were spooled to disk
before anything looked at them. So the connections live on one asyncio event
loop (hypercorn: pure Python, h11, TLS by asyncio's ssl so a handshake is a
few callbacks on the loop and never blocks another connection), and only work
that is ready reaches the app's threads:

- **Idle and slow connections cost no thread.** A connection that sends no
  complete request head within ``idle_timeout_s`` (idle keep-alive, slowloris
  headers, a TLS handshake never finished) is closed; a request body must
  arrive within ``body_timeout_s`` (408 otherwise) and is read on the loop,
  so the app's thread only ever sees a complete body in memory.
- **Bodies are refused before they are read.** Over ``max_body_bytes`` by
  Content-Length is 413 at once, chunked bodies are counted as they come and
  cut off with 413 at the limit; either way the connection is closed without
  reading the rest. An app can also refuse bodies from callers it does not
  know (``app.config["BODY_ALLOWED"](authorization, path, cookie)``, the
  office's token and desk-session check): 401 before a byte of the body is
  read; the hook may instead answer a smaller byte bound for that body (the
  desk's sign-in form, sent without a token).
- **Event streams live on the loop.** ``web.sse.sse`` called by a view under
  this server hands its stream over (:class:`web.sse.StreamHandoff`): the
  view has authorized the request and picked the headers; the loop then
  carries the broadcaster's items to every open page through one bridge
  thread per broadcaster, with heartbeats, a write timeout so a dead page is
  noticed, and caps on open streams (per token, or per address without one,
  and in all) beyond which the answer is 503.
- **The WSGI app runs on a bounded pool** of ``threads``, its own small
  adapter (PEP 3333) rather than asgiref's WsgiToAsgi (which spools the whole
  body to a temporary file and runs every request on one thread) or a2wsgi
  (whose app thread reads the body from the loop, so a slow body holds a
  thread).

Plain HTTP and HTTPS go through the same server; HTTPS when a certificate is
given. See docs/office.md, "Serving".
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

log = logging.getLogger(__name__)

# What the office's app accepts (web.office.MAX_BODY_BYTES): a full sync batch with room to spare.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one connection may take from the server; the defaults suit the office on a community Wi-Fi."""

    max_body_bytes: int | None = None
    """A request body's limit; None: the app's ``MAX_CONTENT_LENGTH``, else 4 MiB."""
    idle_timeout_s: float = 15.0
    """A connection that has not sent a complete request head for this long is closed (TLS handshake included)."""
    body_timeout_s: float = 30.0
    """A request body must arrive within this (408 otherwise)."""
    max_streams: int = 500
    """Open event streams in all; beyond it a new one is answered 503."""
    max_streams_per_client: int = 16
    """Open event streams per token (per address for requests without one)."""
    write_timeout_s: float = 30.0
    """An event stream whose page takes longer than this to take a write is closed (a page that went away)."""
    stream_gather_s: float = 0.1
    """Items for event streams arriving this close together go to every page in one write (hundreds of pages)."""
    stream_quiet_gather_s: float = 1.0
    """The same for items a stream does not call urgent (a passage, not an alarm): fewer writes to every page."""


class WebServer:
    """A kiosk app (office or gate) on hypercorn; binds in the constructor, ``run()`` blocks until ``close()``."""

    def __init__(self, app: Any, host: str, port: int, *, threads: int = 8,
                 tls_cert: str | None = None, tls_key: str | None = None, limits: Limits | None = None):
        from hypercorn.config import Config

        self.tls = tls_cert is not None
        self.limits = limits or Limits()
        _raise_open_files_limit()
        self._socket = _listen(host, port)  # binds now: a port in use fails here, not in the thread
        self.port: int = self._socket.getsockname()[1]
        config = Config()
        config.bind = [f"{host}:{self.port}"]
        config.keep_alive_timeout = self.limits.idle_timeout_s
        config.ssl_handshake_timeout = self.limits.idle_timeout_s
        config.graceful_timeout = 2.0
        config.backlog = 1024
        config.alpn_protocols = ["http/1.1"]
        config.accesslog = None
        config.errorlog = logging.getLogger("kiosk.web.server")
        config.include_server_header = False
        if self.tls:
            config.certfile, config.keyfile = tls_cert, tls_key
            config.create_ssl_context()  # a missing or unreadable certificate fails here, not in the thread
        self._config = config
        self.front = AsgiFront(app, threads=threads, limits=self.limits)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._closed = threading.Event()

    def run(self) -> None:
        """Serve until closed; then give what is still running a bounded time to end (SETTLE_S)."""
        if self._closed.is_set():
            return
        loop = _Loop()
        try:
            loop.run_until_complete(self._serve())
        finally:
            try:
                _settle(loop, SETTLE_S)
            finally:
                loop.close()

    async def _serve(self) -> None:
        from hypercorn.app_wrappers import ASGIWrapper
        from hypercorn.asyncio.run import worker_serve
        from hypercorn.config import Sockets

        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(_quiet_peer_errors)
        self._stop = asyncio.Event()
        if self._closed.is_set():
            return
        sockets = Sockets(secure_sockets=[self._socket] if self.tls else [],
                          insecure_sockets=[] if self.tls else [self._socket], quic_sockets=[])
        try:
            await worker_serve(ASGIWrapper(self.front), self._config, sockets=sockets,  # type: ignore[arg-type]
                               shutdown_trigger=self._stop.wait)
        finally:
            self.front.shutdown()

    @property
    def serving(self) -> bool:
        """True while ``run`` serves (its event loop is running)."""
        loop = self._loop
        return loop is not None and loop.is_running() and not self._closed.is_set()

    def stop_on_signal(self) -> None:
        """For a SIGTERM/SIGINT handler on the serving thread: close in order while serving, else KeyboardInterrupt.

        Raising KeyboardInterrupt inside the running event loop tears through whatever callback it lands in, and
        asyncio prints a traceback per open connection; ``close`` ends ``run`` the ordinary way instead.
        """
        if self.serving:
            self.close()
            return
        raise KeyboardInterrupt

    def close(self) -> None:
        """Stop serving (from any thread); open streams end, the app's threads finish their requests. Idempotent."""
        self._closed.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.front.stop_streams)
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop closed meanwhile
                pass
        else:
            try:
                self._socket.close()
            except OSError:
                pass  # already closed: closing is idempotent


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket; proto IPPROTO_TCP so asyncio sets TCP_NODELAY on each connection (without it a
    response's head and body wait on the peer's delayed ACK: 40 ms per request on a kept-alive connection)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


SETTLE_S = 5.0  # after serving ends, how long the connections still open get to finish once cancelled


def _settle(loop: asyncio.AbstractEventLoop, timeout_s: float) -> None:
    """Cancel every task still on ``loop`` and wait at most ``timeout_s`` for them.

    asyncio.Runner waits for cancelled tasks without a bound; a task that does not end (a connection handler
    caught in its own cleanup) then kept a stopped gate from exiting until systemd killed it, and a test saw "did
    not stop within 20 s of SIGTERM". A task still running after the bound is logged with its stack and left
    behind: the process is stopping, and its journal is closed after this returns.
    """
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        _, stuck = loop.run_until_complete(asyncio.wait(pending, timeout=timeout_s))
        for task in stuck:
            stack = io.StringIO()
            task.print_stack(file=stack)
            log.warning("a server task did not end within %.0f s of stopping; left behind:\n%s", timeout_s,
                        stack.getvalue())
    for task in pending:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.debug("a server task ended with %r while stopping", task.exception())
    loop.run_until_complete(loop.shutdown_asyncgens())


class _Loop(asyncio.SelectorEventLoop):
    """asyncio's loop, with TLS connections given 2 s (not 30) to answer a close: a peer that never does cannot
    hold its connection, nor a stopping server, for half a minute (hypercorn does not pass this setting on)."""

    async def create_server(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("ssl") is not None:
            kwargs.setdefault("ssl_shutdown_timeout", 2.0)
        return await super().create_server(*args, **kwargs)


def _quiet_peer_errors(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """A peer that vanished or never finished a TLS close is the network's business: logged at debug only."""
    if isinstance(context.get("exception"), (TimeoutError, ConnectionError)):
        log.debug("connection ended: %s", context.get("exception"))
        return
    loop.default_exception_handler(context)


def _raise_open_files_limit() -> None:
    """Idle connections cost a file each: lift the soft limit (often 1024 under systemd) to the hard one."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = hard if hard != resource.RLIM_INFINITY else 65536
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, 1 << 20), hard))
    except (ImportError, ValueError, OSError):
        pass  # no resource module or not allowed: the default limit still serves a community's gates


class _Refused(Exception):
    """A request answered by the front itself (413, 408, 401), never handed to the app."""

    def __init__(self, status: int, message: str, headers: Iterable[tuple[bytes, bytes]] = ()):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, list(headers)


class AsgiFront:
    """The ASGI app hypercorn runs: bodies bounded on the loop, event streams on the loop, the WSGI app on a pool."""

    def __init__(self, app: Any, *, threads: int, limits: Limits):
        from web.sse import StreamHub

        self.app = app
        self.limits = limits
        config = getattr(app, "config", {})
        self.max_body = limits.max_body_bytes or config.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_BODY_BYTES
        # BODY_ALLOWED(authorization, path, cookie) → True (read up to max_body), False (401 unread), or an int:
        # read at most that many bytes (413 past it), for bodies an app takes from callers without a token.
        self.body_allowed: Callable[[str, str, str], bool | int] | None = config.get("BODY_ALLOWED")
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kiosk-web")
        self.hubs: dict[int, StreamHub] = {}
        self.streams: dict[str, int] = {}  # client key → open streams
        self.open_streams = 0
        self._open: set[_OpenStream] = set()
        self._ticker: asyncio.Future | None = None

    # -- lifecycle ---------------------------------------------------------

    def stop_streams(self) -> None:
        """End every open stream (on the loop's thread)."""
        for stream in list(self._open):
            stream.task.cancel()
        if self._ticker is not None:
            self._ticker.cancel()

    def shutdown(self) -> None:
        for hub in self.hubs.values():
            hub.close()
        self.hubs.clear()
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":  # websockets: nothing here speaks them
            return
        try:
            body = await self._read_body(scope, receive)
        except _Refused as refused:
            await _answer(send, refused.status, refused.message, refused.headers, close=True)
            return
        await self._dispatch(scope, body, receive, send)

    # -- bodies ------------------------------------------------------------

    async def _read_body(self, scope: dict, receive: Callable) -> bytes:
        headers = _headers(scope)
        length_text = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if length_text is None and not chunked:
            return b""
        if length_text is not None:
            if not (length_text.isascii() and length_text.isdigit()):
                raise _Refused(400, "Content-Length: expected a whole number of bytes")
            if int(length_text) > self.max_body:
                raise _Refused(413, f"request body over {self.max_body} bytes")
            if int(length_text) == 0:
                return b""
        limit = self.max_body
        if self.body_allowed is not None:
            allowed = await asyncio.get_running_loop().run_in_executor(
                self.pool, self.body_allowed, headers.get("authorization", ""), scope["path"], headers.get("cookie", ""))
            if allowed is False or allowed is None or (allowed is not True and int(allowed) <= 0):
                raise _Refused(401, "unknown or missing bearer token: send 'Authorization: Bearer <token>'",
                               [(b"www-authenticate", b'Bearer realm="kiosk-office"')])
            if allowed is not True:  # a smaller bound for this body (e.g. a sign-in form)
                limit = min(limit, int(allowed))
                if length_text is not None and int(length_text) > limit:
                    raise _Refused(413, f"request body over {limit} bytes")
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.body_timeout_s):  # one deadline for the whole body
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _Refused(400, "the connection closed before the body was complete")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise _Refused(413, f"request body over {limit} bytes")
                    parts.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(parts)
        except TimeoutError:
            raise _Refused(408, f"request body not received within {self.limits.body_timeout_s:g} s") from None

    # -- the WSGI app ------------------------------------------------------

    async def _dispatch(self, scope: dict, body: bytes, receive: Callable, send: Callable) -> None:
        from web.sse import HANDOFF_KEY, StreamHandoff

        environ = _environ(scope, body)
        handoff = StreamHandoff()
        environ[HANDOFF_KEY] = handoff
        loop = asyncio.get_running_loop()
        try:
            status, headers, chunks, rest = await loop.run_in_executor(self.pool, _call_wsgi, self.app, environ)
        except RuntimeError:  # the pool shut down: the server is stopping
            await _answer(send, 503, "the server is stopping", close=True)
            return
        if handoff.source is not None and status == 200 and scope["method"] == "GET":
            await self._stream(scope, headers, handoff, receive, send)
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if rest is not None:  # a streamed body: each next chunk is made on the pool
            try:
                while True:
                    more = await loop.run_in_executor(self.pool, _next_chunk, rest)
                    if more is None:
                        break
                    await send({"type": "http.response.body", "body": bytes(more), "more_body": True})
            finally:
                close = getattr(rest, "close", None)
                if close is not None:
                    loop.run_in_executor(self.pool, close)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    # -- event streams -----------------------------------------------------

    async def _stream(self, scope: dict, headers: list, handoff: Any, receive: Callable, send: Callable) -> None:
        from web.sse import StreamHub

        authorization = _headers(scope).get("authorization", "")
        if authorization:
            key = "token:" + hashlib.sha256(authorization.encode("utf-8", "replace")).hexdigest()
        else:
            key = "addr:" + str((scope.get("client") or ("?",))[0])
        if self.open_streams >= self.limits.max_streams:
            await _answer(send, 503, f"too many open event streams (the server's limit is {self.limits.max_streams})",
                          [(b"retry-after", b"30")])
            return
        if self.streams.get(key, 0) >= self.limits.max_streams_per_client:
            await _answer(send, 503, f"too many open event streams for this client (limit "
                          f"{self.limits.max_streams_per_client}); close a page", [(b"retry-after", b"30")])
            return
        hub = self.hubs.get(id(handoff.source))
        if hub is None:
            hub = self.hubs[id(handoff.source)] = StreamHub(handoff.source, asyncio.get_running_loop(),
                                                            handoff.name, handoff.ident,
                                                            gather_s=self.limits.stream_gather_s,
                                                            quiet_gather_s=self.limits.stream_quiet_gather_s,
                                                            urgent=handoff.urgent)
        if self._ticker is None:
            self._ticker = asyncio.ensure_future(self._tick())
        self.open_streams += 1
        self.streams[key] = self.streams.get(key, 0) + 1
        queue = hub.open()
        stream = _OpenStream(queue, asyncio.current_task(), handoff.heartbeat_s)
        self._open.add(stream)
        watcher = asyncio.ensure_future(_until_disconnect(receive, queue))
        try:
            kept = [(k, v) for k, v in headers if k not in (b"content-length", b"transfer-encoding")]
            await stream.write(send, {"type": "http.response.start", "status": 200, "headers": kept})
            await stream.write(send, {"type": "http.response.body", "body": b": connected\n\n", "more_body": True})
            while True:
                batches = [await queue.get()]
                while not queue.empty():  # whatever else is waiting goes in the same write
                    batches.append(queue.get_nowait())
                if any(batch is None or batch is _END for batch in batches):  # dropped for not keeping up, or gone
                    break
                await stream.write(send, {"type": "http.response.body", "body": b"".join(batches), "more_body": True})
            await stream.write(send, {"type": "http.response.body", "body": b"", "more_body": False})
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - a write failed or timed out: the page went away
            pass
        finally:
            watcher.cancel()
            self._open.discard(stream)
            hub.close_queue(queue)
            self.open_streams -= 1
            self.streams[key] -= 1
            if not self.streams[key]:
                del self.streams[key]

    async def _tick(self) -> None:
        """One timer for every open stream: heartbeats when a stream was quiet, and an end to stuck writes."""
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for stream in list(self._open):
                if stream.writing_since is not None and now - stream.writing_since > self.limits.write_timeout_s:
                    stream.task.cancel()  # the page stopped taking writes: it went away
                elif stream.writing_since is None and now - stream.last_write >= stream.heartbeat_s:
                    stream.last_write = now
                    try:
                        stream.queue.put_nowait(b": heartbeat\n\n")
                    except asyncio.QueueFull:
                        pass  # data is queued for it anyway: a heartbeat would add nothing


_END: Any = object()  # put in a stream's queue when its page disconnected


class _OpenStream:
    """An open event stream as the ticker sees it."""

    def __init__(self, queue: asyncio.Queue, task: Any, heartbeat_s: float):
        self.queue, self.task, self.heartbeat_s = queue, task, heartbeat_s
        self.last_write = time.monotonic()
        self.writing_since: float | None = None

    async def write(self, send: Callable, message: dict) -> None:
        self.writing_since = time.monotonic()
        await send(message)
        self.last_write, self.writing_since = time.monotonic(), None


async def _until_disconnect(receive: Callable, queue: asyncio.Queue) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass  # a stream's request has no body to read: only the disconnect matters
    try:
        queue.put_nowait(_END)
    except asyncio.QueueFull:
        pass  # the writer is stuck on a full queue; its write timeout ends the stream


async def _answer(send: Callable, status: int, message: str, headers: Iterable[tuple[bytes, bytes]] = (), *,
                  close: bool = False) -> None:
    import json

    body = json.dumps({"error": message}, ensure_ascii=False).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    if close:
        head.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _headers(scope: dict) -> dict[str, str]:
    """The request's headers by lower-case name (repeated ones joined with ', ')."""
    joined: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        joined[key] = f"{joined[key]}, {text}" if key in joined else text
    return joined


def _environ(scope: dict, body: bytes) -> dict:
    """A PEP 3333 environ for a request whose body is already in memory."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in _headers(scope).items():
        if name in ("content-length", "transfer-encoding"):
            continue
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def _next_chunk(rest: Iterator[bytes]) -> bytes | None:
    return next(rest, None)


def _call_wsgi(app: Any, environ: dict) -> tuple[int, list[tuple[bytes, bytes]], list[bytes], Any]:
    """Run the app on a pool thread: status, headers, the body's chunks, and the rest of a streamed body (or None)."""
    from web.sse import HANDOFF_KEY

    started: dict[str, Any] = {}
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None and started.get("sent"):
            raise exc_info[1].with_traceback(exc_info[2])
        started["status"], started["headers"] = status, headers
        return written.append

    iterable = app(environ, start_response)
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in started.get("headers", [])]
    status = int(str(started.get("status", "500")).split(" ", 1)[0])
    handoff = environ.get(HANDOFF_KEY)
    if handoff is not None and handoff.source is not None:  # the loop carries the stream: end the view's side now
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
        return status, headers, [], None
    streamed = any(k == b"content-type" and v.startswith(b"text/event-stream") for k, v in headers)
    if streamed:  # never drained here: it may not end; the loop takes it chunk by chunk
        return status, headers, written, iter(iterable)
    try:
        return status, headers, written + [bytes(chunk) for chunk in iterable if chunk], None
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
