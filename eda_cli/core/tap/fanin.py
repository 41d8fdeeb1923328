"""Receive from several taps at once: one thread long-polls each tap's queue, and what arrives is handed
over in arrival order, tagged with the tap it came from.

One tap needs no thread: its own `receive` is used as it is. With several, a tap's long poll may still be
waiting when the caller stops (count reached, timeout, Ctrl-C): its thread notices at the end of that poll
and ends without handing anything over; the caller removes the taps meanwhile (a poll on a queue that
is gone ends with an error, which is dropped once stopping has begun).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eda_cli.core.tap.tap import Delivery, Tap

#: How often the caller's thread looks at the cancel event while nothing arrives (it is woken at once
#: by an arrival; Ctrl-C interrupts the wait too, under `interrupts.interruptible`).
_WAKE_SECONDS = 0.5


def receive_all(taps: Sequence[Tap], *, count: int | None = None, timeout: float | None = None,
                cancel: threading.Event | None = None, clock: Callable[[], float] = time.time,
                ) -> Iterator[tuple[int, Delivery]]:
    """What arrives on any of `taps`, as (index of the tap, delivery), until `count` deliveries in all,
    `timeout` seconds, `cancel`, or every tap's receive has ended. An AWS error in any tap's receive is
    raised here (after which the caller removes the taps)."""
    if len(taps) == 1:
        for delivery in taps[0].receive(count=count, timeout=timeout, cancel=cancel):
            yield 0, delivery
        return
    stop = threading.Event()
    arrivals: queue.Queue[tuple[int, Delivery | None, BaseException | None]] = queue.Queue()

    def pump(index: int, tap: Tap) -> None:
        try:
            for delivery in tap.receive(timeout=timeout, cancel=stop):
                if stop.is_set():
                    break
                arrivals.put((index, delivery, None))
        except Exception as exc:
            if not stop.is_set():
                arrivals.put((index, None, exc))
        finally:
            arrivals.put((index, None, None))

    for index, tap in enumerate(taps):
        threading.Thread(target=pump, args=(index, tap), name=f"eda-tap-{index}", daemon=True).start()
    start = clock()
    running, received = len(taps), 0
    try:
        while running:
            if cancel is not None and cancel.is_set():
                return
            if count is not None and received >= count:
                return
            wait = _WAKE_SECONDS
            if timeout is not None:
                remaining = timeout - (clock() - start)
                if remaining <= 0:
                    return
                wait = min(wait, remaining)
            try:
                index, arrived, error = arrivals.get(timeout=wait)
            except queue.Empty:
                continue
            if error is not None:
                raise error
            if arrived is None:
                running -= 1
                continue
            received += 1
            yield index, arrived
    finally:
        stop.set()
