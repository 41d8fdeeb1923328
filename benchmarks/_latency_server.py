"""moto's server with an emulated network round trip added to every AWS request.

Against moto on loopback an API call costs ~1.5 ms of the server's CPU and no network time, so
any client that overlaps calls is bound by moto's single GIL, not by what it overlaps. Against
AWS the same call spends most of its time on the network (tens of ms). This server sleeps
LATENCY_MS before answering each AWS request (not /moto-api), without holding the GIL, so a
benchmark can measure what concurrency buys against a latency-bound endpoint. Benchmarks that
use it say so, and report the raw loopback figure beside it.

Usage: python benchmarks/_latency_server.py PORT LATENCY_MS
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any


def main() -> None:
    port, latency_ms = int(sys.argv[1]), float(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    from moto.moto_server.threaded_moto_server import DomainDispatcherApplication
    from moto.moto_server.werkzeug_app import create_backend_app
    from moto.server import MotoRequestHandler  # type: ignore[attr-defined]
    from werkzeug.serving import run_simple

    inner = DomainDispatcherApplication(create_backend_app)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if latency_ms and not environ.get("PATH_INFO", "").startswith("/moto-api"):
            time.sleep(latency_ms / 1000)
        return inner(environ, start_response)  # type: ignore[no-any-return]

    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
