"""`eda watch`: a live board of what is on fire in a pipeline.

Modules: `model` (the rows and the `Snapshot` of one refresh, sorted by urgency), `reader` (`read_scope`: what
is watched, read once; `WatchReader`: each refresh, batched and bounded by a deadline), `pool` (the deadline-bound
pool of calls and the count of API calls), `fleet` (`ScopesReader`: one reader per account and region, refreshed
at once and joined into one snapshot).
"""

from __future__ import annotations

from eda_cli.core.watch.fleet import ScopesReader
from eda_cli.core.watch.model import (
    FIRE,
    OK,
    WARN,
    AlarmRow,
    DlqRow,
    MachineRow,
    RedriveRow,
    Snapshot,
    StreamRow,
)
from eda_cli.core.watch.pool import CallCounter, DeadlinePool, counted
from eda_cli.core.watch.reader import (
    FAILURE_WINDOW_MINUTES,
    HISTORY,
    Scope,
    WatchReader,
    execution_failures,
    read_scope,
)

__all__ = [
    "FAILURE_WINDOW_MINUTES",
    "FIRE",
    "HISTORY",
    "OK",
    "WARN",
    "AlarmRow",
    "CallCounter",
    "DeadlinePool",
    "DlqRow",
    "MachineRow",
    "RedriveRow",
    "Scope",
    "ScopesReader",
    "Snapshot",
    "StreamRow",
    "WatchReader",
    "counted",
    "execution_failures",
    "read_scope",
]
