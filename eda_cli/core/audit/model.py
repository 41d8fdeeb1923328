"""What an audit produces: the rules' metadata, one check per rule and resource, the findings, the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eda_cli.core.problems import Problem

SEVERITIES = ("error", "warning", "info")
_RANK = {"error": 2, "warning": 1, "info": 0}


def rank(severity: str) -> int:
    return _RANK[severity]


@dataclass(frozen=True)
class RuleInfo:
    id: str
    severity: str
    title: str
    #: Where the rule comes from: the seed's production tip or AWS's guidance.
    source: str
    url: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    #: The resource's short name (queue name, `bus/rule`, `topic -> queue`...).
    resource: str
    arn: str
    message: str
    fix: str
    source: str
    url: str
    #: Line in the pipeline file naming the resource, when there is one.
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    """One rule applied to one resource: a pass when `findings` is empty."""

    rule: str
    resource: str
    arn: str
    findings: tuple[Finding, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class AuditReport:
    checks: tuple[Check, ...]
    rules: tuple[RuleInfo, ...]
    problems: tuple[Problem, ...] = ()
    resources: int = 0
    config_path: str | None = None
    #: When the selected rules checked nothing: the checks the rules left out by --only/--skip would
    #: have made (0 then: the scope holds nothing to audit). Not counted otherwise.
    checkable: int = 0

    @property
    def findings(self) -> list[Finding]:
        found = [f for c in self.checks for f in c.findings]
        return sorted(found, key=lambda f: (-rank(f.severity), f.rule, f.resource))

    @property
    def partial(self) -> bool:
        return bool(self.problems)

    @property
    def empty(self) -> bool:
        """Nothing in scope to audit: no rule, selected or not, had a resource to check."""
        return not self.checks and not self.checkable

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            counts[f.severity] += 1
        return counts

    def failed(self, fail_on: str) -> bool:
        """Whether a finding is at or above `fail_on` (error | warning | info)."""
        return any(rank(f.severity) >= rank(fail_on) for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "summary": {
                **self.counts(),
                "checks": len(self.checks),
                "passed": sum(1 for c in self.checks if c.passed),
                "resources": self.resources,
                "rules": [r.id for r in self.rules],
                "config": self.config_path,
            },
            "problems": [p.to_dict() for p in self.problems],
        }


