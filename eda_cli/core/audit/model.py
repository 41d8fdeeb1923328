"""What an audit produces: the rules' metadata, one check per rule and resource, the findings, the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
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
    #: The scope the finding is in, when the audit ran in several (`--regions`, `--accounts`).
    account: str | None = None
    region: str | None = None

    @property
    def scope(self) -> str | None:
        """`eu-west-1/111111111111` in a multi-scope audit, else None."""
        return f"{self.region}/{self.account}" if self.account or self.region else None

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        if self.scope is None:  # one scope: the answer as before scopes existed
            del found["account"], found["region"]
            return found
        return {"account": found.pop("account"), "region": found.pop("region"), **found}


@dataclass(frozen=True)
class Check:
    """One rule applied to one resource: a pass when `findings` is empty."""

    rule: str
    resource: str
    arn: str
    findings: tuple[Finding, ...] = ()
    account: str | None = None
    region: str | None = None

    @property
    def passed(self) -> bool:
        return not self.findings

    @property
    def scope(self) -> str | None:
        return f"{self.region}/{self.account}" if self.account or self.region else None


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
    #: The scopes audited (`eu-west-1/111111111111`), when the audit ran in several; () for one.
    scopes: tuple[str, ...] = ()

    @property
    def findings(self) -> list[Finding]:
        found = [f for c in self.checks for f in c.findings]
        return sorted(found, key=lambda f: (-rank(f.severity), f.rule, f.resource, f.scope or ""))

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
                **({"scopes": list(self.scopes)} if self.scopes else {}),
            },
            "problems": [p.to_dict() for p in self.problems],
        }




def merge_scoped(reports: Sequence[tuple[str, str, AuditReport]], rules: Sequence[RuleInfo],
                 problems: Sequence[Problem] = ()) -> AuditReport:
    """One report of audits run in several scopes: `reports` as (account, region, report); each check,
    finding and problem marked with its scope; `problems` are the scopes' own (not entered, failed)."""
    checks: list[Check] = []
    found: list[Problem] = list(problems)
    for account, region, report in reports:
        checks += [replace(c, account=account, region=region,
                           findings=tuple(replace(f, account=account, region=region) for f in c.findings))
                   for c in report.checks]
        found += [replace(p, account=account, region=region) for p in report.problems]
    configs = [r.config_path for _, _, r in reports if r.config_path]
    return AuditReport(
        checks=tuple(checks),
        rules=tuple(rules),
        problems=tuple(found),
        resources=sum(r.resources for _, _, r in reports),
        config_path=configs[0] if configs else None,
        checkable=sum(r.checkable for _, _, r in reports),
        scopes=tuple(f"{region}/{account}" for account, region, _ in reports),
    )
