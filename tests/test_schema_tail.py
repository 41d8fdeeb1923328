"""`eda schema infer --from-tail bus NAME`: events put on a bus while a temporary tap listens, inferred
into a schema, and the tap removed on every way out. Events are sent only once the tap exists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.fixtures.cli import Result, assert_one_line_error
from tests.fixtures.taps import PREFIX, bus_tap_ready, in_background, joined, leftovers, wait_for

BUS = "shop-bus"


def put(boto: Callable[[str], Any], entries: list[tuple[str, str, dict[str, Any]]]) -> None:
    response = boto("events").put_events(Entries=[
        {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": BUS}
        for source, detail_type, detail in entries])
    assert response["FailedEntryCount"] == 0


def test_infer_from_tail_learns_the_events_put_while_it_listens_and_removes_the_tap(
    eda: Callable[..., Result], boto: Callable[[str], Any]
) -> None:
    boto("events").create_event_bus(Name=BUS)

    def send() -> None:
        wait_for(lambda: bus_tap_ready(boto, BUS))
        put(boto, [
            ("shop.orders", "OrderCreated", {"id": "o-1", "total": 12.5, "customer": {"id": "c-1"}}),
            ("shop.orders", "OrderCreated", {"id": "o-2", "total": 3, "customer": {"id": "c-2"}, "note": "gift"}),
            ("shop.billing", "InvoicePaid", {"invoice": "i-1"}),
        ])

    sender = in_background(send)
    result = eda("-o", "json", "schema", "infer", "--from-tail", "bus", BUS, "--count", "3", "--timeout", "30",
                 "--by", "detail-type")
    joined(sender)
    assert result.code == 0, result.stderr
    schemas = json.loads(result.stdout)
    assert set(schemas) == {"shop.orders@OrderCreated", "shop.billing@InvoicePaid"}
    detail = schemas["shop.orders@OrderCreated"]["properties"]["detail"]
    assert sorted(detail["required"]) == ["customer", "id", "total"]  # `note` is in one sample only
    assert detail["properties"]["total"]["type"] == "number"
    assert detail["properties"]["customer"]["required"] == ["id"]
    assert schemas["shop.billing@InvoicePaid"]["properties"]["detail"]["required"] == ["invoice"]
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"created rule {PREFIX}") for line in lines), lines
    assert any(line.startswith(f"removed rule {PREFIX}") for line in lines), lines
    assert any(line.startswith(f"removed queue {PREFIX}") for line in lines), lines
    assert "inferred 2 schema(s) from 3 event(s) of bus shop-bus" in result.stderr
    assert leftovers(boto) == []


def test_infer_from_tail_with_nothing_arriving_exits_5_and_removes_the_tap(
    eda: Callable[..., Result], boto: Callable[[str], Any]
) -> None:
    boto("events").create_event_bus(Name=BUS)
    result = eda("schema", "infer", "--from-tail", "bus", BUS, "--count", "2", "--timeout", "0.5")
    assert result.code == 5, result.stderr
    assert "no event arrived on bus shop-bus within 0.5 s" in result.stderr
    assert any(line.startswith(f"removed queue {PREFIX}") for line in result.stderr.splitlines())
    assert leftovers(boto) == []


def test_from_tail_usage_errors_make_no_aws_call(eda: Callable[..., Result], boto: Callable[[str], Any]) -> None:
    assert_one_line_error(eda("schema", "infer", "--from-tail", "topic", "orders"), 2)
    assert_one_line_error(eda("schema", "infer", "--from-tail", "bus", BUS, "--from-file", "x.jsonl"), 2)
    assert_one_line_error(eda("schema", "infer", "--from-file", "x.jsonl", "--timeout", "5"), 2)
    assert leftovers(boto) == []
