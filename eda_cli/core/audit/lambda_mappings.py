"""The Lambda event source mapping rules: stream failures handled, SQS batch item failures reported,
the filters the pipeline file declares present."""

from __future__ import annotations

import json
from typing import Any

from eda_cli.core.audit.base import RuleContext, rule
from eda_cli.core.pipeline.model import name_from_arn


@rule("lambda-stream-failures", "error", "Stream mappings bisect failed batches or have an on-failure destination",
      "AWS: a failing record blocks its shard until it expires unless the mapping splits or sends it away",
      "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html")
def _lambda_stream(ctx: RuleContext) -> None:
    p = ctx.pipeline
    for m in p.mappings:
        if not m.is_stream:
            continue
        problems = []
        if not m.bisect_on_error and not m.on_failure_arn:
            problems.append(("neither BisectBatchOnFunctionError nor an on-failure destination: one poison "
                             "record blocks the shard and is retried until it expires",
                             f"aws lambda update-event-source-mapping --uuid {m.uuid} "
                             "--bisect-batch-on-function-error --destination-config "
                             "'OnFailure={Destination=<SQS or SNS ARN>}' --maximum-retry-attempts 3"))
        ctx.check_mapping(m, *problems)


@rule("lambda-sqs-batch-failures", "warning", "SQS mappings report batch item failures",
      "AWS: without ReportBatchItemFailures one failed message makes the whole batch retry",
      "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html")
def _lambda_sqs(ctx: RuleContext) -> None:
    p = ctx.pipeline
    for m in p.mappings:
        if m.source_kind != "sqs":
            continue
        problems = []
        if not m.reports_batch_item_failures:
            problems.append(("FunctionResponseTypes lacks ReportBatchItemFailures: one bad message re-runs "
                             "its whole batch",
                             f"aws lambda update-event-source-mapping --uuid {m.uuid} "
                             "--function-response-types ReportBatchItemFailures (and return batchItemFailures)"))
        ctx.check_mapping(m, *problems)


def _normalise(pattern: Any) -> str:
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except ValueError:
            return str(pattern)
    return json.dumps(pattern, sort_keys=True, separators=(",", ":"))


@rule("lambda-declared-filter", "error", "Filters the pipeline file declares are on their mappings",
      "AWS: a mapping without its filter invokes the function for every record",
      "https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html")
def _lambda_filters(ctx: RuleContext) -> None:
    p = ctx.pipeline
    for declared in ctx.spec.mappings:
        candidates = []
        for m in p.mappings:
            function = p.function_by_arn(m.function_arn)
            if declared.function not in (m.function_arn, function.name if function else None):
                continue
            if declared.source:
                source_names = {m.source_arn, name_from_arn(m.source_arn.split("/stream/")[0])}
                if declared.source not in source_names:
                    continue
            candidates.append(m)
        label = f"{declared.source or '*'} -> {declared.function}"
        problems = []
        if not candidates:
            problems.append(("the pipeline file declares this event source mapping, and there is none",
                             f"create the mapping for {declared.function}, or remove it from the pipeline file"))
        elif declared.filter is not None:
            want = _normalise(declared.filter)
            if not any(want in {_normalise(f) for f in m.filters} for m in candidates):
                problems.append((f"the declared filter {want} is not on the mapping: the function is invoked "
                                 "for every record",
                                 f"aws lambda update-event-source-mapping --uuid {candidates[0].uuid} "
                                 f"--filter-criteria '{{\"Filters\": [{{\"Pattern\": {json.dumps(want)}}}]}}'"))
        ctx.check(label, candidates[0].uuid if candidates else "", *problems, line=declared.line or None)


RULES = (_lambda_stream, _lambda_sqs, _lambda_filters)
