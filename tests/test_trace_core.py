"""`eda_cli.core.trace` without a server: matching rules, and the faults moto cannot produce
(a Logs Insights query still running, failing or never finishing; an Express state machine)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eda_cli.core.sqs import to_message
from eda_cli.core.trace import TraceOptions, plan_from_flags, run_trace
from eda_cli.core.trace.match import (
    id_paths,
    match_message,
    mentions,
    normalize_path,
    powertools_hash,
    trace_header_carries,
)
from eda_cli.core.trace.model import Hit, epoch_of
from eda_cli.core.trace.sources import InsightsFailed, search_insights
from eda_cli.core.trace.verdict import verdict
from eda_cli.errors import UsageError
from tests.aws_shapes import AwsFake, assert_valid_response, aws_error


def _raw(body: Any, attributes: dict[str, Any] | None = None, system: dict[str, str] | None = None) -> dict[str, Any]:
    """One message as ReceiveMessage returns it (checked against botocore's model)."""
    raw = {
        "MessageId": "m-1",
        "ReceiptHandle": "h",
        "Body": body if isinstance(body, str) else json.dumps(body),
        "Attributes": {"ApproximateReceiveCount": "1", **(system or {})},
        "MessageAttributes": attributes or {},
    }
    assert_valid_response("sqs", "ReceiveMessage", {"Messages": [raw]})
    return raw


def test_paths_are_the_defaults_then_the_file_then_the_flags() -> None:
    assert id_paths(["$.order.ref", "correlationId"], ["meta.cid"])[-2:] == ("meta.cid", "order.ref")
    assert normalize_path("$.a.b") == "a.b"
    for bad in ("", "a..b", "a b", "$."):
        with pytest.raises(UsageError):
            normalize_path(bad)


def test_matching_is_exact_on_paths_and_whole_token_in_text() -> None:
    paths = id_paths()
    assert match_message(to_message(_raw({"correlationId": "c-1"})), "c-1", paths) == ["body correlationId"]
    assert match_message(to_message(_raw({"correlationId": "c-10"})), "c-1", paths) == []
    assert match_message(to_message(_raw({"correlationId": 42})), "42", paths) == ["body correlationId"]
    binary = {"sig": {"DataType": "Binary", "BinaryValue": b"c-1"}}
    assert match_message(to_message(_raw("x", binary)), "c-1", paths) == []
    assert mentions("ERROR c-1: boom", "c-1") and mentions("retry-c-1.json", "c-1")
    assert not mentions("c-10 fine", "c-1") and not mentions("abc-1", "c-1")


def test_trace_header_forms() -> None:
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    assert trace_header_carries(header, "1-5759e988-bd862e3fe1be46a994272793")
    assert trace_header_carries(header, "Root=1-5759e988-bd862e3fe1be46a994272793")
    assert not trace_header_carries(header, "1-5759e988")
    assert not trace_header_carries(header, "1") and not trace_header_carries(header, "53995c3f42cd8ad8")
    assert not trace_header_carries(None, "x")


def test_powertools_hash_is_md5_of_the_json_value() -> None:
    # hashlib.md5(json.dumps("c-1", sort_keys=True).encode()).hexdigest(), as Powertools computes it
    assert powertools_hash("c-1") == "73d4ef6e418d2a5cc5ca2186b54da7f0"


def test_epoch_of_reads_every_time_shape() -> None:
    assert epoch_of("2024-05-01T12:00:00Z") == epoch_of("2024-05-01 12:00:00.000") == 1714564800.0
    assert epoch_of(1714564800000) == epoch_of("1714564800000") == epoch_of(1714564800) == 1714564800.0
    assert epoch_of("soon") is None and epoch_of(None) is None and epoch_of(True) is None


# -- Logs Insights, with a fake client ---------------------------------------------------------------


class FakeLogs(AwsFake, service="logs"):
    def __init__(self, statuses: list[str], rows: list[list[dict[str, str]]] | None = None) -> None:
        self.statuses = statuses
        self.rows = rows or []
        self.started: list[dict[str, Any]] = []
        self.stopped: list[str] = []

    def start_query(self, **kwargs: Any) -> dict[str, str]:
        self.started.append(kwargs)
        return {"queryId": "q-1"}

    def get_query_results(self, queryId: str) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"status": status, "results": self.rows if status == "Complete" else []}

    def stop_query(self, queryId: str) -> dict[str, Any]:
        self.stopped.append(queryId)
        return {"success": True}


def _row(group: str, message: str, ts: str = "2024-05-01 12:00:00.000") -> list[dict[str, str]]:
    return [{"field": "@timestamp", "value": ts}, {"field": "@message", "value": message},
            {"field": "@logStream", "value": "s"}, {"field": "@log", "value": f"123456789012:{group}"},
            {"field": "@ptr", "value": "p"}]


def test_insights_polls_until_complete_without_waiting_on_the_wall_clock() -> None:
    logs = FakeLogs(["Scheduled", "Running", "Complete"],
                    [_row("/aws/lambda/a", "ERROR c-1 boom"), _row("/aws/lambda/b", "INFO c-10 other")])
    slept: list[float] = []
    found = search_insights(logs, ["/aws/lambda/a", "/aws/lambda/b"], "c-1", 0, 10, sleep=slept.append,
                            clock=lambda: 0.0)
    assert slept == [0.5, 1.0]
    assert 'filter @message like "c-1"' in logs.started[0]["queryString"]
    assert [(h.resource, h.summary, h.time) for h in found.hits] == [
        ("/aws/lambda/a", "ERROR c-1 boom", "2024-05-01T12:00:00.000Z")]
    assert [p.note for p in found.places] == ["1 line matched (Logs Insights)", "0 lines matched (Logs Insights)"]


def test_insights_that_fails_or_never_finishes_is_an_error_entry_per_group() -> None:
    with pytest.raises(InsightsFailed, match="ended failed"):
        search_insights(FakeLogs(["Running", "Failed"]), ["g"], "c-1", 0, 10, sleep=lambda s: None,
                        clock=lambda: 0.0)
    ticks = iter(range(0, 1000, 50))
    slow = FakeLogs(["Running"])
    with pytest.raises(InsightsFailed, match="did not finish within 120s"):
        search_insights(slow, ["g"], "c-1", 0, 10, sleep=lambda s: None, clock=lambda: float(next(ticks)))
    assert slow.stopped == ["q-1"]

    def client(service: str) -> Any:
        return FakeLogs(["Failed"])

    plan = plan_from_flags(log_groups=["g1", "g2"])
    result = run_trace(client, plan, TraceOptions("c-1", (), 0, 10, insights=True), region="us-east-1",
                       sleep=lambda s: None)
    assert [(e.service, e.resource) for e in result.problems] == [("logs", "g1"), ("logs", "g2")]
    assert result.verdict == "not found in 0 places searched; 2 could not be searched"


def test_an_express_state_machine_is_skipped_with_the_reason() -> None:
    class Pages:
        def paginate(self, **kwargs: Any) -> Any:
            raise aws_error("stepfunctions", "ListExecutions", "StateMachineTypeNotSupported", "express")

    class FakeSfn(AwsFake, service="stepfunctions"):
        def get_paginator(self, name: str) -> Pages:
            return Pages()

    plan = plan_from_flags(machines=["arn:aws:states:us-east-1:123456789012:stateMachine:fast"])
    result = run_trace(lambda s: FakeSfn(), plan, TraceOptions("c-1", (), 0, 10), region="us-east-1")
    assert result.problems == ()
    [skipped] = result.skipped
    assert skipped.resource == "fast" and "Express" in (skipped.skipped or "")


def test_verdict_wording() -> None:
    dlq = Hit(1.0, "sqs", "orders-dlq", "s", {"dlq": True, "receive_count": 5, "redrive_sources": ["orders"],
                                              "sent_at": "2026-11-28T21:19:33.892Z",
                                              "error": {"message": "card declined"}, "idempotency_record": "none"})
    # The receive count is everyone's (a peek or a trace adds one): never presented as consumer retries.
    assert verdict([dlq], searched=3) == (
        "stuck in orders-dlq (sent 2026-11-28T21:19:33.892Z; 5 receives by anyone, inspections included): "
        "ErrorMessage 'card declined'; never processed by orders (no idempotency record)")
    unknown = Hit(1.0, "sqs", "orders-dlq", "s", {"dlq": True, "receive_count": 1, "redrive_sources": [],
                                                  "idempotency_record": "unattributed"})
    assert verdict([unknown], searched=1).endswith("no idempotency record keyed by its message id (orders)")
    assert verdict([], searched=2, skipped=1).startswith("not found in 2 places searched; 1 skipped")
