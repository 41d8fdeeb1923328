"""Running something with some environment variables set (or removed) and the rest put back after."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

__all__ = ["environment"]


@contextmanager
def environment(values: Mapping[str, str], remove: Iterable[str] = ()) -> Iterator[None]:
    """Inside the block, `values` are set and `remove` unset; after it, each of them is as it was."""
    keys = [*remove, *values]
    saved = {key: os.environ.get(key) for key in keys}
    for key in remove:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
