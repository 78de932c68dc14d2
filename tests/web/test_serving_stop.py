"""A stopping web server ends in bounded time even when a task on its loop will not end (web.serving._settle)."""

from __future__ import annotations

import asyncio
import threading
import time

import requests
from flask import Flask

from web import serving


def test_a_task_that_ignores_cancellation_does_not_keep_the_server_from_stopping(monkeypatch, caplog):
    monkeypatch.setattr(serving, "SETTLE_S", 0.5)
    app = Flask(__name__)
    app.get("/")(lambda: "ok")
    server = serving.WebServer(app, "127.0.0.1", 0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert requests.get(f"http://127.0.0.1:{server.port}/", timeout=10).text == "ok"  # serving, its loop running
    release = threading.Event()

    async def stubborn() -> None:
        while not release.is_set():  # a cleanup that swallows every cancel: asyncio.Runner would wait for ever
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                continue

    loop = server._loop
    assert loop is not None
    loop.call_soon_threadsafe(lambda: loop.create_task(stubborn()))
    started = time.monotonic()
    server.close()
    thread.join(timeout=15)
    try:
        assert not thread.is_alive() and time.monotonic() - started < 10
        assert "did not end within" in caplog.text and "stubborn" in caplog.text  # logged with its stack
    finally:
        release.set()
