"""Route one event offline: which EventBridge rules, SNS filter policies or patterns match it, and why not.

AWS answers "does it match?" only online, only for EventBridge (TestEventPattern), only with true or
false. Here the candidates are fetched from AWS (the rules of a bus, one rule, the subscriptions of a
topic) or given by the user, and matched with eda's own engine (`eda_cli.core.patterns`), which
explains every miss field by field. Nothing here prints; the command renders a `RouteResult`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from eda_cli.aws.errors import is_client_error
from eda_cli.core.concurrency import map_bounded
from eda_cli.errors import ResourceNotFound, UsageError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PaginatorConfigTypeDef
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import SubscriptionTypeDef

    from eda_cli.aws.session import AwsSession
    from eda_cli.core.patterns import CompiledPattern, Reason

#: The account a wrapped event claims when eda cannot tell (AWS's documentation example account).
DEFAULT_ACCOUNT = "123456789012"
#: The envelope of a bare `detail`, when --source / --detail-type do not say otherwise.
DEFAULT_SOURCE = "eda.route-test"
DEFAULT_DETAIL_TYPE = "eda route test"
#: The top-level fields EventBridge gives every event, in the order it writes them.
ENVELOPE_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


# -- candidates ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One thing an event can match: a rule, a subscription's filter policy, or a given pattern."""

    #: The rule's name, the subscriber's short name, or "pattern N".
    name: str
    #: The pattern as a dict or JSON text; None matches everything (a subscription without filter policy).
    pattern: Any
    dialect: str = "eventbridge"
    #: For the sns dialect: "MessageAttributes" or "MessageBody".
    scope: str = "MessageAttributes"
    #: "rule", "subscription" or "pattern".
    kind: str = "pattern"
    #: Where a match would go; None for a rule whose targets are fetched only if it matches.
    targets: tuple[str, ...] | None = ()
    #: Said beside a match: "no filter policy", "the rule is DISABLED: ...".
    note: str | None = None
    #: The event bus of a rule (for ListTargetsByRule).
    bus: str | None = None
    #: The topic of a subscription.
    topic: str | None = None
    #: The rule's ARN, or the subscription's.
    arn: str | None = None
    #: A rule that is not ENABLED: its pattern may match, but it delivers nothing.
    disabled: bool = False

    @property
    def label(self) -> str:
        return self.name if self.kind == "pattern" else f"{self.kind} {self.name!r}"


@dataclass(frozen=True)
class Sources:
    """What was fetched from AWS: the candidates, the account they live in, and what was skipped."""

    candidates: tuple[Candidate, ...]
    account: str | None = None
    #: Things left out, in words (scheduled rules, subscriptions pending confirmation).
    notes: tuple[str, ...] = ()


def _account_of(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


class RuleNotFound(ResourceNotFound):
    """A rule named on its own is not on the bus it was looked for on (`bus`)."""

    def __init__(self, message: str, bus: str, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.bus = bus


class NoEventPattern(UsageError):
    """A rule named on its own is a scheduled rule: it has no pattern to match."""


def _paging(page_size: int | None) -> PaginatorConfigTypeDef:
    """A paginator's PaginationConfig: AWS's page size unless `page_size` is given (tests make pages small)."""
    return {"PageSize": page_size} if page_size else {}


def _bus_not_found(bus: str, where: str) -> ResourceNotFound:
    return ResourceNotFound(
        f"event bus {bus!r} does not exist ({where})".replace(" ()", ""),
        hint="list buses with `aws events list-event-buses`; check --region",
    )


def _rule_candidate(rule: Mapping[str, Any], bus: str) -> Candidate | None:
    """A rule as a candidate; None for a scheduled rule (it has no event pattern)."""
    pattern = rule.get("EventPattern")
    if not pattern:
        return None
    disabled = rule.get("State", "ENABLED") != "ENABLED"
    return Candidate(
        name=str(rule["Name"]),
        pattern=pattern,
        kind="rule",
        targets=None,
        note=f"the rule is {rule.get('State')}: its pattern matches, but it delivers nothing" if disabled else None,
        bus=bus,
        arn=str(rule["Arn"]) if rule.get("Arn") else None,
        disabled=disabled,
    )


def bus_rules(events: EventBridgeClient, bus: str, where: str = "", page_size: int | None = None) -> Sources:
    """Every rule of an event bus (ListRules, every page). Unknown bus -> ResourceNotFound."""
    try:
        bus_arn = events.describe_event_bus(Name=bus).get("Arn")
    except Exception as exc:
        if is_client_error(exc, "ResourceNotFoundException"):
            raise _bus_not_found(bus, where) from exc
        raise
    candidates: list[Candidate] = []
    scheduled: list[str] = []
    try:
        for page in events.get_paginator("list_rules").paginate(EventBusName=bus, PaginationConfig=_paging(page_size)):
            for rule in page.get("Rules", []):
                candidate = _rule_candidate(rule, bus)
                if candidate is None:
                    scheduled.append(str(rule["Name"]))
                else:
                    candidates.append(candidate)
    except Exception as exc:
        if is_client_error(exc, "ResourceNotFoundException"):
            raise _bus_not_found(bus, where) from exc
        raise
    notes = (f"skipped {len(scheduled)} scheduled rule(s) without an event pattern: {', '.join(scheduled)}",)
    return Sources(tuple(candidates), _account_of(bus_arn), notes if scheduled else ())


def rule_by_name(events: EventBridgeClient, name: str, bus: str = "default", where: str = "") -> Sources:
    """One rule (DescribeRule). Unknown rule or bus -> ResourceNotFound; a scheduled rule -> UsageError."""
    try:
        rule = events.describe_rule(Name=name, EventBusName=bus)
    except Exception as exc:
        if is_client_error(exc, "ResourceNotFoundException"):
            raise RuleNotFound(
                f"rule {name!r} does not exist on event bus {bus!r} ({where})".replace(" ()", ""), bus,
                hint=f"list the bus's rules with `aws events list-rules --event-bus-name {bus}`; check the bus",
            ) from exc
        raise
    candidate = _rule_candidate(rule, bus)
    if candidate is None:
        raise NoEventPattern(
            f"rule {name!r} has no event pattern (a scheduled rule): there is nothing to match",
            hint="choose a rule with an event pattern, or test every rule of the bus",
        )
    return Sources((candidate,), _account_of(rule.get("Arn")))


def rule_targets(events: EventBridgeClient, rule: str, bus: str, page_size: int | None = None) -> tuple[str, ...]:
    """The ARNs a rule sends to (ListTargetsByRule, every page)."""
    targets: list[str] = []
    for page in events.get_paginator("list_targets_by_rule").paginate(
        Rule=rule, EventBusName=bus, PaginationConfig=_paging(page_size)
    ):
        targets.extend(str(t["Arn"]) for t in page.get("Targets", []))
    return tuple(targets)


def _short(endpoint: str) -> str:
    """A subscriber's short name: the resource of an ARN (queue, function), else the endpoint itself."""
    if endpoint.startswith("arn:"):
        return endpoint.split(":", 6)[-1] if endpoint.count(":") >= 6 else endpoint.rsplit(":", 1)[-1]
    return endpoint


def topic_subscriptions(sns: SNSClient, topic_arn: str, where: str = "", page_size: int | None = None) -> Sources:
    """Every confirmed subscription of a topic with its filter policy and FilterPolicyScope.

    ListSubscriptionsByTopic (every page), then GetSubscriptionAttributes per subscription.
    A subscription without a filter policy receives every message.
    """
    subscriptions: list[SubscriptionTypeDef] = []
    pending = 0
    try:
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
            TopicArn=topic_arn, PaginationConfig=_paging(page_size)
        ):
            for sub in page.get("Subscriptions", []):
                if str(sub.get("SubscriptionArn", "")).startswith("arn:"):
                    subscriptions.append(sub)
                else:  # "PendingConfirmation": no attributes to read, and it receives nothing yet
                    pending += 1
    except Exception as exc:
        if is_client_error(exc, "NotFound", "NotFoundException"):
            raise ResourceNotFound(
                f"topic {topic_arn} does not exist ({where})".replace(" ()", ""),
                hint="list topics with `aws sns list-topics`; check --region",
            ) from exc
        raise

    def attributes(sub: SubscriptionTypeDef) -> dict[str, str]:
        return dict(sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])["Attributes"])

    candidates: list[Candidate] = []
    seen: set[str] = set()
    for outcome in map_bounded(attributes, subscriptions, concurrency=8):
        if outcome.error is not None:
            raise outcome.error
        sub, attrs = outcome.item, outcome.value or {}
        endpoint = str(sub.get("Endpoint", ""))
        name = _short(endpoint) or str(sub["SubscriptionArn"])
        if name in seen:  # two subscriptions of one endpoint (another protocol): tell them apart
            name = f"{name} ({sub['SubscriptionArn'].rsplit(':', 1)[-1]})"
        seen.add(name)
        policy = attrs.get("FilterPolicy") or None
        candidates.append(
            Candidate(
                name=name,
                pattern=policy,
                dialect="sns",
                scope=attrs.get("FilterPolicyScope") or "MessageAttributes",
                kind="subscription",
                targets=(endpoint,),
                note=None if policy else "no filter policy: receives every message",
                topic=topic_arn,
                arn=str(sub["SubscriptionArn"]),
            )
        )
    notes = (f"skipped {pending} subscription(s) pending confirmation",) if pending else ()
    return Sources(tuple(candidates), _account_of(topic_arn), notes)


def fetch_sources(session: AwsSession, *, bus: str | None = None, rules: Sequence[str] = (),
                  topic: str | None = None) -> list[Sources]:
    """The candidates AWS holds: every rule of `bus`, or just `rules` (on `bus`, else the default bus),
    and the subscriptions of `topic` (a name or an ARN)."""
    if bus is None and not rules and topic is None:
        return []
    where = session.where()
    sources: list[Sources] = []
    if bus is not None and not rules:
        sources.append(bus_rules(session.client("events"), bus, where))
    for rule in rules:
        sources.append(rule_by_name(session.client("events"), rule, bus or "default", where))
    if topic is not None:
        from eda_cli.aws.resolve import resolve_topic

        sns = session.client("sns")
        sources.append(topic_subscriptions(sns, resolve_topic(sns, topic, where), where))
    return sources


def given_patterns(patterns: Sequence[Any], dialect: str = "eventbridge", scope: str = "MessageAttributes") -> Sources:
    """Patterns given by the user, named "pattern 1", "pattern 2", ..."""
    return Sources(
        tuple(
            Candidate(name=f"pattern {i}", pattern=p, dialect=dialect, scope=scope, kind="pattern")
            for i, p in enumerate(patterns, start=1)
        )
    )


# -- the event -------------------------------------------------------------------------------------


def parse_event(text: str, origin: str = "the event") -> dict[str, Any]:
    """The event as a JSON object, or UsageError naming what is wrong with it."""
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{origin} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{origin} is not valid JSON: {exc}") from None
    if not isinstance(event, dict):
        kind = "an array" if isinstance(event, list) else f"a {type(event).__name__}"
        raise UsageError(f"{origin} must be a JSON object, not {kind}")
    return event


def is_envelope(event: Mapping[str, Any]) -> bool:
    """A full EventBridge event (it has `detail` and `source` or `detail-type`), not a bare detail."""
    return "detail" in event and ("source" in event or "detail-type" in event)


def _is_put_events_entry(event: Mapping[str, Any]) -> bool:
    return "Detail" in event and ("Source" in event or "DetailType" in event)


def to_envelope(
    event: Mapping[str, Any],
    *,
    source: str | None = None,
    detail_type: str | None = None,
    account: str | None = None,
    region: str = "us-east-1",
    clock: Callable[[], float] = time.time,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> tuple[dict[str, Any], bool]:
    """The EventBridge event as a rule sees it, and whether `event` was a bare detail that was wrapped.

    A full event keeps its fields; the top-level fields EventBridge always sets and it lacks are filled
    in (version, id, time, account, region, resources). A PutEvents entry (Source, DetailType, Detail)
    becomes the event EventBridge would make of it. Anything else is a bare `detail`, wrapped in an
    envelope whose source and detail-type are `source` and `detail_type` (or eda's defaults).
    `source` and `detail_type`, when given, also override a full event's.
    """
    wrapped = False
    if is_envelope(event):
        body: dict[str, Any] = dict(event)
    elif _is_put_events_entry(event):
        detail = event.get("Detail")
        if isinstance(detail, str):
            detail = parse_event(detail, "the entry's Detail")
        body = {"detail-type": event.get("DetailType"), "source": event.get("Source"), "detail": detail}
        if event.get("Resources"):
            body["resources"] = list(event["Resources"])
        if event.get("Time"):
            body["time"] = str(event["Time"])
    else:
        body = {"detail": dict(event)}
        wrapped = True
    if source is not None:
        body["source"] = source
    if detail_type is not None:
        body["detail-type"] = detail_type
    defaults: dict[str, Any] = {
        "version": "0",
        "id": new_id,
        "detail-type": DEFAULT_DETAIL_TYPE,
        "source": DEFAULT_SOURCE,
        "account": account or DEFAULT_ACCOUNT,
        "time": lambda: datetime.fromtimestamp(clock(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": list,
        "detail": dict,
    }
    envelope: dict[str, Any] = {}
    for key in ENVELOPE_FIELDS:
        if key in body:
            envelope[key] = body[key]
        else:
            default = defaults[key]
            envelope[key] = default() if callable(default) else default
    envelope.update({k: v for k, v in body.items() if k not in envelope})
    return envelope, wrapped


def sns_view(event: Mapping[str, Any], scope: str) -> Any:
    """What an SNS filter policy with this scope sees of `event`.

    `event` is an SNS message: the notification SNS delivers (`Message`, `MessageAttributes` with
    `Type`/`Value`) or the arguments of Publish (`Message`, `MessageAttributes` with
    `DataType`/`StringValue`). Anything else is taken as the attributes (scope MessageAttributes) or the
    body (scope MessageBody) itself.
    """
    if "Message" in event or "MessageAttributes" in event:
        if scope == "MessageBody":
            return event.get("Message")
        return event.get("MessageAttributes") or {}
    return event


# -- matching --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matched:
    """A candidate the event matched (`kind` as Candidate.kind), with where it goes."""

    name: str
    kind: str
    targets: tuple[str, ...]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "targets": list(self.targets), **({"note": self.note} if self.note else {})}


@dataclass(frozen=True)
class Missed:
    """A candidate the event missed, with why, field by field."""

    name: str
    kind: str
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "reasons": [r.to_dict() for r in self.reasons]}


@dataclass(frozen=True)
class RouteResult:
    """The event as matched, and each candidate as matched (with targets) or missed (with reasons)."""

    event: Any
    matched: tuple[Matched, ...]
    missed: tuple[Missed, ...]
    #: Things left out, in words; not part of `to_dict()`.
    notes: tuple[str, ...] = ()

    @property
    def any_matched(self) -> bool:
        return bool(self.matched)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "matched": [m.to_dict() for m in self.matched],
            "missed": [m.to_dict() for m in self.missed],
        }


def compile_candidates(candidates: Iterable[Candidate]) -> list[tuple[Candidate, CompiledPattern | None]]:
    """Compile every candidate's pattern; an invalid one -> UsageError naming it, the path and the problem."""
    from eda_cli.core.patterns import PatternError, compile_pattern

    compiled: list[tuple[Candidate, CompiledPattern | None]] = []
    for candidate in candidates:
        if candidate.pattern is None:
            compiled.append((candidate, None))
            continue
        try:
            compiled.append((candidate, compile_pattern(candidate.pattern, candidate.dialect, scope=candidate.scope)))
        except PatternError as exc:
            raise UsageError(f"{candidate.label}: {exc}") from None
    return compiled


def evaluate(
    candidates: Iterable[Candidate],
    event: Mapping[str, Any],
    *,
    targets_of: Callable[[Candidate], tuple[str, ...]] | None = None,
    notes: Sequence[str] = (),
    concurrency: int = 8,
) -> RouteResult:
    """Match `event` against every candidate; explain each miss; fetch the targets of matched rules.

    `event` is what eventbridge and lambda patterns see (for EventBridge, the full envelope: see
    `to_envelope`); sns candidates see `sns_view(event, scope)`. A candidate whose targets are None
    gets them from `targets_of` once it has matched.
    """
    compiled = compile_candidates(candidates)
    hits: list[Candidate] = []
    missed: list[Missed] = []
    for candidate, pattern in compiled:
        if pattern is None:
            hits.append(candidate)
            continue
        view = sns_view(event, candidate.scope) if candidate.dialect == "sns" else event
        if pattern.matches(view):
            hits.append(candidate)
        else:
            missed.append(Missed(candidate.name, candidate.kind, tuple(pattern.explain(view))))

    def targets(candidate: Candidate) -> tuple[str, ...]:
        if candidate.targets is not None:
            return candidate.targets
        return targets_of(candidate) if targets_of is not None else ()

    matched: list[Matched] = []
    for outcome in map_bounded(targets, hits, concurrency):
        if outcome.error is not None:
            raise outcome.error
        c = outcome.item
        matched.append(Matched(c.name, c.kind, outcome.value or (), c.note))
    return RouteResult(event=dict(event), matched=tuple(matched), missed=tuple(missed), notes=tuple(notes))


# -- plain words -----------------------------------------------------------------------------------


def _compact(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, separators=(", ", ": "), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expected_words(expected: Any) -> str:
    """`[{"numeric": [">", 1000]}]` -> `numeric [">", 1000]`; `["EU", "US"]` -> `"EU" or "US"`."""
    if not isinstance(expected, list):
        return _compact(expected)
    words = []
    for item in expected:
        if isinstance(item, dict) and len(item) == 1:
            ((operator, argument),) = item.items()
            words.append(f"{operator} {_compact(argument)}")
        else:
            words.append(_compact(item))
    return " or ".join(words) if words else "[]"


def explain_lines(reason: Reason, indent: str = "") -> list[str]:
    """A Reason in plain words: `detail.amount: numeric [">", 1000] expected, got 250`.

    A `$or` none of whose alternatives matched gives a header line, then each alternative's reasons.
    """
    from eda_cli.core.patterns import MISSING

    path = reason.path or "event"
    if reason.operator == "$or" and isinstance(reason.actual, tuple):
        what = "filters" if reason.path == "Filters" else "alternatives"
        lines = [f"{indent}{path}: none of the {len(reason.actual)} {what} matched"]
        for n, branch in enumerate(reason.actual, start=1):
            lines.append(f"{indent}  {what[:-1]} {n}:")
            for inner in branch:
                lines.extend(explain_lines(inner, indent + "    "))
        return lines
    if reason.operator == "json":
        return [f"{indent}{path}: a JSON object expected, got {_compact(reason.actual)}"]
    got = "field is missing" if reason.actual is MISSING else f"got {_compact(reason.actual)}"
    return [f"{indent}{path}: {_expected_words(reason.expected)} expected, {got}"]
