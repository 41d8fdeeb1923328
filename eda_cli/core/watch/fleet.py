"""Watching several scopes (`--regions`, `--accounts`): one `WatchReader` per (account, region), each with its own
client factory, refreshed at once within the same budget, and their snapshots joined into one.

Every scope's refresh starts together and ends by its own budget (reader.py), so the joined refresh takes the
budget, not the sum of the scopes'. A scope whose refresh has not ended a moment after that (it should not:
its calls are waited for only until the budget) is shown as it was at its previous refresh, with a problem.
A scope that could not be opened (its role not assumed, its region unreachable) is one problem at every refresh.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from eda_cli.aws.errors import describe
from eda_cli.aws.scopes import Scope as Where
from eda_cli.aws.scopes import scoped_problems
from eda_cli.core.problems import Problem
from eda_cli.core.watch.model import Snapshot
from eda_cli.core.watch.pool import monotonic
from eda_cli.core.watch.reader import WatchReader

#: How long past the budget the joined refresh waits for a scope's refresh to hand its snapshot over.
GRACE_SECONDS = 0.5


def _in_thread(fn: Callable[[], Snapshot]) -> Future[Snapshot]:
    future: Future[Snapshot] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as exc:  # the joined refresh reports it
            future.set_exception(exc)

    threading.Thread(target=run, name="eda-watch-scope", daemon=True).start()
    return future


@dataclass
class ScopesReader:
    """Refreshes every scope's `WatchReader` at once. `failed`: the scopes that could not be opened (Problems,
    with their account and region); `planned`: how many scopes were asked for. `close()` when done."""

    readers: Sequence[tuple[Where, WatchReader]]
    budget: float
    failed: Sequence[Problem] = ()
    planned: int = 0
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    clock: Callable[[], float] = monotonic
    number: int = 0
    _running: dict[Where, Future[Snapshot]] = field(default_factory=dict)
    _last: dict[Where, Snapshot] = field(default_factory=dict)

    def close(self) -> None:
        for _, reader in self.readers:
            reader.close()

    def refresh(self) -> Snapshot:
        """Every scope's refresh at once, joined: see the module."""
        started, now = self.clock(), self.now()
        self.number += 1
        for where, reader in self.readers:
            running = self._running.get(where)
            if running is None or running.done():  # a scope still refreshing is not asked again
                self._running[where] = _in_thread(reader.refresh)
        wait_futures([self._running[w] for w, _ in self.readers], timeout=self.budget + GRACE_SECONDS)
        problems: list[Problem] = list(self.failed)
        parts: list[tuple[Where, Snapshot, bool]] = []
        for where, _ in self.readers:
            future = self._running[where]
            if future.done() and future.exception() is None:
                self._last[where] = future.result()
                parts.append((where, future.result(), True))
                continue
            error = future.exception() if future.done() else None
            problems.append(Problem("scope", where.label, f"refresh failed: {describe(error)}" if error else
                                    f"no refresh within {self.budget:g}s (showing the previous one)", error,
                                    account=where.account, region=where.region))
            if where in self._last:
                parts.append((where, self._last[where], False))
        return self._join(parts, problems, now, self.clock() - started)

    def _join(self, parts: list[tuple[Where, Snapshot, bool]], problems: list[Problem], now: datetime,
              elapsed: float) -> Snapshot:
        rows: dict[str, list[Any]] = {"dlqs": [], "streams": [], "state_machines": [], "redrives": [], "alarms": []}
        unavailable: dict[str, list[str]] = {}
        calls = 0
        for where, snapshot, fresh in parts:
            for kind, found in rows.items():
                found += [replace(row, account=where.account, region=where.region) for row in getattr(snapshot, kind)]
            problems += scoped_problems(where, snapshot.problems)
            calls += snapshot.calls if fresh else 0
            for line in snapshot.unavailable:
                unavailable.setdefault(line, []).append(where.label)
        watched = tuple(where.label for where, _ in self.readers)
        accounts = {where.account for where, _ in self.readers}
        return Snapshot(
            region=self.readers[0][0].region if len(self.readers) == 1 else "",
            account=next(iter(accounts)) if len(accounts) == 1 else None,
            taken_at=now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            refresh=self.number,
            elapsed_seconds=elapsed,
            calls=calls,
            problems=tuple(problems),
            unavailable=tuple(line if len(labels) == len(watched) else f"{line} (in {', '.join(labels)})"
                              for line, labels in unavailable.items()),
            scopes=watched,
            scopes_failed=max(len(self.failed), self.planned - len(watched)),
            dlqs=tuple(rows["dlqs"]), streams=tuple(rows["streams"]), state_machines=tuple(rows["state_machines"]),
            redrives=tuple(rows["redrives"]), alarms=tuple(rows["alarms"]),
        )
