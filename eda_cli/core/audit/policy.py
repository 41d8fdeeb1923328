"""Whether a queue's access policy lets a service (SNS, EventBridge) send to it: IAM evaluation,
just as far as the audit needs it (Allow/Deny, wildcards, principals, the source-ARN conditions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from eda_cli.core.audit.base import as_list
from eda_cli.core.pipeline.model import account_of


def _wild(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcard match: `*` any run, `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _principal_matches(statement: Mapping[str, Any], service: str) -> bool | None:
    if "NotPrincipal" in statement:
        return None
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if "*" in as_list(principal.get("AWS", [])):
        return True
    return service in as_list(principal.get("Service", []))


def _condition_holds(condition: Any, source_arn: str) -> bool | None:
    """Whether a statement's Condition holds for a delivery from `source_arn`; None when unknown."""
    if not condition:
        return True
    if not isinstance(condition, Mapping):
        return None
    result: bool | None = True
    for operator, pairs in condition.items():
        op = str(operator)
        if ":" in op:  # ForAnyValue:/ForAllValues: on a single-valued key behave like the plain operator
            op = op.split(":", 1)[1]
        if_exists = op.endswith("IfExists")
        op = op[: -len("IfExists")] if if_exists else op
        if not isinstance(pairs, Mapping):
            return None
        for key, expected in pairs.items():
            k = str(key).lower()
            if k == "aws:sourcearn":
                actual = source_arn
            elif k in ("aws:sourceaccount", "aws:sourceowner"):
                actual = account_of(source_arn)
            else:
                result = None
                continue
            values = [str(v) for v in as_list(expected)]
            negate = "Not" in op
            base = op.replace("Not", "")
            if base in ("ArnEquals", "ArnLike", "StringLike"):
                hit = any(_wild(v, actual) for v in values)
            elif base == "StringEquals":
                hit = actual in values
            elif base == "StringEqualsIgnoreCase":
                hit = actual.lower() in (v.lower() for v in values)
            else:
                result = None
                continue
            if hit == negate:
                return False
    return result


def queue_policy_allows(policy: Mapping[str, Any] | None, queue_arn: str, service: str,
                        source_arn: str) -> bool | None:
    """Whether a queue's access policy lets `service` (sns.amazonaws.com, events.amazonaws.com)
    send messages from `source_arn`: True, False, or None when the policy uses conditions eda
    does not evaluate. No policy at all: False (a service principal always needs one)."""
    if not policy:
        return False
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    allowed: bool | None = False
    for st in statements:
        if not isinstance(st, Mapping):
            continue
        if "NotAction" in st or "NotResource" in st:
            applies: bool | None = None
        else:
            actions = [str(a) for a in as_list(st.get("Action", []))]
            resources = [str(r) for r in as_list(st.get("Resource", "*"))]
            if not any(_wild(a, "sqs:SendMessage", ignore_case=True) for a in actions):
                continue
            if not any(_wild(r, queue_arn) for r in resources):
                continue
            principal = _principal_matches(st, service)
            if principal is False:
                continue
            condition = _condition_holds(st.get("Condition"), source_arn)
            if condition is False:
                continue
            applies = None if principal is None or condition is None else True
        effect = str(st.get("Effect", "")).lower()
        if effect == "deny" and applies:
            return False
        if effect == "allow":
            if applies:
                allowed = True
            elif applies is None and allowed is False:
                allowed = None
    return allowed
