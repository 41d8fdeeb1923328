"""`eda audit`: the production rules teams forget, checked against a pipeline, for people and for CI.

Each rule looks at the pipeline model (see core/pipeline) and reports, per resource it examined,
either nothing (a pass) or findings: rule id, severity, resource, what is wrong, how to fix it and
the guidance it comes from. JUnit XML (one testcase per rule and resource) and SARIF 2.1.0
writers turn a report into something CI systems display.

Rules never call AWS: everything they need was read by discovery (or, with `--sample-dlqs`, by
`sample_dlqs` just after it), so the audit of a pipeline is
a pure function and its tests build pipelines by hand where moto cannot produce a setting
(RedriveAllowPolicy, for one, is ignored by moto).

Layout: `model` (RuleInfo, Finding, Check, AuditReport), `base` (what a rule is made of),
`registry` (the rules in order, selection, `audit()`), one module per service's rules
(`pipeline_file`, `sqs`, `sns`, `events`, `sizes`, `dynamodb`, `lambda_mappings`, `stepfunctions`),
`samples` (`audit --sample-dlqs`: the DLQ message sizes read before the rules run, the one AWS read here),
`policy` (queue access policies), `writers` (JUnit, SARIF). A new rule: a `@rule(...)` function
in its service's module, added to that module's `RULES`.
"""

from __future__ import annotations

from eda_cli.core.audit.dynamodb import idempotency_tables
from eda_cli.core.audit.model import SEVERITIES, AuditReport, Check, Finding, RuleInfo, merge_scoped, rank
from eda_cli.core.audit.policy import queue_policy_allows
from eda_cli.core.audit.registry import UnknownRule, audit, rules, select_rules
from eda_cli.core.audit.samples import DlqSample, DlqSamples, rule_target_dlqs, sample_dlqs, target_dlqs
from eda_cli.core.audit.writers import SARIF_SCHEMA, to_junit, to_sarif

__all__ = [
    "SARIF_SCHEMA",
    "SEVERITIES",
    "AuditReport",
    "Check",
    "DlqSample",
    "DlqSamples",
    "Finding",
    "RuleInfo",
    "UnknownRule",
    "audit",
    "idempotency_tables",
    "merge_scoped",
    "queue_policy_allows",
    "rank",
    "rule_target_dlqs",
    "rules",
    "sample_dlqs",
    "select_rules",
    "target_dlqs",
    "to_junit",
    "to_sarif",
]
