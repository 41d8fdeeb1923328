"""The rules, in the order reports list them, and running the selected ones over a pipeline."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import TYPE_CHECKING

from eda_cli.core.audit import (
    access,
    dynamodb,
    events,
    lambda_mappings,
    pipeline_file,
    sizes,
    sns,
    sqs,
    stepfunctions,
)
from eda_cli.core.audit.base import AuditRule
from eda_cli.core.audit.model import AuditReport, RuleInfo
from eda_cli.core.pipeline.model import Pipeline
from eda_cli.core.pipeline.spec import PipelineSpec
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    from eda_cli.core.audit.samples import DlqSamples

ALL_RULES: tuple[AuditRule, ...] = (
    *pipeline_file.RULES,
    *sqs.RULES,
    *sns.RULES,
    *access.RULES,
    *events.RULES,
    *sizes.RULES,
    *dynamodb.RULES,
    *lambda_mappings.RULES,
    *stepfunctions.RULES,
)


class UnknownRule(UsageError):
    """An id or glob that names no rule. `selector` says which list it came from ("only" or "skip")."""

    def __init__(self, pattern: str, selector: str, known: Iterable[str]) -> None:
        super().__init__(f"{pattern}: no such rule", hint="rules: " + ", ".join(known))
        self.pattern = pattern
        self.selector = selector


def rules() -> list[RuleInfo]:
    return [r.info for r in ALL_RULES]


def select_rules(only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[RuleInfo]:
    """The rules to run: `only` and `skip` take ids or globs (`sqs-*`). Unknown ids: `UnknownRule`."""
    ids = [r.id for r in rules()]

    def expand(patterns: Iterable[str], selector: str) -> set[str]:
        chosen: set[str] = set()
        for pattern in patterns:
            matched = fnmatch.filter(ids, pattern)
            if not matched:
                raise UnknownRule(pattern, selector, ids)
            chosen.update(matched)
        return chosen

    only_set = expand(only, "only")
    skip_set = expand(skip, "skip")
    return [r for r in rules() if (not only_set or r.id in only_set) and r.id not in skip_set]


def audit(pipeline: Pipeline, spec: PipelineSpec | None = None, *, only: Iterable[str] = (),
          skip: Iterable[str] = (), missing: Iterable[tuple[str, str, int]] = (),
          samples: DlqSamples | None = None) -> AuditReport:
    """Run the selected rules over `pipeline` (already scoped to the spec, if any).

    `missing` lists what the pipeline file names and the account lacks (`Loaded.missing`); `samples`, what
    `sample_dlqs` read from the DLQs (`audit --sample-dlqs`; without it the rules that need it check
    nothing), its problems joining discovery's."""
    spec = spec or PipelineSpec()
    missing = tuple(missing)
    selected = select_rules(only, skip)
    wanted = {r.id for r in selected}
    checks = [c for r in ALL_RULES if r.info.id in wanted for c in r.checks(pipeline, spec, missing, samples)]
    checkable = 0
    if not checks:  # nothing checked: because of --only/--skip, or because there is nothing to check?
        checkable = sum(len(r.checks(pipeline, spec, missing, samples)) for r in ALL_RULES if r.info.id not in wanted)
    return AuditReport(
        checks=tuple(checks),
        rules=tuple(selected),
        problems=pipeline.problems + (samples.problems if samples is not None else ()),
        resources=pipeline.resource_count,
        config_path=spec.path,
        checkable=checkable,
    )
