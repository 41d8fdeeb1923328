"""core.redact: the presets, the paths, one Scope per result, and the masked copies of results."""

from __future__ import annotations

import json

import pytest

from eda_cli.core.redact import PathError, Redactor, card_mask, iban_ok, is_card_number, parse_path, scrub
from eda_cli.errors import UsageError

PCI = ["pci"]
PII = ["pii"]


@pytest.mark.parametrize("text, masked", [
    ("4242424242424242", "<card ••••4242>"),
    ("card 4242 4242 4242 4242 declined", "card <card ••••4242> declined"),
    ("4242-4242-4242-4242", "<card ••••4242>"),
    ("amex 3782 822463 10005.", "amex <card ••••0005>."),
    ("two: 4111111111111111,5555555555554444", "two: <card ••••1111>,<card ••••4444>"),
    ("4111 1111 1111 1111 2029", "<card ••••1111> 2029"),  # the card, then a year: the span that passes
    ("6011111111111117x", "<card ••••1117>x"),
])
def test_pci_masks_luhn_valid_runs_of_13_to_19_digits(text: str, masked: str) -> None:
    assert scrub(text, PCI) == masked


@pytest.mark.parametrize("text", [
    "4242424242424241",            # fails Luhn
    "424242424242",                # 12 digits
    "12345678901234567890123",     # a 23-digit id: not a 13-19-digit run
    "order o-1001 at 2024-05-01T12:00:00Z, 42 items",
    "uuid 0f8fad5b-d9cb-469f-a165-70867728950e",
])
def test_pci_leaves_what_is_not_a_card(text: str) -> None:
    assert scrub(text, PCI) == text


def test_card_helpers() -> None:
    assert is_card_number("4000056655665556") and not is_card_number("4000056655665557")
    assert card_mask("4000056655665556") == "<card ••••5556>"


@pytest.mark.parametrize("text, masked", [
    ("mail ana.b+x@example.co.uk now", "mail <email> now"),
    ("call +44 20 7946 0958.", "call <phone>."),
    ("call +1 (415) 555-2671", "call <phone>"),
    ("+4915123456789", "<phone>"),
    ("(415) 555-2671 or 415-555-2671 or 415.555.2671", "<phone> or <phone> or <phone>"),
    ("uk 020 7946 0958", "uk <phone>"),
    ("iban DE89 3704 0044 0532 0130 00 ok", "iban <iban> ok"),
    ("GB82WEST12345698765432", "<iban>"),
])
def test_pii_masks_emails_phones_and_ibans(text: str, masked: str) -> None:
    assert scrub(text, PII) == masked


@pytest.mark.parametrize("text", [
    "on 2024-05-01 at 10:30:00", "version 1.2.3", "order 12345", "DE89 3704 0044 0532 0130 01",
    "a@b", "sku SKU-100 qty 3",
])
def test_pii_leaves_dates_versions_and_invalid_ibans(text: str) -> None:
    assert scrub(text, PII) == text


def test_pii_alone_does_not_mask_cards_nor_pci_emails() -> None:
    assert scrub("4242424242424242 a@example.com", PII) == "4242424242424242 <email>"
    assert scrub("4242424242424242 a@example.com", PCI) == "<card ••••4242> a@example.com"


def test_iban_check() -> None:
    assert iban_ok("DE89370400440532013000") and not iban_ok("DE89370400440532013001")


@pytest.mark.parametrize("text, steps", [
    ("detail.card.number", [("key", "detail"), ("key", "card"), ("key", "number")]),
    ("$.items[*].price", [("key", "items"), ("any-index", ""), ("key", "price")]),
    ("items[0]", [("key", "items"), ("index", "0")]),
    ("*.token", [("any-key", ""), ("key", "token")]),
    ("['a.b'].c", [("key", "a.b"), ("key", "c")]),
])
def test_paths_parse(text: str, steps: list[tuple[str, str]]) -> None:
    assert list(parse_path(text).steps) == steps


@pytest.mark.parametrize("text", ["", "$", "a..b", "$..a", ".a", "a[x]", "a b", "a.[0"])
def test_bad_paths_are_usage_errors(text: str) -> None:
    with pytest.raises(PathError) as info:
        parse_path(text)
    assert isinstance(info.value, UsageError)


def test_unknown_preset_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown redaction preset 'pan'"):
        Redactor.build([], ["pci,pan"])
    assert Redactor.build([], ["pii", "pci,pii"]).presets == ("pci", "pii")


def test_paths_mask_whatever_they_name_and_the_same_value_in_free_text() -> None:
    redactor = Redactor.build(["detail.card", "$.items[*].price", "customer.email"], [])
    event = {"detail": {"card": {"number": "4242424242424242", "exp": "12/29"}, "note": "exp 12/29"},
             "items": [{"sku": "a", "price": 12.5}, {"sku": "b", "price": 1999}],
             "customer": {"email": "ana@example.com", "id": 7}}
    scope = redactor.scope()
    masked = scope.document(event)
    assert masked["detail"]["card"] == "<redacted>"
    assert masked["detail"]["note"] == "exp <redacted>"  # the masked value, quoted elsewhere
    assert [i["price"] for i in masked["items"]] == ["<redacted>", "<redacted>"]
    assert masked["customer"] == {"email": "<redacted>", "id": 7}
    assert scope.free("failed for ana@example.com") == "failed for <redacted>"
    assert event["detail"]["card"]["number"] == "4242424242424242"  # the original is untouched


def test_a_document_inside_a_string_is_masked_as_a_document() -> None:
    envelope = {"Type": "Notification", "Message": json.dumps({"customer": {"email": "bo@x.io"}, "n": 1})}
    masked = Redactor.build(["customer.email"], []).document(envelope)
    assert json.loads(masked["Message"]) == {"customer": {"email": "<redacted>"}, "n": 1}


def test_numbers_that_are_cards_are_masked() -> None:
    masked = Redactor.build([], PCI).document({"pan": 4111111111111111, "n": 42, "ok": True})
    assert masked == {"pan": "<card ••••1111>", "n": 42, "ok": True}


def test_text_that_is_json_is_masked_as_a_document() -> None:
    redactor = Redactor.build(["card.number"], [])
    assert json.loads(redactor.text('{"card": {"number": "x-123"}}')) == {"card": {"number": "<redacted>"}}
    assert redactor.text("not json: x-123") == "not json: x-123"  # no path hit learnt in this scope


def test_an_inactive_redactor_changes_nothing() -> None:
    redactor = Redactor()
    value = {"a": "4242424242424242"}
    assert not redactor.active and redactor.document(value) is value


# -- the masked copies of results ------------------------------------------------------------------


def _message(message_id: str, body: object, error: str | None = None) -> object:
    from eda_cli.core.sqs import Message

    raw = json.dumps(body) if not isinstance(body, str) else body
    attributes = {"ErrorMessage": {"type": "String", "value": error}} if error else {}
    return Message(message_id=message_id, body=body, raw_body=raw, sent_at=None, receive_count=0,
                   attributes={"SentTimestamp": "1"}, message_attributes=attributes, group_id=None)


def test_groups_are_made_from_unmasked_errors_and_shown_masked() -> None:
    from eda_cli.core.dlq import group_by_error
    from eda_cli.core.redact import results

    messages = [_message("a", {"n": 1}, "card 4111111111111111 declined"),
                _message("b", {"n": 2}, "card 5555555555554444 declined"),
                _message("c", {"n": 3}, "card 5555555555554444 declined")]
    groups = results.groups(group_by_error(messages), Redactor.build([], PCI))  # type: ignore[arg-type]
    assert [(g.signature, g.count) for g in groups] == [("error: card <card ••••4444> declined", 2),
                                                        ("error: card <card ••••1111> declined", 1)]
    assert all("declined" in str(m.error) and "555555" not in str(m.error) for g in groups for m in g.messages)


def test_a_stream_diff_shows_that_a_masked_field_changed_without_either_value() -> None:
    from eda_cli.core.records import Change
    from eda_cli.core.redact import results

    change = Change(event="MODIFY", table="t", keys={"id": "a"}, old={"id": "a", "card": "x-1", "n": 1},
                    new={"id": "a", "card": "x-2", "n": 2}, changed=["card", "n"], sequence="1", shard="s",
                    time=None, ttl_expiry=False)
    masked = results.change(change, Redactor.build(["card"], []))
    diffs = {d.path: d for d in masked.field_diffs()}
    assert diffs["card"].masked and diffs["card"].old == diffs["card"].new == "<redacted>"
    assert not diffs["n"].masked and (diffs["n"].old, diffs["n"].new) == (1, 2)
    assert masked.to_dict()["changed"] == ["card", "n"] and "x-1" not in json.dumps(masked.to_dict())
    # An unchanged masked field is no diff at all; a masked map that changed inside is one line.
    same = results.change(Change("MODIFY", "t", {}, {"card": {"a": 1}}, {"card": {"a": 1}}, [], "1", "s", None,
                                 False), Redactor.build(["card"], []))
    assert same.field_diffs() == []
    inside = results.change(Change("MODIFY", "t", {}, {"card": {"a": 1}}, {"card": {"a": 2}}, ["card"], "1", "s",
                                   None, False), Redactor.build(["card"], []))
    assert [(d.path, d.masked) for d in inside.field_diffs()] == [("card", True)]


def test_a_trace_hit_masks_its_documents_then_its_summary() -> None:
    from eda_cli.core.redact import results
    from eda_cli.core.trace import Hit

    hit = Hit(1.0, "logs", "/aws/lambda/pay", "ERROR charging bo@x.io: 4111 1111 1111 1111",
              {"message": '{"customer": {"email": "bo@x.io"}, "level": "ERROR"}', "body": {"customer": {
                  "email": "bo@x.io"}}})
    masked = results.hit(hit, Redactor.build(["customer.email"], PCI))
    assert masked.summary == "ERROR charging <redacted>: <card ••••1111>"
    assert json.loads(masked.detail["message"])["customer"]["email"] == "<redacted>"
    assert masked.detail["body"] == {"customer": {"email": "<redacted>"}}


def test_redactor_covers_fields_inside_a_path() -> None:
    redactor = Redactor.build(["detail.card", "$.items[*].price"], [])
    assert redactor.covers("detail.card") and redactor.covers("detail.card.number")
    assert redactor.covers("items.0.price") and not redactor.covers("detail.cardholder")
    assert not redactor.covers("items.price")
