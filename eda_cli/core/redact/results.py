"""Masked copies of the results that carry message contents, each masked in one Scope before it is rendered.

Every command that prints message or record contents renders one of these copies, never the original, so
table, json, jsonl, yaml and csv are masked alike. What a command decides on (grouping by error, a diff, a
filter) is decided on the original first; only what it prints is masked.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from eda_cli.core.redact.redactor import REDACTED, Redactor, Scope

if TYPE_CHECKING:
    from eda_cli.core.dlq import Group, PeekResult
    from eda_cli.core.probe import ProbeResult
    from eda_cli.core.records import Change, FieldDiff
    from eda_cli.core.schemas import CheckResult, Violation
    from eda_cli.core.sqs import Message
    from eda_cli.core.tap import Delivery
    from eda_cli.core.trace import Hit, TraceResult

#: The fields of a trace hit's detail that are a message's document (paths apply at their root).
DOCUMENT_FIELDS = ("body", "item", "input", "keys", "old", "new")


def message(scope: Scope, original: Message) -> Message:
    """A message with its body and message attributes masked (system attributes are AWS's, not contents)."""
    body = scope.document(original.body)
    raw = json.dumps(body, ensure_ascii=False) if isinstance(body, (dict, list)) else scope.text(original.raw_body)
    attributes = {name: _attribute(scope, attr) for name, attr in original.message_attributes.items()}
    return dataclasses.replace(original, body=body, raw_body=raw, message_attributes=attributes)


def _attribute(scope: Scope, attr: Mapping[str, Any]) -> dict[str, Any]:
    if attr.get("encoding") == "base64" or not isinstance(attr.get("value"), str):
        return dict(attr)
    return {**attr, "value": scope.any(attr["value"])}


def peek(result: PeekResult, redactor: Redactor) -> PeekResult:
    if not redactor.active:
        return result
    return dataclasses.replace(result, messages=tuple(message(redactor.scope(), m) for m in result.messages))


def groups(found: list[Group], redactor: Redactor) -> list[Group]:
    """Groups made from the unmasked messages (so that two cards do not make one group), each shown
    masked: its messages, and its signature (which quotes an error message)."""
    if not redactor.active:
        return found
    out = []
    for group in found:
        scope = redactor.scope()
        masked = tuple(message(scope, m) for m in group.messages)
        out.append(dataclasses.replace(group, signature=scope.free(group.signature), messages=masked))
    return out


def hit(original: Hit, redactor: Redactor) -> Hit:
    scope = redactor.scope()
    detail = dict(original.detail)
    for key in DOCUMENT_FIELDS:
        if key in detail:
            detail[key] = scope.document(detail[key])
    for key, value in detail.items():
        if key not in DOCUMENT_FIELDS:
            detail[key] = scope.any(value)
    return dataclasses.replace(original, summary=scope.free(original.summary), detail=detail)


def trace(result: TraceResult, redactor: Redactor) -> TraceResult:
    if not redactor.active:
        return result
    return dataclasses.replace(result, hits=tuple(hit(h, redactor) for h in result.hits))


def change(original: Change, redactor: Redactor) -> Change:
    """A stream record with its keys and images masked, and its diff worked out on the unmasked images: a
    masked field that changed is still shown as changed (`FieldDiff.masked`), without either value."""
    if not redactor.active:
        return original
    scope = redactor.scope()
    old = scope.document(original.old) if original.old is not None else None
    new = scope.document(original.new) if original.new is not None else None
    keys = scope.document(original.keys)
    diffs = tuple(masked_diffs(original.old, original.new, old, new))
    return dataclasses.replace(original, keys=keys, old=old, new=new, diffs=diffs)


_ABSENT = object()


def masked_diffs(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, masked_old: Any, masked_new: Any,
                 prefix: str = "") -> list[FieldDiff]:
    """`records.diff_images(old, new)`, showing the masked values: decided on the originals."""
    from eda_cli.core.records import FieldDiff

    old, new = old or {}, new or {}
    masked_old = masked_old if isinstance(masked_old, dict) else {}
    masked_new = masked_new if isinstance(masked_new, dict) else {}
    out: list[FieldDiff] = []
    for name in sorted(old.keys() | new.keys()):
        path = f"{prefix}{name}"
        a, b = old.get(name, _ABSENT), new.get(name, _ABSENT)
        shown_a, shown_b = masked_old.get(name), masked_new.get(name)
        if a is _ABSENT:
            out.append(FieldDiff("+", path, None, shown_b))
        elif b is _ABSENT:
            out.append(FieldDiff("-", path, shown_a, None))
        elif isinstance(a, dict) and isinstance(b, dict) and isinstance(shown_a, dict) and isinstance(shown_b, dict):
            out.extend(masked_diffs(a, b, shown_a, shown_b, f"{path}."))
        elif a != b or type(a) is not type(b):
            out.append(FieldDiff("~", path, shown_a, shown_b, masked=shown_a == shown_b))
    return out


def delivery(original: Delivery, redactor: Redactor) -> Delivery:
    """A tapped event or notification (an SNS envelope's Message is masked as the document it holds)."""
    if not redactor.active:
        return original
    scope = redactor.scope()
    body = scope.document(original.body)
    raw = json.dumps(body, ensure_ascii=False) if isinstance(body, (dict, list)) else scope.text(original.raw)
    return dataclasses.replace(original, body=body, raw=raw)


def probe(result: ProbeResult, redactor: Redactor) -> ProbeResult:
    """The probe's verdicts quote the event (`detail.amount: ... expected, got 250`): what the paths name in
    the event sent, and what the presets find, are masked in them."""
    if not redactor.active:
        return result
    scope = redactor.scope()
    scope.document(_sent(result.plan.kind, result.plan.send))  # learns what the paths name in what was sent
    targets = [dataclasses.replace(t, missed=tuple(_reason(scope, line) for line in t.missed),
                                   blocked=scope.free(t.blocked), checked=scope.free(t.checked))
               for t in result.plan.targets]
    plan = dataclasses.replace(result.plan, targets=targets, notes=[scope.free(n) for n in result.plan.notes])
    return dataclasses.replace(result, plan=plan, notes=tuple(scope.free(n) for n in result.notes))


#: A routing engine's reason: `detail.amount: numeric [">", 1000] expected, got 250`.
_REASON = re.compile(r"^(\s*)([^\s:]+): (.*?)\bgot .*$")


def _reason(scope: Scope, line: str) -> str:
    """A reason line, with the value it quotes masked when a path covers its field (however short it is)."""
    match = _REASON.match(line)
    if match and scope.redactor.covers(match.group(2)):
        line = f"{match.group(1)}{match.group(2)}: {match.group(3)}got {REDACTED}"
    return scope.free(line)


def _sent(kind: str, send: Mapping[str, Any]) -> Any:
    """What the probe sent, as its targets see it: an EventBridge event (paths such as detail.card.number),
    or a topic's message."""
    from eda_cli.core.sqs import parse_body

    if kind == "bus":
        detail = send.get("Detail")
        return {"source": send.get("Source"), "detail-type": send.get("DetailType"),
                "detail": parse_body(detail) if isinstance(detail, str) else detail}
    message = send.get("Message")
    return parse_body(message) if isinstance(message, str) else message


def sample_body(body: Any, redactor: Redactor | None) -> Any:
    """A redrive dry run's sample body, masked before it is cut to a preview."""
    if redactor is None or not redactor.active:
        return body
    return redactor.scope().document(body)


def checks(found: CheckResult, documents: Iterable[Any], redactor: Redactor) -> CheckResult:
    """Schema verdicts decided on the unmasked events, shown masked: what an event has at a violation (and a
    group's example) can quote a value, so it goes through the free-text masking of the events' scope."""
    if not redactor.active:
        return found
    scope = redactor.scope()
    for document in documents:  # the documents first, so that a value a path masks is known to the free text
        scope.document(document)

    def masked(violation: Violation) -> Violation:
        return dataclasses.replace(violation, actual=scope.free(violation.actual))

    return dataclasses.replace(
        found,
        checks=tuple(dataclasses.replace(c, violations=tuple(masked(v) for v in c.violations)) for c in found.checks),
        groups=tuple(dataclasses.replace(g, example=scope.free(g.example)) for g in found.groups),
    )
