"""What lets a refresh end on time: a bounded pool of worker threads whose calls the refresh waits for only
until its deadline, and a count of the API calls made through a client factory.

`core.concurrency.map_bounded` waits for every call; a refresh must not (a slow call is shown as stale, with its
previous value, and its answer is used by the refresh that finds it done). The workers are daemon threads, so a
call stuck in the network never keeps eda from exiting.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from typing import Any, cast

from eda_cli.aws.clients import ClientFactory
from eda_cli.core.concurrency import DEFAULT_CONCURRENCY

_STOP = object()


class DeadlinePool:
    """At most `workers` calls at once. A call is keyed (a queue's GetQueueAttributes, the metric batch): while
    a key's call is still running, submitting the key again returns that call instead of starting another, so a
    slow API is never asked twice at once."""

    def __init__(self, workers: int = DEFAULT_CONCURRENCY) -> None:
        self._work: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._running: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, key: Hashable, fn: Callable[[], Any]) -> Future[Any]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is closed")
            running = self._running.get(key)
            if running is not None and not running.done():
                return running
            future: Future[Any] = Future()
            self._running[key] = future
            if len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work_loop, name="eda-watch", daemon=True)
                self._threads.append(thread)
                thread.start()
        self._work.put((future, fn))
        return future

    def _work_loop(self) -> None:
        while True:
            item = self._work.get()
            if item is _STOP:
                return
            future, fn = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # the refresh reports it
                future.set_exception(exc)

    @staticmethod
    def wait(futures: Iterable[Future[Any]], timeout: float) -> None:
        """Until every one is done or `timeout` seconds have passed."""
        pending = [f for f in futures if not f.done()]
        if pending:
            wait_futures(pending, timeout=max(0.0, timeout))

    def close(self) -> None:
        """Stop the workers once their current calls end; calls not started are cancelled."""
        with self._lock:
            self._closed = True
            for future in self._running.values():
                future.cancel()
            for _ in self._threads:
                self._work.put(_STOP)


class CallCounter:
    """API calls made, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.value += n


#: Client methods that are not API calls.
_NOT_CALLS = frozenset({"can_paginate", "get_waiter", "close", "generate_presigned_url", "generate_presigned_post"})


class _CountedPaginator:
    def __init__(self, paginator: Any, counter: CallCounter) -> None:
        self._paginator, self._counter = paginator, counter

    def paginate(self, **kwargs: Any) -> Any:
        for page in self._paginator.paginate(**kwargs):
            self._counter.add()
            yield page


class _Counted:
    """A client whose every API call (each page of a paginator too) adds one to `counter`."""

    def __init__(self, client: Any, counter: CallCounter) -> None:
        self._client, self._counter = client, counter

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name == "get_paginator":
            return lambda operation: _CountedPaginator(attribute(operation), self._counter)
        if not callable(attribute) or name.startswith("_") or name in _NOT_CALLS:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counter.add()
            return attribute(*args, **kwargs)

        return call


def counted(clients: ClientFactory, counter: CallCounter) -> ClientFactory:
    """`clients` with every API call counted in `counter`."""
    cache: dict[str, Any] = {}
    lock = threading.Lock()

    def factory(service: str) -> Any:
        with lock:
            if service not in cache:
                cache[service] = _Counted(clients(service), counter)
            return cache[service]

    return cast(ClientFactory, factory)


def monotonic() -> float:
    return time.monotonic()
