"""Redaction end to end, on the seeded demo sandbox: each command that prints message or record contents
masks them in table and json alike, from its options or from ./eda.yaml, and --no-redact says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.cli import Result, assert_one_line_error
from tests.fixtures.seeded import Seeded
from tests.fixtures.taps import PREFIX, in_background, joined, wait_for

CARDS = ("4111 1111 1111 1111", "5555-5555-5555-4444")
MASKS = ("<card ••••1111>", "<card ••••4444>")


def leaks(result: Result) -> list[str]:
    return [card for card in CARDS if card in result.stdout or card in result.stderr
            or card.replace(" ", "").replace("-", "") in result.stdout]


def test_dlq_peek_masks_cards_by_preset_in_table_and_json(eda_ro: Callable[..., Result]) -> None:
    table = eda_ro("dlq", "peek", "payments-dlq", "--redact-preset", "pci")
    assert table.code == 0, table.stderr
    assert all(mask in table.stdout for mask in MASKS) and not leaks(table), table.stdout
    as_json = eda_ro("-o", "json", "dlq", "peek", "payments-dlq", "--redact-preset", "pci")
    numbers = sorted(m["body"]["card"]["number"] for m in as_json.items() if "card" in m["body"])
    assert numbers == sorted(MASKS) and not leaks(as_json)
    plain = eda_ro("-o", "json", "dlq", "peek", "payments-dlq")  # nothing asked, no eda.yaml: nothing masked
    assert sorted(m["body"]["card"]["number"] for m in plain.items() if "card" in m["body"]) == sorted(CARDS)


def test_dlq_peek_masks_paths_inside_sns_envelopes(eda_ro: Callable[..., Result]) -> None:
    as_json = eda_ro("-o", "json", "dlq", "peek", "payments-dlq", "--redact", "email", "--redact", "card")
    bodies = [m["body"] for m in as_json.items()]
    envelopes = [json.loads(b["Message"]) for b in bodies if b.get("Type") == "Notification"]
    assert envelopes and all(e["email"] == "<redacted>" for e in envelopes), envelopes
    assert all(b["card"] == "<redacted>" for b in bodies if "card" in b)
    assert "@example.com" not in as_json.stdout
    table = eda_ro("dlq", "peek", "payments-dlq", "--redact", "email")
    assert '"email": "<redacted>"' in table.stdout and "@example.com" not in table.stdout


def test_group_by_error_groups_as_before_and_prints_masked(eda_ro: Callable[..., Result]) -> None:
    masked = eda_ro("-o", "json", "dlq", "peek", "payments-dlq", "--group-by", "error", "--redact-preset", "pci")
    plain = eda_ro("-o", "json", "dlq", "peek", "payments-dlq", "--group-by", "error")
    assert [(g["signature"], g["count"]) for g in masked.items()] == [(g["signature"], g["count"])
                                                                      for g in plain.items()]
    assert not leaks(masked) and leaks(plain)  # the examples


def test_trace_masks_the_bodies_it_found(eda_ro: Callable[..., Result]) -> None:
    as_json = eda_ro("-o", "json", "trace", "corr-0015", "--queue", "payments-dlq", "--redact", "card.number")
    assert as_json.code == 0, as_json.stderr
    [hit] = as_json.json()["hits"]
    assert hit["detail"]["body"]["card"] == {"number": "<redacted>", "expiry": "12/29"}
    table = eda_ro("trace", "corr-0015", "--queue", "payments-dlq", "--redact-preset", "pci")
    assert table.code == 0 and not leaks(table)


def test_stream_tail_masks_images_and_shows_that_a_masked_field_changed(eda_ro: Callable[..., Result]) -> None:
    args = ("stream", "tail", "orders", "--no-follow", "--events", "MODIFY", "--redact", "status")
    table = eda_ro(*args)
    assert table.code == 0, table.stderr
    assert '~ status: changed (masked: "<redacted>")' in table.stdout, table.stdout
    assert "PAID" not in table.stdout and "CANCELLED" not in table.stdout
    as_json = eda_ro("-o", "json", *args)
    records = as_json.items()
    assert records and all(r["new"]["status"] == r["old"]["status"] == "<redacted>" for r in records)
    assert all(r["changed"] == ["status"] for r in records)  # which field changed is not a secret


def test_redrive_dry_run_sample_is_masked(eda_ro: Callable[..., Result]) -> None:
    table = eda_ro("redrive", "payments-dlq", "--dry-run", "--redact-preset", "pci")
    assert table.code == 0, table.stderr
    assert "<card ••••" in table.stdout and not leaks(table), table.stdout
    as_json = eda_ro("-o", "json", "redrive", "payments-dlq", "--dry-run", "--redact-preset", "pci")
    assert any("<card ••••1111>" in s["body"] for s in as_json.json()["sample"]) and not leaks(as_json)


def test_probe_reasons_do_not_quote_a_masked_value(eda_ro: Callable[..., Result], tmp_path: Path) -> None:
    event = tmp_path / "order.json"
    event.write_text(json.dumps({"source": "shop.orders", "detail-type": "order.created",
                                 "detail": {"amount": 2500, "region": "US", "card": "4111 1111 1111 1111"}}))
    plain = eda_ro("-o", "json", "probe", "--bus", "orders-bus", "--event", f"@{event}", "--dry-run")
    masked = eda_ro("-o", "json", "probe", "--bus", "orders-bus", "--event", f"@{event}", "--dry-run",
                    "--redact", "detail.region")
    assert plain.code == masked.code == 0, masked.stderr

    def reasons(result: Result) -> str:
        return " ".join(t["reason"] for t in result.json()["targets"])

    assert 'got "US"' in reasons(plain) and '"US"' not in reasons(masked) and "<redacted>" in reasons(masked)


def test_eda_yaml_sets_it_once_and_no_redact_overrides_it(eda_ro: Callable[..., Result], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "eda.yaml").write_text("version: 1\nredact:\n  preset: pci\n  paths: [cust]\n")
    monkeypatch.chdir(tmp_path)
    masked = eda_ro("-o", "json", "dlq", "peek", "payments-dlq")
    assert not leaks(masked) and "masking message contents as eda.yaml says: preset pci, path cust" in masked.stderr
    assert all(m["body"]["cust"] == "<redacted>" for m in masked.items() if "cust" in m["body"])
    shown = eda_ro("-o", "json", "dlq", "peek", "payments-dlq", "--no-redact")
    assert shown.code == 0 and leaks(shown)
    assert "--no-redact: message contents are shown unmasked" in shown.stderr


def test_bad_redaction_options_are_usage_errors_before_any_aws_call(eda_ro: Callable[..., Result],
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert_one_line_error(eda_ro("dlq", "peek", "no-such-queue", "--redact", "a..b"), 2)
    assert_one_line_error(eda_ro("dlq", "peek", "no-such-queue", "--redact-preset", "pan"), 2)
    assert_one_line_error(eda_ro("dlq", "peek", "no-such-queue", "--no-redact", "--redact-preset", "pci"), 2)
    (tmp_path / "eda.yaml").write_text("version: 1\nredact:\n  preset: pan\n")
    monkeypatch.chdir(tmp_path)
    bad = eda_ro("stream", "tail", "no-such-table", "--no-follow")
    assert_one_line_error(bad, 2)
    assert "eda.yaml:3: redact.preset: unknown redaction preset 'pan'" in bad.stderr


def _bus_tap_ready(seeded: Seeded) -> bool:
    events = seeded.client("events")
    return any(events.list_targets_by_rule(Rule=r["Name"], EventBusName="orders-bus")["Targets"]
               for r in events.list_rules(NamePrefix=PREFIX, EventBusName="orders-bus")["Rules"])


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_tail_masks_what_it_prints(eda_ro: Callable[..., Result], seeded: Seeded, fmt: str) -> None:
    """Last in the module: it puts an event on the seeded bus (the other tests only read)."""
    def send() -> None:
        wait_for(lambda: _bus_tap_ready(seeded))
        seeded.client("events").put_events(Entries=[{
            "Source": "shop.payments", "DetailType": "card.charged", "EventBusName": "orders-bus",
            "Detail": json.dumps({"card": {"number": "4111 1111 1111 1111"}, "email": "ana@example.com"})}])

    sender = in_background(send)
    result = eda_ro("-o", fmt, "tail", "bus", "orders-bus", "--pattern", '{"source": ["shop.payments"]}',
                    "--count", "1", "--timeout", "30", "--redact", "detail.email", "--redact-preset", "pci")
    joined(sender)
    assert result.code == 0, result.stderr
    assert "<card ••••1111>" in result.stdout and not leaks(result), result.stdout
    assert "ana@example.com" not in result.stdout and "<redacted>" in result.stdout
    if fmt == "json":
        [event] = result.items()
        assert event["detail"] == {"card": {"number": "<card ••••1111>"}, "email": "<redacted>"}
