"""Access policies open to anyone: a queue or topic whose policy lets any principal (`"Principal": "*"` or
`{"AWS": "*"}`) send or receive, with no Condition to narrow who, is readable or writable by every AWS account."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from eda_cli.core.audit.base import RuleContext, as_list, rule

SQS_URL = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-examples-of-sqs-policies.html"

#: What "send" and "receive" mean for each kind of resource.
QUEUE_ACTIONS = {"send": ("sqs:SendMessage",), "receive": ("sqs:ReceiveMessage", "sqs:DeleteMessage")}
TOPIC_ACTIONS = {"send": ("sns:Publish",), "receive": ("sns:Subscribe",)}


def _wild(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE) is not None


def _anyone(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS", []))


def _allows(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_wild(str(a), action) for a in as_list(statement["NotAction"]))
    return any(_wild(str(a), action) for a in as_list(statement.get("Action", [])))


def open_to_anyone(policy: Mapping[str, Any] | None, actions: Mapping[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    """(what anyone may do: "send" | "receive", the statement's Sid or index) for each Allow statement of
    `policy` whose principal is anyone and which has no Condition."""
    if not policy:
        return []
    statements = policy.get("Statement", [])
    found: list[tuple[str, str]] = []
    for index, statement in enumerate(as_list(statements)):
        if not isinstance(statement, Mapping) or str(statement.get("Effect", "")).lower() != "allow":
            continue
        if statement.get("Condition") or not _anyone(statement):
            continue
        name = str(statement.get("Sid") or f"#{index}")
        for what, names in actions.items():
            if any(_allows(statement, action) for action in names):
                found.append((what, name))
    return found


#: What anyone may do, in words, by resource kind and verb.
_HARM = {
    ("queue", "send"): "send messages to it (any AWS account can put messages into the pipeline)",
    ("queue", "receive"): "receive its messages (any AWS account can read and delete them)",
    ("topic", "send"): "publish to it (any AWS account can put messages into the pipeline)",
    ("topic", "receive"): "subscribe to it (any AWS account can read what it carries)",
}


def _issue(kind: str, name: str, opened: list[tuple[str, str]]) -> tuple[str, str]:
    verbs = sorted({what for what, _ in opened}, key=("send", "receive").index)
    statements = ", ".join(sorted({sid for _, sid in opened}))
    return (
        f'its access policy (statement {statements}) lets anyone (Principal "*"), with no Condition, '
        + " and ".join(_HARM[(kind, verb)] for verb in verbs),
        f"name the principals in {name}'s policy, or add a Condition (aws:SourceArn, aws:SourceAccount or "
        "aws:PrincipalOrgID) to that statement",
    )


@rule("public-access-policy", "error", "No queue or topic lets anyone send or receive without a condition",
      "AWS: SQS security best practices (do not expose queues publicly)", SQS_URL)
def _public(ctx: RuleContext) -> None:
    for queue in ctx.pipeline.queues:
        if queue.policy is None:
            continue
        opened = open_to_anyone(queue.policy, QUEUE_ACTIONS)
        ctx.check_queue(queue, *([_issue("queue", queue.name, opened)] if opened else []))
    for topic in ctx.pipeline.topics:
        if topic.policy is None:
            continue
        opened = open_to_anyone(topic.policy, TOPIC_ACTIONS)
        ctx.check(topic.name, topic.arn, *([_issue("topic", topic.name, opened)] if opened else []),
                  line=ctx.line("topic", topic.name))


RULES = (_public,)


