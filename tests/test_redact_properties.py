"""Property: for random nested events with card numbers, emails and phone numbers at random paths, the pci and
pii presets leave none of them in any output format (table, json, jsonl, yaml, csv), as `dlq peek` renders
them, grouped or not. The checks here are written apart from core.redact's finders."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eda_cli.aws.resolve import QueueRef
from eda_cli.commands.dlq import _groups_view, _print_messages
from eda_cli.core import redact
from eda_cli.core.dlq import PeekResult, check_messages, group_by_error
from eda_cli.core.sqs import Message, parse_body
from eda_cli.render import FORMATS, Renderer

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: SentTimestamp is AWS's, not message contents: never masked. This one fails the Luhn check on purpose.
SENT = "1764925200001"


def luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(int(c) for c in reversed(digits)):
        total += d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
    return total % 10 == 0


@st.composite
def cards(draw: st.DrawFn) -> tuple[str, str]:
    """(as written, digits) of a Luhn-valid number of 13-19 digits."""
    prefix = draw(st.sampled_from(["4", "51", "55", "2221", "34", "37", "6011", "65", "35", "62"]))
    length = draw(st.integers(13, 19))
    body = prefix + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=length - len(prefix) - 1,
                                          max_size=length - len(prefix) - 1)))
    digits = next(body + d for d in "0123456789" if luhn(body + d))
    style = draw(st.sampled_from(["plain", "spaces", "dashes"]))
    if style == "plain":
        return digits, digits
    groups = [digits[i:i + 4] for i in range(0, len(digits), 4)]
    return (" " if style == "spaces" else "-").join(groups), digits


def _digits(draw: st.DrawFn, n: int) -> str:
    return "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=n, max_size=n)))


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    style = draw(st.integers(0, 5))
    a, b, c = _digits(draw, 3), _digits(draw, 3), _digits(draw, 4)
    if style == 0:
        text = f"+{draw(st.integers(1, 99))} {_digits(draw, 2)} {_digits(draw, 4)} {_digits(draw, 4)}"
    elif style == 1:
        text = f"+{draw(st.integers(1, 9))}{_digits(draw, draw(st.integers(9, 12)))}"
    elif style == 2:
        text = f"({a}) {b}-{c}"
    elif style == 3:
        text = f"{a}-{b}-{c}"
    elif style == 4:
        text = f"{a}.{b}.{c}"
    else:
        text = f"0{_digits(draw, 2)} {_digits(draw, 4)} {_digits(draw, 4)}"
    return text, re.sub(r"\D", "", text)


emails = st.builds(lambda local, domain, tld: f"{local}@{domain}.{tld}",
                   st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,9}", fullmatch=True),
                   st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), st.sampled_from(["com", "io", "co.uk", "de"]))
words = st.from_regex(r"[A-Za-z]{1,8}( [A-Za-z]{1,8}){0,3}", fullmatch=True)


@st.composite
def events(draw: st.DrawFn) -> tuple[Any, list[str], list[str], list[str]]:
    """(event, card digit strings, emails, phone digit strings) planted in it."""
    planted: dict[str, list[str]] = {"cards": [], "emails": [], "phones": []}

    def secret() -> str | int:
        kind = draw(st.sampled_from(["card", "card-int", "email", "phone"]))
        if kind in ("card", "card-int"):
            text, digits = draw(cards())
            planted["cards"].append(digits)
            return int(digits) if kind == "card-int" else text
        if kind == "email":
            email = draw(emails)
            planted["emails"].append(email)
            return email
        text, digits = draw(phones())
        planted["phones"].append(digits)
        return text

    def leaf() -> Any:
        choice = draw(st.integers(0, 4))
        if choice == 0:
            return draw(words)
        if choice == 1:
            return draw(st.integers(0, 99999))
        if choice == 2:
            return secret()
        return f"{draw(words)} {secret()} {draw(words)}"

    def node(depth: int) -> Any:
        if depth == 0 or draw(st.booleans()):
            return leaf()
        if draw(st.booleans()):
            return [node(depth - 1) for _ in range(draw(st.integers(1, 3)))]
        keys = draw(st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=4, unique=True))
        return {k: node(depth - 1) for k in keys}

    event = {"detail": node(4), "note": f"{draw(words)} {secret()}"}
    return event, planted["cards"], planted["emails"], planted["phones"]


def chains(text: str, separators: str) -> list[str]:
    """The digits of each run of digits joined by up to two of `separators`."""
    pattern = re.compile(rf"[0-9](?:[{re.escape(separators)}]{{0,2}}[0-9])*")
    return [re.sub(r"\D", "", m.group()) for m in pattern.finditer(text)]


def assert_nothing_left(text: str, card_digits: list[str], planted_emails: list[str], phone_digits: list[str]) -> None:
    for run in re.findall(r"[0-9]+", text):
        assert not (13 <= len(run) <= 19 and luhn(run)), (run, text)
    card_chains = chains(text, " -")
    for digits in card_digits:
        assert not any(digits in chain for chain in card_chains), (digits, text)
    assert "@" not in text, text
    phone_chains = chains(text, " .()-+")
    for digits in phone_digits:
        assert not any(digits in chain for chain in phone_chains), (digits, text)


def render(fmt: str, write: Any) -> str:
    out = io.StringIO()
    write(Renderer(output=fmt, color=False, stdout=out, stderr=io.StringIO()))
    text = out.getvalue()
    if fmt == "yaml":  # long strings fold across lines: check the document too
        text += "\n" + json.dumps(yaml.safe_load(text), ensure_ascii=False)
    return text


@SETTINGS
@given(st.lists(events(), min_size=1, max_size=3), st.sampled_from(FORMATS))
def test_presets_leave_no_card_email_or_phone_in_any_format(
        drawn: list[tuple[Any, list[str], list[str], list[str]]], fmt: str) -> None:
    messages = []
    for index, (event, *_) in enumerate(drawn):
        raw = json.dumps(event, ensure_ascii=False)
        note = json.dumps(event["note"])
        messages.append(Message(
            message_id=f"m-{index}", body=parse_body(raw), raw_body=raw, sent_at="2026-12-05T09:00:00.000Z",
            receive_count=1, attributes={"SentTimestamp": SENT},
            message_attributes={"ErrorMessage": {"type": "String", "value": f"declined: {note}"},
                                "ErrorCode": {"type": "String", "value": "400"}},
            group_id=None))
    result = PeekResult(QueueRef("q-dlq", "https://sqs/q-dlq", "arn:aws:sqs:us-east-1:1:q-dlq"), tuple(messages), 1)
    masker = redact.Redactor.build([], ["pci", "pii"])
    shown = redact.results.peek(result, masker)
    groups = redact.results.groups(group_by_error(result.messages), masker)
    card_digits = [d for _, cards_, _, _ in drawn for d in cards_]
    planted_emails = [e for _, _, found, _ in drawn for e in found]
    phone_digits = [d for _, _, _, found in drawn for d in found]

    checks = {c.ref: c for c in check_messages(result.messages, None).checks}  # sizes only, as without --schema
    listed = render(fmt, lambda r: r.emit(shown.to_list(), lambda h: _print_messages(h, shown, checks, False)))
    grouped = render(fmt, lambda r: r.emit([g.to_dict() for g in groups], _groups_view(shown, groups)))
    for text in (listed, grouped):
        assert_nothing_left(text, card_digits, planted_emails, phone_digits)
    # Grouping was decided on the unmasked errors: as many groups as distinct errors.
    assert len(groups) == len({m.error["message"] for m in result.messages if m.error})


def test_the_checks_here_do_catch_what_they_look_for() -> None:
    """The property's checks are not vacuous: unmasked output fails them."""
    import pytest

    with pytest.raises(AssertionError):
        assert_nothing_left("pay 4111 1111 1111 1111 now", ["4111111111111111"], [], [])
    with pytest.raises(AssertionError):
        assert_nothing_left("mail a@b.io", [], ["a@b.io"], [])
    with pytest.raises(AssertionError):
        assert_nothing_left("call (415) 555-2671", [], [], ["4155552671"])
