"""Stream records -> plain JSON with exact numbers, what changed, TTL expiries, the human view."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from eda_cli.commands.stream import change_lines
from eda_cli.core.records import (
    FieldDiff,
    changed_fields,
    diff_images,
    dumps,
    is_ttl_expiry,
    item_to_plain,
    lambda_view,
    number,
    same_attribute,
    to_change,
    to_plain,
)
from tests.aws_shapes import assert_valid_response

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
WHEN = datetime(2024, 5, 1, 12, 30, 5, tzinfo=timezone.utc)
#: As GetRecords returns it (Lambda's event spells the same fields "type" and "principalId").
TTL_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}


def record(event: str, old: dict[str, Any] | None = None, new: dict[str, Any] | None = None,
           **extra: Any) -> dict[str, Any]:
    """One record as GetRecords returns it through boto3 (checked against botocore's model)."""
    data: dict[str, Any] = {"ApproximateCreationDateTime": WHEN, "Keys": {"order_id": {"S": "o-1"}},
                            "SequenceNumber": "000000000000000000101", "SizeBytes": 50,
                            "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if old is not None:
        data["OldImage"] = old
    if new is not None:
        data["NewImage"] = new
    raw = {"eventID": "e1", "eventName": event, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
           "awsRegion": "us-east-1", "dynamodb": data, **extra}
    assert_valid_response("dynamodbstreams", "GetRecords", {"Records": [raw]})
    return raw


# -- numbers ---------------------------------------------------------------------------------------


def test_integers_stay_integers_of_any_size() -> None:
    assert number("42") == 42 and isinstance(number("42"), int)
    assert number("-7") == -7
    assert number("1E+3") == 1000 and isinstance(number("1E+3"), int)
    assert number("2300.0") == 2300 and isinstance(number("2300.0"), int)
    big = "9" * 38
    assert number(big) == int(big)
    assert dumps(number(big)) == big


def test_decimals_keep_their_digits() -> None:
    for text in ("12.50", "0.1", "-0.000001", "12345678901234567890.123456789012345678", "1.5E-7"):
        value = number(text)
        assert isinstance(value, Decimal)
        assert dumps(value) == text
        assert json.loads(dumps({"n": value}), parse_float=Decimal)["n"] == Decimal(text)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: d == 0 or abs(d.adjusted()) < 120))
def test_any_dynamodb_number_round_trips_exactly(value: Decimal) -> None:
    text = str(value)
    plain = to_plain({"N": text})
    parsed = json.loads(dumps([plain, {"x": plain}], indent=2), parse_float=Decimal, parse_int=Decimal)
    assert parsed[0] == Decimal(text) and parsed[1]["x"] == Decimal(text)


def test_a_string_cannot_forge_a_number() -> None:
    sneaky = "\x00deadbeef12.5\x00"
    assert json.loads(dumps({"s": sneaky, "n": Decimal("1.5")})) == {"s": sneaky, "n": 1.5}


# -- types -----------------------------------------------------------------------------------------


def test_every_attribute_type() -> None:
    item = {
        "s": {"S": "text"},
        "n": {"N": "3.25"},
        "b": {"B": b"\x00\xff"},
        "b64": {"B": "AP8="},
        "ss": {"SS": ["pear", "apple"]},
        "ns": {"NS": ["10", "2.5", "-1"]},
        "bs": {"BS": [b"\x02", b"\x01"]},
        "m": {"M": {"inner": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}]}}},
        "null": {"NULL": True},
        "yes": {"BOOL": True},
    }
    plain = item_to_plain(item)
    assert plain == {
        "s": "text", "n": Decimal("3.25"), "b": "AP8=", "b64": "AP8=", "ss": ["apple", "pear"],
        "ns": [-1, Decimal("2.5"), 10], "bs": ["AQ==", "Ag=="],
        "m": {"inner": [1, None, False]}, "null": None, "yes": True,
    }
    assert json.loads(dumps(plain))["ns"] == [-1, 2.5, 10]
    assert item_to_plain(None) is None


# -- what changed ------------------------------------------------------------------------------------


def test_same_attribute_compares_values_not_spellings() -> None:
    assert same_attribute({"N": "1.0"}, {"N": "1"})
    assert same_attribute({"SS": ["a", "b"]}, {"SS": ["b", "a"]})
    assert same_attribute({"NS": ["1", "2.0"]}, {"NS": ["2", "1"]})
    assert same_attribute({"B": b"\x01"}, {"B": "AQ=="})
    assert same_attribute({"M": {"a": {"N": "1.0"}}}, {"M": {"a": {"N": "1"}}})
    assert not same_attribute({"N": "1"}, {"BOOL": True})  # a type change is a change
    assert not same_attribute({"L": [{"S": "a"}]}, {"L": [{"S": "a"}, {"S": "b"}]})
    assert not same_attribute({"S": "a"}, None)


def test_changed_fields() -> None:
    old = {"pk": {"S": "o-1"}, "status": {"S": "NEW"}, "gone": {"N": "1"}, "same": {"SS": ["a", "b"]}}
    new = {"pk": {"S": "o-1"}, "status": {"S": "PAID"}, "added": {"N": "1"}, "same": {"SS": ["b", "a"]}}
    assert changed_fields("MODIFY", old, new) == ["added", "gone", "status"]
    assert changed_fields("MODIFY", old, old) == []
    assert changed_fields("INSERT", None, new) == sorted(new)
    assert changed_fields("REMOVE", old, None) == sorted(old)
    assert changed_fields("MODIFY", None, new) is None  # NEW_IMAGE stream: cannot tell
    assert changed_fields("INSERT", None, None) is None  # KEYS_ONLY


def test_diff_descends_into_maps() -> None:
    old = {"a": 1, "addr": {"city": "Oslo", "zip": "0150"}, "gone": True}
    new = {"a": 1, "addr": {"city": "Bergen", "zip": "0150", "floor": 3}, "new": [1]}
    assert diff_images(old, new) == [
        FieldDiff("~", "addr.city", "Oslo", "Bergen"),
        FieldDiff("+", "addr.floor", None, 3),
        FieldDiff("-", "gone", True, None),
        FieldDiff("+", "new", None, [1]),
    ]
    assert diff_images({"x": 1}, {"x": True}) == [FieldDiff("~", "x", 1, True)]


# -- one record --------------------------------------------------------------------------------------


def test_to_change_row_shape() -> None:
    raw = record("MODIFY", old={"order_id": {"S": "o-1"}, "amount": {"N": "10.50"}},
                 new={"order_id": {"S": "o-1"}, "amount": {"N": "12.75"}})
    change = to_change(raw, "orders", "shardId-1")
    row = change.to_dict()
    assert list(row) == ["event", "table", "keys", "old", "new", "changed", "sequence", "shard", "time",
                         "ttl_expiry"]
    assert row["keys"] == {"order_id": "o-1"}
    assert row["changed"] == ["amount"]
    assert row["time"] == "2024-05-01T12:30:05Z"
    assert row["ttl_expiry"] is False
    assert '"amount": 12.75' in dumps(row) and '"amount": 10.50' in dumps(row)


def test_ttl_expiry_is_recognised() -> None:
    assert is_ttl_expiry(record("REMOVE", old={"order_id": {"S": "o-1"}}, userIdentity=TTL_IDENTITY))
    assert not is_ttl_expiry(record("REMOVE", old={"order_id": {"S": "o-1"}}))
    assert not is_ttl_expiry(record("REMOVE", userIdentity={"Type": "Service", "PrincipalId": "someone"}))
    assert not is_ttl_expiry(record("MODIFY", userIdentity=TTL_IDENTITY))
    # A record in Lambda's event format (not what GetRecords returns) is read too.
    lambda_record = {**record("REMOVE"), "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}
    assert is_ttl_expiry(lambda_record)


def test_lambda_view_is_dynamodb_json_with_epoch_time_and_base64() -> None:
    raw = record("INSERT", new={"order_id": {"S": "o-1"}, "sig": {"B": b"\x01"}})
    view = lambda_view(raw, ARN)
    assert view["eventSourceARN"] == ARN
    assert view["dynamodb"]["NewImage"]["sig"] == {"B": "AQ=="}
    assert view["dynamodb"]["ApproximateCreationDateTime"] == WHEN.timestamp()
    assert raw["dynamodb"]["NewImage"]["sig"] == {"B": b"\x01"}  # the original is untouched
    ttl = lambda_view(record("REMOVE", old={"order_id": {"S": "o-1"}}, userIdentity=TTL_IDENTITY), ARN)
    assert ttl["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


# -- the human view ----------------------------------------------------------------------------------


def text_of(change: Any) -> list[str]:
    return ["".join(part for part, _ in line) for line in change_lines(change, ("order_id",))]


def test_human_view_of_a_modify_and_a_ttl_expiry() -> None:
    modify = to_change(record("MODIFY", old={"order_id": {"S": "o-1"}, "status": {"S": "NEW"}},
                              new={"order_id": {"S": "o-1"}, "status": {"S": "PAID"}, "n": {"N": "2"}}),
                       "orders", "s")
    assert text_of(modify) == ['2024-05-01T12:30:05Z  MODIFY  order_id=o-1', '    + n: 2',
                               '    ~ status: "NEW" -> "PAID"']
    ttl = to_change(record("REMOVE", old={"order_id": {"S": "o-1"}, "ttl": {"N": "1714560000"}},
                           userIdentity=TTL_IDENTITY), "orders", "s")
    assert text_of(ttl) == ["2024-05-01T12:30:05Z  REMOVE  order_id=o-1  TTL expiry", "    - ttl: 1714560000"]
    same = to_change(record("MODIFY", old={"order_id": {"S": "o-1"}}, new={"order_id": {"S": "o-1"}}), "o", "s")
    assert "no attribute changed" in text_of(same)[1]


def test_human_view_shows_what_keys_only_and_new_image_streams_have() -> None:
    keys_only = record("MODIFY")
    keys_only["dynamodb"]["StreamViewType"] = "KEYS_ONLY"
    assert text_of(to_change(keys_only, "o", "s"))[1] == "    (keys only: the stream is KEYS_ONLY)"
    new_only = record("MODIFY", new={"order_id": {"S": "o-1"}, "status": {"S": "PAID"}})
    new_only["dynamodb"]["StreamViewType"] = "NEW_IMAGE"
    assert text_of(to_change(new_only, "o", "s"))[1:] == ["    (new image only: the stream is NEW_IMAGE)",
                                                           '      status: "PAID"']


def test_terminal_view_is_coloured_unless_no_color() -> None:
    import io

    from eda_cli.commands.stream import _print_change
    from eda_cli.core.streams import StreamInfo
    from eda_cli.render import Renderer

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    change = to_change(record("MODIFY", old={"order_id": {"S": "o-1"}, "status": {"S": "NEW"}},
                              new={"order_id": {"S": "o-1"}, "status": {"S": "PAID"}}), "orders", "s")
    info = StreamInfo(ARN, "orders", "NEW_AND_OLD_IMAGES", "ENABLED", ("order_id",), ())
    for color in (True, False):
        out = Tty()
        _print_change(Renderer(stdout=out, color=color), change, info)
        assert ('\x1b[' in out.getvalue()) is color
        assert '~ status: "NEW" -> "PAID"' in out.getvalue()
