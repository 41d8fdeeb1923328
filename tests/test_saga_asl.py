"""The ASL compiler: every failure point leads through the right compensations, and the definition parses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eda_cli.core.saga import asl
from eda_cli.core.saga.spec import parse_saga, read_saga, with_resolved_names
from eda_cli.errors import UsageError
from tests.fixtures.cli import Result
from tests.fixtures.saga import CHECKOUT


def _saga_text(compensated: list[bool], attempts: int = 3) -> str:
    lines = ["name: generated", "defaults:", f"  retry: {{attempts: {attempts}}}", "steps:"]
    for i, has in enumerate(compensated):
        lines += [f"  - name: s{i}", "    action:", "      call: sqs:sendMessage",
                  f"      parameters: {{QueueUrl: 'https://q/{i}', MessageBody: 'do ${{input.id}}'}}"]
        if has:
            lines += ["    compensate:", "      call: sqs:sendMessage",
                      f"      parameters: {{QueueUrl: 'https://q/{i}', MessageBody: 'undo ${{input.id}}'}}"]
    return "\n".join(lines) + "\n"


def _walk_compensations(states: dict[str, Any], start: str) -> tuple[list[str], str]:
    """Follow a compensation chain from `start`: the steps it compensates, and where it ends."""
    compensated = []
    current = start
    while current.startswith("compensate "):
        state = states[current]
        assert state["Catch"][0]["Next"] == asl.FAILED_STATE
        compensated.append(current[len("compensate "):])
        current = state["Next"]
    return compensated, current


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=8))
def test_every_failure_point_compensates_the_completed_steps_in_reverse(compensated: list[bool]) -> None:
    saga = parse_saga(_saga_text(compensated))
    states = asl.compile_saga(saga)["States"]
    for i, step in enumerate(saga.steps):
        expected = [s.name for s in reversed(saga.steps[:i]) if s.compensate is not None]
        task = states[step.name]
        # A real failure: Catch with ResultPath into the trace, then the compensation chain.
        catch = task["Catch"][0]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == f"$.trace.failed.s{i}"
        assert _walk_compensations(states, catch["Next"]) == (expected, asl.COMPENSATED_STATE)
        # An injected failure: the input-driven Choice skips the Task (so no retry) into the same chain.
        choice = states[asl.check_state(step.name)]
        assert choice["Default"] == step.name
        injected = states[choice["Choices"][0]["Next"]]
        assert injected["Type"] == "Pass" and injected["Next"] == catch["Next"]
        assert injected["Result"]["Error"] == "Saga.InjectedFailure"
    assert states[asl.COMPENSATED_STATE] == {"Type": "Fail", "Error": "Saga.Compensated",
                                            "CausePath": "States.JsonToString($.trace)"}
    assert states[asl.FAILED_STATE]["Error"] == "Saga.Failed"


def test_retry_timeout_and_result_paths() -> None:
    saga = with_resolved_names(read_saga(str(CHECKOUT)), lambda kind, name: f"https://sqs/{name}")
    states = asl.compile_saga(saga)["States"]
    reserve = states["reserve"]
    assert reserve["Resource"] == "arn:aws:states:::dynamodb:putItem"
    assert reserve["Retry"] == [{"ErrorEquals": ["DynamoDB.ProvisionedThroughputExceededException", "States.Timeout"],
                                 "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0}]
    assert reserve["TimeoutSeconds"] == 30 and reserve["ResultPath"] == "$.steps.reserve.result"
    # Every compensation is retried too (the classic hand-written bug: a compensation without Retry).
    for name in ("compensate reserve", "compensate charge"):
        assert states[name]["Retry"][0]["MaxAttempts"] == 2
    refund = states["compensate charge"]["Parameters"]
    assert refund["QueueUrl"] == "https://sqs/payments"
    assert refund["MessageBody"]["charge_message_id.$"] == "$.steps.charge.result.MessageId"
    assert reserve["Parameters"]["Item"]["amount"] == {"N.$": "States.Format('{}', $.input.amount)"}
    assert reserve["Parameters"]["Item"]["reserved_by"] == {"S.$": "$$.Execution.Name"}


def test_no_retry_block_for_a_single_attempt() -> None:
    states = asl.compile_saga(parse_saga(_saga_text([True], attempts=1)))["States"]
    assert "Retry" not in states["s0"] and "Retry" not in states["compensate s0"]


def test_text_with_quotes_and_braces_travels_as_literals() -> None:
    """Quotes, braces, backslashes and non-ASCII stay out of intrinsic functions (no escaping needed)."""
    saga = parse_saga(_saga_text([False]).replace("'do ${input.id}'", "\"it's {x} ${input.id} \\\\ é, ok\""))
    definition = asl.compile_saga(saga)
    body = definition["States"]["s0"]["Parameters"]["MessageBody.$"]
    assert body == "States.Format('{}{}{}', $.literals.l0, $.input.id, $.literals.l1)"
    assert definition["States"]["init"]["Parameters"]["literals"] == {"l0": "it's {x} ", "l1": " \\ é, ok"}


def test_hyphenated_names_use_bracket_paths() -> None:
    saga = parse_saga(_saga_text([True]).replace("s0", "reserve-stock").replace("${input.id}", "${input.order-id}"))
    states = asl.compile_saga(saga)["States"]
    assert states["reserve-stock"]["ResultPath"] == "$.steps['reserve-stock'].result"
    assert states["reserve-stock"]["Parameters"]["MessageBody.$"] == "States.Format('do {}', $.input['order-id'])"


def test_names_must_be_resolved_first() -> None:
    with pytest.raises(UsageError):
        asl.compile_saga(read_saga(str(CHECKOUT)))


def test_moto_parses_the_definition() -> None:
    """The ASL parser of moto's interpreter (ported from LocalStack) accepts what eda emits."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    saga = with_resolved_names(read_saga(str(CHECKOUT)), lambda kind, name: f"https://sqs/{name}")
    injected = asl.compile_saga(parse_saga(_saga_text([True, False, True])))
    for definition in (json.loads(asl.definition_json(saga)), injected):
        program, _ = AmazonStateLanguageParser.parse(json.dumps(definition))  # raises on what it cannot parse
        # ... and it read the machine eda meant: the same start and the same states.
        assert program.start_at.start_at_name == definition["StartAt"]
        assert set(program.states.states) == set(definition["States"])


def test_layout_round_trip_and_foreign_definitions() -> None:
    saga = parse_saga(_saga_text([True, False, True]))
    layout = asl.read_layout(asl.definition_json(saga), "fallback")
    assert layout == asl.layout_of(saga)
    assert layout.role_of("compensate s0") == ("compensation", "s0")
    assert layout.role_of("injected failure: s1") == ("injected", "s1")
    assert layout.role_of("s1") == ("action", "s1") and layout.role_of("init") is None
    with pytest.raises(UsageError):
        asl.read_layout(json.dumps({"StartAt": "x", "States": {"x": {"Type": "Succeed"}}}), "other")
    with pytest.raises(UsageError):
        asl.read_layout("not json", "other")


def test_compile_command_prints_the_asl(eda: Callable[..., Result], boto: Any) -> None:
    boto("sqs").create_queue(QueueName="payments")
    result = eda("saga", "compile", str(CHECKOUT))
    assert result.code == 0, result.stderr
    definition = json.loads(result.stdout)
    assert definition["StartAt"] == "init"
    assert definition["States"]["charge"]["Parameters"]["QueueUrl"].endswith("/payments")


def test_compile_names_a_missing_queue(eda: Callable[..., Result]) -> None:
    result = eda("saga", "compile", str(CHECKOUT))
    assert result.code == 3
    assert "queue 'payments' does not exist" in result.stderr
