"""Doing something again and again: the loop behind every `--watch`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["repeat"]

T = TypeVar("T")


def repeat(read: Callable[[], T], interval: float, sleep: Callable[[float], None] = time.sleep) -> Iterator[T]:
    """`read()`, then every `interval` seconds again, for as long as the caller takes results."""
    while True:
        yield read()
        sleep(interval)
