"""A moto server whose SQS backend is serialised by one lock, for redrive's concurrency and kill tests.

Why: moto's `Queue.delete_message` rebuilds the message list without a lock, so two concurrent
deletes can resurrect a deleted message, and a send landing during a delete can be dropped; two
concurrent receives can hand out the same message (see MOTO-NOTES.md). A test that judges loss
or duplicates against plain moto could blame eda for moto's races. Here every SQS backend call
runs under one lock (long-poll waits happen outside it), so whatever a test finds missing or
duplicated is eda's doing.

It also answers `GET /_eda_test/messages?queue=NAME` with every message moto holds for that queue,
in flight or not, as JSON: a test can count what survived a SIGKILL without waiting out the
visibility timeout of the batches the killed process had received.

    python tests/moto_locked_server.py PORT      # prints "ready" once it listens

Tests start it with `locked_server()`, and read a queue's full content with `all_messages()`.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, quote

LOCK = threading.RLock()


def _locked(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return method(*args, **kwargs)

    return wrapper


def patch_sqs() -> None:
    from moto.sqs.models import SQSBackend

    for name in (
        "send_message",
        "send_message_batch",
        "delete_message",
        "delete_message_batch",
        "change_message_visibility",
        "change_message_visibility_batch",
        "get_queue_attributes",
        "set_queue_attributes",
        "purge_queue",
        "create_queue",
        "delete_queue",
        "list_dead_letter_source_queues",
    ):
        setattr(SQSBackend, name, _locked(getattr(SQSBackend, name)))
    original_receive = SQSBackend.receive_message

    @functools.wraps(original_receive)
    def receive(self: Any, queue_name: str, count: int, wait_seconds_timeout: int, visibility_timeout: int,
                message_attribute_names: list[str] | None = None) -> Any:
        # Poll under the lock, wait outside it: holding the lock through a long poll would stall senders.
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with LOCK:
                found = original_receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)

    setattr(SQSBackend, "receive_message", receive)  # noqa: B010 - mypy forbids assigning to a method


def dump_app(app: Any) -> Any:
    """WSGI middleware: /_eda_test/messages?queue=NAME -> every message of the queue (JSON)."""

    def wrapper(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != "/_eda_test/messages":
            return app(environ, start_response)
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        query = parse_qs(environ.get("QUERY_STRING", ""))
        name = query["queue"][0]
        region = query.get("region", ["us-east-1"])[0]
        with LOCK:
            queue = sqs_backends[DEFAULT_ACCOUNT_ID][region].queues[name]
            messages = [
                {"message_id": m.id, "body": m.body, "group_id": m.group_id,
                 "deduplication_id": m.deduplication_id, "visible": m.visible}
                for m in queue._messages
            ]
        body = json.dumps(messages).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return wrapper


@contextmanager
def locked_server() -> Iterator[str]:
    """Run this server in a subprocess on a free loopback port; yields its URL."""
    from tests.backends import free_port, stop_process  # not at the top: this file also runs as a script

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_PORT": str(port)},
        text=True,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the locked moto server did not start")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        stop_process(process)


def all_messages(url: str, queue: str) -> list[dict[str, Any]]:
    """Every message moto holds for `queue`, visible or in flight."""
    with urllib.request.urlopen(f"{url}/_eda_test/messages?queue={quote(queue)}", timeout=10) as answer:
        result: list[dict[str, Any]] = json.loads(answer.read())
    return result


def main() -> None:
    port = int(sys.argv[1])
    patch_sqs()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = dump_app(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
