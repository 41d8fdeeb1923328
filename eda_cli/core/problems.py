"""The one "could not read" type: something eda could not read, reported beside the answer.

Every result that can be partial (`dlq list/inspect`, discovery, trace, ...) carries a tuple of these,
and its `partial` is `bool(problems)`. Commands never word a problem themselves: the renderer warns
each one on stderr in one form (`could not read SERVICE RESOURCE: ERROR`) and puts them in the JSON
envelope (`{"service", "resource", "error"}`, after `account` and `region` when a command ran in several scopes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Problem"]


@dataclass(frozen=True)
class Problem:
    """What could not be read (`service` and `resource`), and why (`error`, one line)."""

    #: The kind of place: an AWS service (sqs, cloudwatch, dynamodb, ...) or a trace source (logs, dlq, ...).
    service: str
    resource: str
    error: str
    #: The exception behind `error`, to tell an environment-level failure apart (not in `to_dict`).
    cause: BaseException | None = field(default=None, compare=False, repr=False)
    #: What could not be done, for the warning: "could not {action} {service} {resource}: {error}".
    action: str = field(default="read", compare=False)
    #: Where it happened, when a command ran in several accounts or regions (`--regions`, `--accounts`).
    account: str | None = None
    region: str | None = None

    def to_dict(self) -> dict[str, Any]:
        where = {k: v for k, v in (("account", self.account), ("region", self.region)) if v is not None}
        return {**where, "service": self.service, "resource": self.resource, "error": self.error}

    def __str__(self) -> str:
        where = "/".join(part for part in (self.region, self.account) if part)
        scope = f" in {where}" if where and self.service != "scope" else ""
        return f"could not {self.action} {self.service} {self.resource}{scope}: {self.error}"
