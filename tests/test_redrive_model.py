"""RedriveResult.build, the one place a redrive's result is made, and the decision to raise instead of a summary."""

from __future__ import annotations

from eda_cli.core.redrive import RedriveOptions, RedrivePlan, RedriveResult, nothing_moved_error
from eda_cli.core.sqs import QueueInfo
from eda_cli.errors import AwsError, UsageError


def _result(**kwargs: object) -> RedriveResult:
    base: dict[str, object] = {"source": "orders-dlq", "targets": ["orders"], "mode": "copy", "mode_reason": "",
                               "run_id": "r", "moved": 0, "api_calls": 3, "seconds": 1.0}
    base.update(kwargs)
    return RedriveResult.build(**base)  # type: ignore[arg-type]


def test_build_orders_and_derives_the_same_way_for_every_mode() -> None:
    result = _result(failures={"b": "why b", "a": "why a"}, not_deleted_message_ids={"z": "orders", "y": "orders"},
                     moved_by_target={"q2": 1, "q1": 2}, seconds=-0.5, exception=AwsError("it broke"))
    assert result.failed_message_ids == ("a", "b")
    assert list(result.failures) == ["a", "b"]
    assert result.not_deleted_message_ids == ("y", "z")
    assert list(result.moved_by_target) == ["q1", "q2"]
    assert result.seconds == 0.0
    assert result.error == "it broke" and result.targets == ("orders",)
    assert _result(error="named by the run", exception=AwsError("it broke")).error == "named by the run"


def test_nothing_moved_error() -> None:
    dlq = QueueInfo("orders-dlq", "url", "arn:dlq")
    sources = (QueueInfo("a", "url-a", "arn:a"), QueueInfo("b", "url-b", "arn:b"))
    plan = RedrivePlan(dlq=dlq, sources=sources, to=None, mode="copy", mode_reason="", visible=2, in_flight=0,
                       run_id="r", options=RedriveOptions())
    boom = AwsError("boom")
    assert nothing_moved_error(plan, _result(exception=boom)) is boom
    assert nothing_moved_error(plan, _result(moved=1, exception=boom)) is None
    assert nothing_moved_error(plan, _result(interrupted=True, exception=boom)) is None
    assert nothing_moved_error(plan, _result(dry_run=True, exception=boom)) is None
    unroutable = nothing_moved_error(plan, _result(unroutable=2, failures={"m1": "x", "m2": "y"}))
    assert isinstance(unroutable, UsageError) and "a, b" in unroutable.message
    assert nothing_moved_error(plan, _result(unroutable=1, failures={"m1": "x", "m2": "y"})) is None


def test_the_system_attributes_a_run_asks_for() -> None:
    """A plain move to SQS queues asks only for what it uses; anything that may read every attribute (an archive
    keeps them, --filter may match them, a dry run shows them, other destinations) asks for all."""
    from dataclasses import replace

    class Anything:
        def matches(self, event: object) -> bool:
            return True

    dlq, fifo = QueueInfo("orders-dlq", "url", "arn:dlq"), QueueInfo("orders-dlq.fifo", "url", "arn:dlq.fifo")
    plan = RedrivePlan(dlq=dlq, sources=(QueueInfo("a", "url-a", "arn:a"),), to=None, mode="copy", mode_reason="",
                       visible=2, in_flight=0, run_id="r", options=RedriveOptions())
    plain = ["AWSTraceHeader", "SentTimestamp", "DeadLetterQueueSourceArn"]
    assert plan.system_attributes == plain
    assert replace(plan, dlq=fifo).system_attributes == [*plain, "MessageGroupId"]
    for options in (RedriveOptions(archive="/tmp/a.jsonl"), RedriveOptions(matcher=Anything()),
                    RedriveOptions(dry_run=True)):
        assert replace(plan, options=options).system_attributes == ["All"]
    for origin in ("eventbridge", "configured"):
        assert replace(plan, origin=origin).system_attributes == ["All"]
