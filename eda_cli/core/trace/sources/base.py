"""What every search returns (`Found`), and the small text helpers the searches and the verdict share."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from eda_cli.core.trace.model import Hit, Place

if TYPE_CHECKING:
    from eda_cli.core.trace.sources.dynamodb import TableInfo

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass
class Found:
    """What one search found. Errors are raised, not returned: the engine turns them into entries."""

    hits: list[Hit] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    skipped: list[Place] = field(default_factory=list)
    #: Idempotency tables read, for the lookup by message id that follows the first wave.
    tables: list[TableInfo] = field(default_factory=list)


def one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.strip().split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


#: Words that mark a log line as an error, for the verdict.
ERROR_LINE = re.compile(r"\b(ERROR|Error|Exception|Traceback|FATAL|CRITICAL|failed|Task timed out)\b")
