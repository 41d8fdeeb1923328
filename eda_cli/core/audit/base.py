"""What every audit rule is made of: its metadata, the context it checks a pipeline in, shared helpers.

A rule is a function over a `RuleContext` that records one check per resource it examined
(`ctx.check`, or the `check_*` shorthands that name the resource and its line in the pipeline file
the same way for every rule); `@rule(...)` attaches the rule's metadata. Rules never call AWS: what
`audit --sample-dlqs` read from the DLQs comes in `ctx.samples`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eda_cli.core.audit.model import Check, Finding, RuleInfo
from eda_cli.core.pipeline.model import (
    EventSourceMapping,
    Pipeline,
    Queue,
    Rule,
    StateMachine,
    Subscription,
    Table,
    Target,
    name_from_arn,
)
from eda_cli.core.pipeline.spec import PipelineSpec

if TYPE_CHECKING:
    from eda_cli.core.audit.samples import DlqSamples

TIP = "eda production tip"

#: What a rule found wrong with a resource: (message, fix), or (message, fix, severity) to override
#: the rule's severity.
Issue = tuple[str, str] | tuple[str, str, str]


@dataclass
class RuleContext:
    pipeline: Pipeline
    spec: PipelineSpec
    info: RuleInfo
    #: What the pipeline file names and the account lacks: (kind, name, line).
    missing: tuple[tuple[str, str, int], ...] = ()
    #: Messages sampled from the DLQs (`audit --sample-dlqs`), else None: rules that need them check nothing.
    samples: DlqSamples | None = None
    checks: list[Check] = field(default_factory=list)

    def line(self, kind: str, name: str) -> int | None:
        return self.spec.lines.get((kind, name))

    def queue_line(self, queue: Queue) -> int | None:
        """The line naming the queue, else the line naming a queue that dead-letters into it."""
        line = self.line("queue", queue.name)
        if line is None:
            lines = [self.line("queue", s.name) for s in self.pipeline.redrive_sources(queue)]
            line = min((n for n in lines if n is not None), default=None)
        return line

    def check(self, resource: str, arn: str, *issues: Issue, line: int | None = None) -> None:
        """Record one resource checked: a pass without issues, else a finding per issue."""
        findings = tuple(
            Finding(
                rule=self.info.id,
                severity=issue[2] if len(issue) == 3 else self.info.severity,
                resource=resource,
                arn=arn,
                message=issue[0],
                fix=issue[1],
                source=self.info.source,
                url=self.info.url,
                line=line,
            )
            for issue in issues
        )
        self.checks.append(Check(self.info.id, resource, arn, findings))

    def check_queue(self, queue: Queue, *issues: Issue) -> None:
        self.check(queue.name, queue.arn, *issues, line=self.queue_line(queue))

    def check_table(self, table: Table, *issues: Issue) -> None:
        self.check(table.name, table.arn, *issues, line=self.line("table", table.name))

    def check_machine(self, machine: StateMachine, *issues: Issue) -> None:
        self.check(machine.name, machine.arn, *issues, line=self.line("state_machine", machine.name))

    def check_subscription(self, sub: Subscription, *issues: Issue, line: int | None = None) -> None:
        self.check(f"{name_from_arn(sub.topic_arn)} -> {name_from_arn(sub.endpoint)}", sub.arn, *issues, line=line)

    def check_target(self, rule: Rule, target: Target, *issues: Issue) -> None:
        self.check(f"{rule.key} -> {name_from_arn(target.arn)}", target.arn, *issues,
                   line=self.line("bus", rule.bus_name))

    def check_mapping(self, mapping: EventSourceMapping, *issues: Issue) -> None:
        function = self.pipeline.function_by_arn(mapping.function_arn)
        target = function.name if function else name_from_arn(mapping.function_arn)
        self.check(f"{name_from_arn(mapping.source_arn.split('/stream/')[0])} -> {target}", mapping.uuid, *issues)


CheckFn = Callable[[RuleContext], None]


@dataclass(frozen=True)
class AuditRule:
    """A rule: its metadata and the function that checks a pipeline against it."""

    info: RuleInfo
    run: CheckFn

    def checks(self, pipeline: Pipeline, spec: PipelineSpec, missing: tuple[tuple[str, str, int], ...],
               samples: DlqSamples | None = None) -> list[Check]:
        ctx = RuleContext(pipeline, spec, self.info, missing, samples)
        self.run(ctx)
        return ctx.checks


def rule(rule_id: str, severity: str, title: str, source: str, url: str) -> Callable[[CheckFn], AuditRule]:
    def make(fn: CheckFn) -> AuditRule:
        return AuditRule(RuleInfo(rule_id, severity, title, source, url), fn)

    return make


def seconds(value: int | None) -> str:
    if value is None:
        return "?"
    if value % 86400 == 0 and value >= 86400:
        return f"{value // 86400}d"
    if value % 3600 == 0 and value >= 3600:
        return f"{value // 3600}h"
    if value % 60 == 0 and value >= 60:
        return f"{value // 60}m"
    return f"{value}s"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
