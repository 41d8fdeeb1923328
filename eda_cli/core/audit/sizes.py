"""Event sizes: rule targets whose DLQs hold events over EventBridge's 256 KB limit, or within 10% of it.

The only rule that needs messages, not configuration: it checks what `audit --sample-dlqs N` sampled
(`ctx.samples`), and nothing without it.
"""

from __future__ import annotations

from eda_cli.core.audit.base import RuleContext, rule
from eda_cli.core.audit.samples import target_dlqs
from eda_cli.core.schemas.size import EVENTBRIDGE_LIMIT, NEAR

NEEDS = "--sample-dlqs N"


@rule("dlq-oversized-events", "error",
      f"Rule targets' DLQs hold no event over or near EventBridge's 256 KB limit (needs {NEEDS})",
      "AWS: an event over 256 KB cannot be put on a bus; one near it breaks on the next field a producer adds",
      "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html")
def _dlq_oversized(ctx: RuleContext) -> None:
    samples = ctx.samples
    if samples is None:
        return
    limit_kb = EVENTBRIDGE_LIMIT // 1024
    for bus_rule in ctx.pipeline.rules:
        for target in bus_rule.targets:
            sampled = [(dlq, s) for dlq in target_dlqs(ctx.pipeline, target)
                       if (s := samples.of(dlq.arn)) is not None and not s.skipped]
            if not sampled:
                continue
            issues: list[tuple[str, str, str]] = []
            for dlq, sample in sampled:
                over = [n for n in sample.sizes if n > EVENTBRIDGE_LIMIT]
                near = [n for n in sample.sizes if NEAR * EVENTBRIDGE_LIMIT <= n <= EVENTBRIDGE_LIMIT]
                of = f"of {len(sample.sizes)} sampled"
                if over:
                    issues.append((
                        f"{len(over)} {of} message(s) in DLQ {dlq.name} are over EventBridge's {limit_kb} KB "
                        f"limit (largest {max(over):,} bytes): such events cannot be put on a bus or redriven "
                        "through one",
                        f"shrink the events (claim check: put the payload in S3, send its key), then `eda schema "
                        f"check --queue {dlq.name} --schema SCHEMA` to see the rest", "error"))
                if near:
                    issues.append((
                        f"{len(near)} {of} message(s) in DLQ {dlq.name} are within 10% of EventBridge's "
                        f"{limit_kb} KB limit (largest {max(near):,} bytes): the next field a producer adds tips "
                        "them over", f"trim the events or move the payload to S3 (claim check); `eda dlq peek "
                        f"{dlq.name}` flags each one", "warning"))
            ctx.check_target(bus_rule, target, *issues)


RULES = (_dlq_oversized,)
