"""An embedded AWS: moto's server, in-process, in a thread, on 127.0.0.1.

moto keeps one global state per process: every `SandboxServer` in a process (and any `mock_aws`
running in it) shares the same backends, so two servers see the same queues and `reset()` on one
empties both. Run one sandbox per process.

moto and werkzeug are imported lazily, inside `start()`, so that importing `eda_cli.sandbox`
costs nothing for the commands that never start one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any

#: The dummy credentials and region a client needs to talk to the sandbox. moto accepts any
#: credentials; these only keep botocore from looking for real ones. botocore reads
#: AWS_DEFAULT_REGION (not every version reads AWS_REGION), so both are set.
SANDBOX_ENV: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}

#: The environment variable eda reads its endpoint from.
ENDPOINT_ENV = "EDA_ENDPOINT_URL"

HOST = "127.0.0.1"

#: moto's configuration for the sandbox: run Step Functions executions for real.
MOTO_CONFIG: dict[str, Any] = {"stepfunctions": {"execute_state_machine": True}}

_log = logging.getLogger(__name__)


class SandboxError(Exception):
    """The sandbox could not start or answer; the message is one line, fit for a user."""


class SandboxServer:
    """moto's server on 127.0.0.1, started in a daemon thread of this process.

    Use it as a context manager, or call `start()` and `stop()`. `port=0` picks a free port.

    Before the server starts, MOTO_PORT is set in this process's environment to its port: moto's
    Step Functions interpreter calls `localhost:$MOTO_PORT` for its service integrations. The
    previous value is restored on `stop()`.

    moto's state is global to the process: two SandboxServers in one process share their
    backends (and `reset()` empties both).
    """

    def __init__(self, port: int = 0) -> None:
        if not 0 <= port <= 65535:
            raise SandboxError(f"invalid sandbox port {port}: use 0 (any free port) or 1-65535")
        self._requested_port = port
        self._port: int | None = None
        self._server: Any = None
        self._saved_moto_port: str | None = None

    # -- where it listens ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise SandboxError("the sandbox is not running: call start() first")
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def env(self) -> dict[str, str]:
        """The environment a client (eda, the AWS CLI, boto3) needs to talk to this sandbox."""
        return {**SANDBOX_ENV, ENDPOINT_ENV: self.endpoint_url}

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Start the server and turn on Step Functions execution. Raises SandboxError."""
        if self._server is not None:
            return self
        # Bind the listening socket here, not in the server thread: a busy port becomes a
        # SandboxError instead of werkzeug's sys.exit() in a thread (which would hang start()),
        # and the port is known before the server starts, as MOTO_PORT needs.
        sock = _listen(self._requested_port)
        port = int(sock.getsockname()[1])
        # moto logs the failures of the state machines it runs (a saga's injected failure, say) at
        # ERROR, and werkzeug the traceback of every request moto answers with HTTP 500 (each probe of
        # an operation moto lacks: ~45 lines); with no handler configured they would go to stderr. A
        # NullHandler stops that, while --debug (which configures the root logger) still shows them.
        for name in ("moto", "werkzeug"):
            logger = logging.getLogger(name)
            if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
                logger.addHandler(logging.NullHandler())
        self._saved_moto_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(port)
        try:
            server = _make_threaded_server(port, sock)
            server.start()
        except BaseException:
            sock.close()
            self._restore_moto_port()
            raise
        # The server holds its own duplicate of the socket from here on.
        sock.close()
        if server.error is not None:
            self._restore_moto_port()
            raise SandboxError(f"the sandbox could not start on {HOST}:{port}: {server.error}")
        self._server = server
        self._port = port
        try:
            self.configure()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        try:
            server.stop()
        finally:
            self._port = None
            self._restore_moto_port()

    def reset(self) -> None:
        """Empty every moto backend (queues, tables, topics, ...) and re-apply the configuration."""
        self._post("/moto-api/reset", None)
        self.configure()

    def configure(self) -> None:
        """Turn on the real Step Functions interpreter (moto's config survives a reset; this is cheap)."""
        self._post("/moto-api/config", MOTO_CONFIG)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------

    def _restore_moto_port(self) -> None:
        if self._saved_moto_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = self._saved_moto_port
        self._saved_moto_port = None

    def _post(self, path: str, payload: dict[str, Any] | None) -> bytes:
        url = self.endpoint_url + path
        data = json.dumps(payload).encode() if payload is not None else b""
        request = urllib.request.Request(
            url, data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body: bytes = response.read()
                return body
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SandboxError(f"the sandbox at {self.endpoint_url} did not answer {path}: {reason}") from exc


def _listen(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:port, or a SandboxError saying why not."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As http.server does: lets a restarted sandbox reuse a port in TIME_WAIT, and still
    # refuses a port another program is listening on.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise SandboxError(
            f"cannot start the sandbox on {HOST}:{port}: {reason} (is another program using the port?)"
        ) from exc
    return sock


def _make_threaded_server(port: int, sock: socket.socket) -> Any:
    """moto's ThreadedMotoServer, serving on an already listening socket, logging quietly.

    Overrides moto 5.2's private `_server_entry`: the original binds its own socket and, when that
    fails, werkzeug calls sys.exit() in the thread and `start()` waits forever.
    """
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class QuietRequestHandler(MotoRequestHandler):
        """Request lines go to eda's logger at DEBUG, not to stderr: the sandbox never prints."""

        def log(self, type: str, message: str, *args: Any) -> None:
            level = logging.DEBUG if type == "info" else logging.INFO
            _log.log(level, "%s " + message.rstrip(), self.address_string(), *args)

    class Server(ThreadedMotoServer):
        error: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                app = DomainDispatcherApplication(create_backend_app)
                self._server = make_server(
                    HOST, port, app, True, request_handler=QuietRequestHandler, fd=sock.fileno()
                )
            except BaseException as exc:
                self.error = exc
                self._server = None
                self._server_ready_event.set()
                return
            self._server_ready_event.set()
            self._server.serve_forever()

        def stop(self) -> None:
            self._server_ready_event.clear()
            if self._server is not None:
                self._server.shutdown()
            if self._thread is not None:
                self._thread.join(timeout=10)

    return Server(ip_address=HOST, port=port, verbose=False)


__all__ = ["ENDPOINT_ENV", "SANDBOX_ENV", "SandboxError", "SandboxServer"]
