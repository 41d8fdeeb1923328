"""Ctrl-C and SIGTERM while a command finishes what it started.

Inside `deferred_interrupts()`, the first Ctrl-C (or SIGTERM) only sets the event it yields: the work
in hand stops taking more, finishes or hands back what it holds (no AWS call is cut in half), and the
command reports exactly what happened, then exits 130. A second one raises KeyboardInterrupt at once,
for the engineer who cannot wait; the command then says what may still be in flight.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def deferred_interrupts() -> Iterator[threading.Event]:
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield requested
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requested
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def interruptible(requested: threading.Event) -> Iterator[None]:
    """Inside `deferred_interrupts()`, a stretch that may be cut short because it only waits and reads (a
    tail's long poll): Ctrl-C or SIGTERM sets `requested` and raises KeyboardInterrupt at once, instead of
    waiting up to 20 s for the poll to return. Leaving the block restores the deferral, so what follows
    (removing a tap) is not cut in half. Catch KeyboardInterrupt around the `with`, not inside it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        requested.set()
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
