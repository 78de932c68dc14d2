"""Running a kiosk web app: waitress for plain HTTP, cheroot when there is a TLS certificate (the office).

waitress (the project's server) does not terminate TLS; cheroot, CherryPy's
WSGI server, does with Python's own ssl module, so HTTPS needs no proxy.
"""

from __future__ import annotations

from typing import Any


class WebServer:
    """A WSGI server for a kiosk app (office or gate); ``run()`` blocks until ``close()``."""

    def __init__(self, app: Any, host: str, port: int, *, threads: int = 8,
                 tls_cert: str | None = None, tls_key: str | None = None):
        self.tls = tls_cert is not None
        if self.tls:
            from cheroot import wsgi
            from cheroot.ssl.builtin import BuiltinSSLAdapter

            self._server: Any = wsgi.Server((host, port), app, numthreads=threads, server_name="kiosk")
            self._server.ssl_adapter = BuiltinSSLAdapter(tls_cert, tls_key)
            self._server.prepare()  # binds now, so a port in use fails here, not in the thread
            self.port = self._server.bind_addr[1]
        else:
            from waitress.server import create_server

            self._server = create_server(app, host=host, port=port, threads=threads, ident="kiosk")
            self.port = self._server.effective_port

    def run(self) -> None:
        """Serve until closed."""
        if self.tls:
            self._server.serve()
        else:
            self._server.run()

    def close(self) -> None:
        """Stop serving."""
        if self.tls:
            self._server.stop()
        else:
            self._server.close()
