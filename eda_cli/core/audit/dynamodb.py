"""The DynamoDB rules: streams with the view type their consumers need, TTL on idempotency tables."""

from __future__ import annotations

from eda_cli.core.audit.base import TIP, RuleContext, rule
from eda_cli.core.pipeline.model import Pipeline, Table, name_from_arn
from eda_cli.core.pipeline.spec import PipelineSpec
from eda_cli.core.pipeline.writer import is_idempotency_table


@rule("dynamodb-stream", "error", "Tables feeding consumers have a stream with the view type they need",
      "AWS: a stream's view type decides what each record carries (keys only, new image, both)",
      "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html")
def _dynamodb_stream(ctx: RuleContext) -> None:
    p = ctx.pipeline
    for table in p.tables:
        declared = ctx.spec.table(table.name)
        needs = declared.stream_view_type if declared else None
        consumers = p.consumers(table.arn)
        if not consumers and not needs:
            continue
        problems: list[tuple[str, str, str]] = []
        if not table.stream_enabled:
            who = (f"{len(consumers)} event source mapping(s) read it" if consumers
                   else f"the pipeline file says its consumers need {needs}")
            problems.append((f"the stream is off but {who}",
                             f"aws dynamodb update-table --table-name {table.name} --stream-specification "
                             f"StreamEnabled=true,StreamViewType={needs or 'NEW_AND_OLD_IMAGES'}", "error"))
        else:
            if needs and table.stream_view_type != needs:
                problems.append((f"the stream's view type is {table.stream_view_type}, its consumers need {needs}",
                                 "a view type cannot be changed in place: disable the stream, enable it with "
                                 f"{needs}, and point the mappings at the new stream ARN", "error"))
            elif not needs and table.stream_view_type == "KEYS_ONLY" and consumers:
                problems.append(("the stream is KEYS_ONLY: its consumers get keys, not the items",
                                 "declare stream_view_type in eda.yaml if keys are all they need, else re-create "
                                 "the stream with NEW_IMAGE or NEW_AND_OLD_IMAGES", "warning"))
            for m in consumers:
                if table.stream_arn and m.source_arn != table.stream_arn:
                    fn = p.function_by_arn(m.function_arn)
                    problems.append((f"{fn.name if fn else name_from_arn(m.function_arn)} reads an old stream "
                                     f"({m.source_arn.rsplit('/', 1)[-1]}), not the table's current one",
                                     f"re-create the mapping on {table.stream_arn}", "error"))
        ctx.check_table(table, *problems)


def idempotency_tables(pipeline: Pipeline, spec: PipelineSpec) -> list[tuple[Table, str | None, str]]:
    """(table, expected TTL attribute or None, why it counts): named in the pipeline file as one,
    tagged eda:role=idempotency, or named like one; `idempotency: false` in the file overrides."""
    found = []
    for table in pipeline.tables:
        declared = spec.table(table.name)
        said = declared.idempotency if declared is not None else None
        if said is True:
            found.append((table, declared.ttl_attribute if declared else None, "named in the pipeline file"))
        elif said is False:
            continue
        elif table.tags.get("eda:role", "").lower() == "idempotency":
            found.append((table, None, "tagged eda:role=idempotency"))
        elif is_idempotency_table(table):
            found.append((table, None, "its name contains 'idempotency'"))
    return found


@rule("dynamodb-idempotency-ttl", "error", "Idempotency tables have TTL on their expiry attribute",
      f"{TIP}: TTL on the idempotency table",
      "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html")
def _dynamodb_ttl(ctx: RuleContext) -> None:
    for table, expected, why in idempotency_tables(ctx.pipeline, ctx.spec):
        problems = []
        attribute = expected or "expiration"
        if not table.ttl_enabled:
            problems.append((f"an idempotency table ({why}) without TTL: its records never expire, it grows "
                             "forever, and a retried message past its window is still rejected",
                             f"aws dynamodb update-time-to-live --table-name {table.name} "
                             f"--time-to-live-specification Enabled=true,AttributeName={attribute}"))
        elif expected and table.ttl_attribute != expected:
            problems.append((f"TTL is on {table.ttl_attribute!r} but the records expire on {expected!r}",
                             f"turn TTL off and on again with AttributeName={expected}"))
        ctx.check_table(table, *problems)


RULES = (_dynamodb_stream, _dynamodb_ttl)
