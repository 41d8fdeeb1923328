"""The watch core without a server: one GetMetricData per refresh, slow calls shown stale (not waited for, not
asked twice), depth history and the grew marker, urgency order, the filter, and failed executions paginated."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from eda_cli.core.metrics import MetricQuery, metric_values
from eda_cli.core.watch import WatchReader, execution_failures
from tests.fixtures.watch import (
    NOW,
    FakeCloudWatch,
    FakeSfn,
    FakeSqs,
    clients_of,
    depth_alarm,
    execution,
    scope_of,
)


def reader(scope: object, budget: float = 2.0, **fakes: object) -> WatchReader:
    return WatchReader(clients_of(**fakes), scope, budget=budget, now=lambda: NOW)  # type: ignore[arg-type]


def test_one_refresh_reads_every_metric_in_one_get_metric_data_call_and_counts_its_calls() -> None:
    sqs = FakeSqs({"a-dlq": 3, "b-dlq": 0, "c-dlq": 1})
    cloudwatch = FakeCloudWatch(
        metrics={("ApproximateAgeOfOldestMessage", "a-dlq"): [120.0, 60.0],
                 ("IteratorAge", "orders-consumer"): [90_000.0, 1_000.0]},
        alarms=[depth_alarm("a-dlq", "ALARM"), depth_alarm("c-dlq", "OK")])
    watch = reader(scope_of(["a-dlq", "b-dlq", "c-dlq"], functions=["orders-consumer", "audit-consumer"]),
                   sqs=sqs, cloudwatch=cloudwatch)
    try:
        snapshot = watch.refresh()
    finally:
        watch.close()
    assert len(cloudwatch.metric_calls) == 1
    asked = {(q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Metric"]["Dimensions"][0]["Value"])
             for q in cloudwatch.metric_calls[0]["MetricDataQueries"]}
    assert asked == {("ApproximateAgeOfOldestMessage", q) for q in ("a-dlq", "b-dlq", "c-dlq")} | {
        ("IteratorAge", "orders-consumer"), ("IteratorAge", "audit-consumer")}
    # 3 GetQueueAttributes + 1 GetMetricData + 1 DescribeAlarms page
    assert snapshot.calls == 5 and not snapshot.problems
    rows = {d.name: d for d in snapshot.dlqs}
    assert rows["a-dlq"].oldest_age_seconds == 120.0 and rows["b-dlq"].oldest_age_seconds is None
    assert (rows["a-dlq"].alarm, rows["b-dlq"].alarm, rows["c-dlq"].alarm) == ("ALARM", "NONE", "OK")
    lag = {s.function: s.iterator_age_seconds for s in snapshot.streams}
    assert lag == {"orders-consumer": 90.0, "audit-consumer": None}  # the newest datapoint, ms -> s
    assert [s.function for s in snapshot.streams] == ["orders-consumer", "audit-consumer"]  # lagging first
    assert [d.name for d in snapshot.dlqs] == ["a-dlq", "c-dlq", "b-dlq"]  # alarm, then depth, then empty


def test_more_than_500_metrics_take_one_call_per_500() -> None:
    cloudwatch = FakeCloudWatch(metrics={("IteratorAge", "f599"): [5.0]})
    queries = [MetricQuery(f"k{i}", "AWS/Lambda", "IteratorAge", (("FunctionName", f"f{i}"),)) for i in range(600)]
    values = metric_values(cloudwatch, queries, NOW - timedelta(minutes=5), NOW)  # type: ignore[arg-type]
    assert [len(c["MetricDataQueries"]) for c in cloudwatch.metric_calls] == [500, 100]
    assert values["k599"] == [5.0] and values["k0"] == []


def test_a_slow_call_is_shown_stale_with_its_previous_value_and_is_not_asked_again_while_it_runs() -> None:
    sqs = FakeSqs({"a-dlq": 2, "b-dlq": 0})
    watch = reader(scope_of(["a-dlq", "b-dlq"]), budget=0.3, sqs=sqs, cloudwatch=FakeCloudWatch())
    gate = threading.Event()
    try:
        first = watch.refresh()
        assert {d.name: d.visible for d in first.dlqs} == {"a-dlq": 2, "b-dlq": 0} and not first.problems
        sqs.slow["a-dlq"] = gate
        sqs.depth.update({"a-dlq": 7, "b-dlq": 1})
        started = time.monotonic()
        second = watch.refresh()
        assert time.monotonic() - started < 1.0  # the budget, not the slow call, bounds a refresh
        rows = {d.name: d for d in second.dlqs}
        assert rows["a-dlq"].visible == 2 and rows["a-dlq"].stale == ("depth",) and not rows["a-dlq"].grew
        assert rows["b-dlq"].visible == 1 and rows["b-dlq"].stale == () and rows["b-dlq"].grew
        assert [(p.service, p.resource) for p in second.problems] == [("sqs", "GetQueueAttributes a-dlq")]
        assert "no answer within 0.3s (showing refresh 1's)" in second.problems[0].error
        assert second.partial and second.stale

        third = watch.refresh()  # the call of refresh 2 still runs: not started again
        assert sqs.asked["a-dlq"] == 2 and {d.name: d.stale for d in third.dlqs}["a-dlq"] == ("depth",)
        gate.set()
        for _ in range(50):  # the slow answer lands; the next refresh uses it
            fourth = watch.refresh()
            if not fourth.problems:
                break
        row = {d.name: d for d in fourth.dlqs}["a-dlq"]
        assert row.visible == 7 and row.stale == () and row.history[:1] == (2,) and None in row.history
    finally:
        gate.set()
        watch.close()


def test_a_call_slow_on_the_first_refresh_shows_nothing_yet() -> None:
    sqs = FakeSqs({"a-dlq": 2})
    gate = threading.Event()
    sqs.slow["a-dlq"] = gate
    watch = reader(scope_of(["a-dlq"]), budget=0.2, sqs=sqs, cloudwatch=FakeCloudWatch())
    try:
        snapshot = watch.refresh()
    finally:
        gate.set()
        watch.close()
    row = snapshot.dlqs[0]
    assert row.visible is None and row.history == (None,) and "nothing to show yet" in snapshot.problems[0].error


def test_a_failing_call_is_a_problem_and_the_rest_is_shown() -> None:
    from tests.aws_shapes import aws_error

    class DeniedCloudWatch(FakeCloudWatch):
        def get_metric_data(self, **kwargs: object) -> dict[str, object]:
            raise aws_error("cloudwatch", "GetMetricData", "AccessDenied")

    watch = reader(scope_of(["a-dlq"]), sqs=FakeSqs({"a-dlq": 4}), cloudwatch=DeniedCloudWatch())
    try:
        snapshot = watch.refresh()
    finally:
        watch.close()
    assert snapshot.dlqs[0].visible == 4 and snapshot.dlqs[0].stale == ("age",)
    assert [(p.service, p.resource) for p in snapshot.problems] == [("cloudwatch", "GetMetricData")]


def test_depth_history_the_grew_marker_and_the_filter() -> None:
    sqs = FakeSqs({"payments-dlq": 1, "orders-dlq": 0})
    watch = reader(scope_of(["payments-dlq", "orders-dlq"]), sqs=sqs, cloudwatch=FakeCloudWatch())
    try:
        watch.refresh()
        sqs.depth["payments-dlq"] = 3
        grown = watch.refresh()
        sqs.depth["payments-dlq"] = 2
        shrunk = watch.refresh()
    finally:
        watch.close()
    assert [(d.name, d.history, d.grew, d.level) for d in grown.dlqs] == [
        ("payments-dlq", (1, 3), True, "fire"), ("orders-dlq", (0, 0), False, "ok")]
    first = shrunk.dlqs[0]
    assert (first.name, first.history, first.grew, first.level) == ("payments-dlq", (1, 3, 2), False, "warn")
    only = shrunk.filtered("PAY")
    assert [d.name for d in only.dlqs] == ["payments-dlq"] and only.filter == "PAY"
    assert (only.rows, only.total_rows) == (1, 2)
    assert [r["kind"] for r in shrunk.records()] == ["dlq", "dlq"]


def test_failed_and_timed_out_executions_in_the_window_paged_until_the_lookback() -> None:
    since = NOW - timedelta(hours=1)
    sfn = FakeSfn({
        "FAILED": [
            [execution("f1", "FAILED", NOW - timedelta(minutes=5), NOW - timedelta(minutes=4)),
             execution("f2", "FAILED", NOW - timedelta(hours=3), NOW - timedelta(minutes=30))],  # long, failed late
            [execution("f3", "FAILED", NOW - timedelta(hours=30), NOW - timedelta(hours=29))],  # past the lookback
            [execution("never-read", "FAILED", NOW - timedelta(hours=40), NOW - timedelta(hours=39))],
        ],
        "TIMED_OUT": [[execution("t1", "TIMED_OUT", NOW - timedelta(minutes=50), NOW - timedelta(minutes=2))]],
    })
    failed, timed_out, last, last_at = execution_failures(sfn, "arn:sm", since)  # type: ignore[arg-type]
    assert (failed, timed_out, last) == (2, 1, "t1")
    assert last_at == (NOW - timedelta(minutes=2)).isoformat()
    assert sfn.served == 3  # FAILED: two pages (the second reaches past the lookback), TIMED_OUT: one


def test_records_put_the_most_urgent_kind_first() -> None:
    from eda_cli.core.watch import AlarmRow, DlqRow, MachineRow, Snapshot, StreamRow

    snapshot = Snapshot(
        "us-east-1", "2026-12-05T09:00:00Z", 1, 0.1, 4,
        dlqs=(DlqRow("quiet-dlq", "u", "a", "by name", 0, 0, None),
              DlqRow("full-dlq", "u", "a", "by name", 5, 0, None)),
        streams=(StreamRow("arn:s", "orders", "worker", "uuid", "Enabled", 120.0),),
        state_machines=(MachineRow("saga", "arn:m", 1, 0, 60),),
        alarms=(AlarmRow("worker-errors", "arn:a", ("AWS/Lambda Errors FunctionName=worker",), ("worker",)),))
    assert [(r["kind"], r["level"]) for r in snapshot.records()] == [
        ("alarm", "fire"), ("state_machine", "fire"), ("dlq", "warn"), ("stream", "warn"), ("dlq", "ok")]


def test_running_move_tasks_are_the_redrives_where_the_endpoint_has_them() -> None:
    from dataclasses import replace

    scope = replace(scope_of(["a-dlq", "b-dlq"]), move_tasks=True)
    watch = reader(scope, sqs=FakeSqs({"a-dlq": 60, "b-dlq": 0}), cloudwatch=FakeCloudWatch())
    try:
        snapshot = watch.refresh()
    finally:
        watch.close()
    assert [(r.dlq, r.task.moved, r.task.to_move, r.task.status) for r in snapshot.redrives] == [
        ("a-dlq", 40, 100, "RUNNING")]
    assert snapshot.calls == 2 + 2 + 1 + 1  # GetQueueAttributes and ListMessageMoveTasks per DLQ, metrics, alarms


def test_stale_values_are_marked_in_the_tables() -> None:
    from eda_cli.commands.watch import views
    from eda_cli.core.watch import DlqRow, Snapshot

    row = DlqRow("a-dlq", "u", "a", "by name", 2, 0, 30.0, history=(1, 2), alarm="OK", stale=("depth", "alarm"))
    [dlqs] = [v for v in views(Snapshot("us-east-1", "t", 2, 0.1, 3, dlqs=(row,))) if v.title == "DLQs"]
    assert [str(cell) for cell in dlqs.rows[0]] == ["!", "a-dlq", "2~", "0~", "30s", "▄█", "OK~"]


def test_scopes_refresh_at_once_within_one_budget_and_a_slow_scope_is_shown_stale() -> None:
    from eda_cli.aws.scopes import Scope as Where
    from eda_cli.core.problems import Problem
    from eda_cli.core.watch import ScopesReader

    east, west = Where("111111111111", "us-east-1"), Where("222222222222", "eu-west-1")
    met = threading.Barrier(2, timeout=2)

    class Meeting(FakeSqs):
        """Answers only once the other scope has asked too: scopes refreshed one after the other never meet."""

        meet = True

        def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, object]:
            if self.meet:
                met.wait()
            return super().get_queue_attributes(QueueUrl=QueueUrl, AttributeNames=AttributeNames)

    east_sqs, west_sqs = Meeting({"orders-dlq": 2}), Meeting({"orders-dlq": 5})
    denied = Problem("role", "arn:aws:iam::333333333333:role/eda", "access denied", account="333333333333")
    scopes = ScopesReader([(where, reader(scope_of(["orders-dlq"]), budget=0.5, sqs=sqs, cloudwatch=FakeCloudWatch()))
                           for where, sqs in ((east, east_sqs), (west, west_sqs))],
                          budget=0.5, failed=[denied], planned=3, now=lambda: NOW)
    gate = threading.Event()
    try:
        first = scopes.refresh()
        assert not first.stale and first.elapsed_seconds < 0.5  # they met: both asked at once
        assert [(d.account, d.region, d.visible) for d in first.dlqs] == [
            ("222222222222", "eu-west-1", 5), ("111111111111", "us-east-1", 2)]
        assert first.calls == 6  # each scope's GetQueueAttributes, GetMetricData and DescribeAlarms
        assert first.problems == (denied,) and first.partial and first.multi_scope
        assert (first.scopes, first.scopes_failed) == (("us-east-1/111111111111", "eu-west-1/222222222222"), 1)
        assert first.to_dict()["region"] is None and first.records()[0]["region"] == "eu-west-1"

        east_sqs.meet = west_sqs.meet = False
        west_sqs.slow["orders-dlq"] = gate
        west_sqs.depth["orders-dlq"] = 9
        started = time.monotonic()
        second = scopes.refresh()
        assert time.monotonic() - started < 0.5 + 0.4  # the slow scope is not waited for past the budget
        rows = {d.region: d for d in second.dlqs}
        assert rows["eu-west-1"].visible == 5 and rows["eu-west-1"].stale == ("depth",)
        assert rows["us-east-1"].stale == ()
        [slow] = [p for p in second.problems if p.service == "sqs"]
        assert (slow.account, slow.region, slow.resource) == (
            "222222222222", "eu-west-1", "GetQueueAttributes orders-dlq")
        assert [d.region for d in second.filtered("eu-west").dlqs] == ["eu-west-1"]
    finally:
        gate.set()
        scopes.close()
