"""The saga file: validation with file:line errors, and the template language on the local side."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eda_cli.core.saga import template as tpl
from eda_cli.core.saga.spec import SagaFileError, example_path, parse_saga, read_saga
from tests.fixtures.cli import Result, assert_one_line_error, run_cli
from tests.fixtures.saga import CHECKOUT

GOOD = """\
name: demo
steps:
  - name: reserve
    action:
      call: dynamodb:putItem
      parameters:
        TableName: orders
        Item: {order_id: {S: "${input.order_id}"}}
    compensate:
      call: dynamodb:deleteItem
      parameters:
        TableName: orders
        Key: {order_id: {S: "${input.order_id}"}}
  - name: charge
    action:
      call: sqs:sendMessage
      parameters:
        QueueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/payments
        MessageBody: {order: "${input.order_id}", reserved: "${steps.reserve.result}"}
"""


def test_the_example_is_valid_and_the_bundled_copy_is_identical() -> None:
    saga = read_saga(str(CHECKOUT))
    assert saga.name == "checkout" and saga.type == "standard"
    assert saga.step_names == ("reserve", "charge", "ship")
    assert [s.compensate is not None for s in saga.steps] == [True, True, False]
    assert example_path("checkout").read_text() == CHECKOUT.read_text()
    assert read_saga("example:checkout").steps == saga.steps


def test_defaults_and_overrides() -> None:
    saga = parse_saga(GOOD.replace("name: demo\n", "name: demo\ndefaults:\n  retry: {attempts: 5, interval: 2}\n"
                                   "  timeout: 9\n"))
    reserve = saga.steps[0].action
    assert (reserve.retry.attempts, reserve.retry.interval, reserve.retry.backoff, reserve.timeout) == (5, 2, 2.0, 9)
    assert reserve.retry.errors == ("States.ALL",)
    assert reserve.retry.delay(1) == 2 and reserve.retry.delay(3) == 8


def _error(text: str) -> SagaFileError:
    with pytest.raises(SagaFileError) as info:
        parse_saga(textwrap.dedent(text), source="s.yaml")
    return info.value


@pytest.mark.parametrize(
    ("change", "line", "fragment"),
    [
        (("name: demo", "name: demo\nstpes: []"), 2, "unknown key 'stpes' (did you mean 'steps'?)"),
        (("name: demo", "name: 'a b'"), 1, "saga name"),
        (("dynamodb:putItem", "dynamodb:putitem"), 5,
         "unknown integration 'dynamodb:putitem' (did you mean 'dynamodb:putItem'?)"),
        (("        TableName: orders\n        Item", "        Item"), 6, "needs the parameter 'TableName'"),
        (("Item: {order_id", "Itme: {order_id"), 8, "takes no parameter 'Itme'"),
        (("${input.order_id}\"}}\n    compensate", "${inptu.order_id}\"}}\n    compensate"), 8, "unknown root 'inptu'"),
        (("${steps.reserve.result}", "${steps.charge.result}"), 19, "step 'charge' has not run yet here"),
        (("${steps.reserve.result}", "${steps.reserve}"), 19, "${steps.NAME.result"),
        (("${steps.reserve.result}", "${input.items[0]}"), 19, "no array indexes"),
        (("${steps.reserve.result}", "${input.x | upper}"), 19, "unknown filter 'upper'"),
        (("${steps.reserve.result}", "${input.x"), 19, "unclosed"),
        (("  - name: charge", "  - name: reserve"), 14, "duplicate step name 'reserve'"),
        (("  - name: charge", "  - name: 2charge"), 14, "a step name starts with a letter"),
        (("    action:\n      call: sqs", "    actoin:\n      call: sqs"), 15, "unknown key 'actoin'"),
        (("QueueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/payments",
          "QueueUrl: a\n        QueueName: b"), 17, "exactly one of QueueUrl, QueueName"),
        (("QueueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/payments", "QueueName: '${input.q}'"),
         18, "QueueName must be a plain name"),
        (("MessageBody: {order", "MessageBody.$: {order"), 19, "write ${...} templates"),
        (("      call: sqs:sendMessage", "      call: sqs:sendMessage\n      retry: {attempts: 0}"), 17,
         "between 1 and 1000"),
        (("      call: sqs:sendMessage", "      call: sqs:sendMessage\n      retry: {errors: [States.ALL, X]}"), 17,
         "States.ALL must appear alone"),
        (("      call: sqs:sendMessage", "      call: sqs:sendMessage\n      retry: {backoff: 0.5}"), 17, ">= 1.0"),
        (("      call: sqs:sendMessage", "      call: sqs:sendMessage\n      timeout: 0"), 17, "between 1 and"),
        (("name: demo", "name: demo\ntype: sync"), 2, "'standard' or 'express'"),
        (("reserved: \"${steps.reserve.result}\"}", "list: [\"${input.order_id}\"]}"), 19, "list element"),
        (("name: demo", "name: demo\nname: again"), 2, "duplicate key"),
        (("        TableName: orders", "        TableName: [orders"), 8, "invalid YAML"),
        (("name: demo", "name: demo\nwhen: 2024-01-01"), 2, "dates and times must be quoted"),
    ],
)
def test_errors_name_the_file_the_line_and_the_problem(change: tuple[str, str], line: int, fragment: str) -> None:
    old, new = change
    assert old in GOOD
    error = _error(GOOD.replace(old, new, 1))
    assert error.line == line, str(error)
    assert str(error).startswith(f"s.yaml:{line}:"), str(error)
    assert fragment in str(error), str(error)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("[1, 2]", "a saga file must be a mapping"),
        ("name: x\n", "missing 'steps'"),
        ("name: x\nsteps: []\n", "non-empty list"),
        ("name: x\nsteps:\n  - name: a\n", "needs an 'action'"),
        ("name: x\nsteps:\n  - name: a\n    action: {call: sqs:sendMessage}\n", "missing 'parameters'"),
        ("name: x\nwhen: 2024-01-01\nsteps: []\n", "dates and times must be quoted"),
    ],
)
def test_structural_errors(text: str, fragment: str) -> None:
    assert fragment in str(_error(text))


def test_validate_command_reports_one_line_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("dynamodb:putItem", "dynamodb:scan"))
    result = run_cli("saga", "validate", str(bad))
    assert_one_line_error(result, 2)
    assert f"{bad}:5: steps[0].action.call: unknown integration 'dynamodb:scan'" in result.stderr
    missing = run_cli("saga", "validate", str(tmp_path / "nope.yaml"))
    assert_one_line_error(missing, 2)
    assert "no such file" in missing.stderr


def test_validate_command_json(eda: Callable[..., Result]) -> None:
    result = eda("-o", "json", "saga", "validate", str(CHECKOUT))
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["valid"] is True and doc["saga"] == "checkout"
    assert [s["compensate"] for s in doc["steps"]] == ["dynamodb:updateItem", "sqs:sendMessage", None]
    text = eda("saga", "validate", "example:checkout")
    assert text.code == 0 and "3 steps, 2 compensations: valid" in text.stdout


# -- templates --------------------------------------------------------------------------------------

DATA = {"input": {"id": "o-1", "qty": 2, "price": 1.5, "ok": True, "none": None, "obj": {"a": [1, "x"]},
                  "with-dash": "d"},
        "steps": {"reserve": {"result": {"MessageId": "m-1"}}},
        "execution": {"name": "exec-1"}}


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("${input.id}", "o-1"),
        ("${input.qty}", 2),
        ("${input.obj}", {"a": [1, "x"]}),
        ("${input.qty | string}", "2"),
        ("${input.obj | json}", '{"a":[1,"x"]}'),
        ("order ${input.id} x${input.qty} at ${input.price} ${input.ok} ${input.none}",
         "order o-1 x2 at 1.5 true null"),
        ("${input.obj} and ${input.obj | json}", '{a=[1, x]} and {"a":[1,"x"]}'),
        ("${steps.reserve.result.MessageId}/${execution.name}", "m-1/exec-1"),
        ("$${input.id} is ${input.id}", "${input.id} is o-1"),
        ("${input.with-dash}", "d"),
        ("no template", "no template"),
        ({"a": ["lit", {"b": "${input.qty}"}]}, {"a": ["lit", {"b": 2}]}),
    ],
)
def test_render(value: Any, rendered: Any) -> None:
    assert tpl.renderer(tpl.parse(value))(DATA) == rendered


def test_a_missing_value_is_a_runtime_error() -> None:
    with pytest.raises(tpl.TemplateRuntimeError) as info:
        tpl.renderer(tpl.parse({"k": "${input.nope}"}))(DATA)
    assert info.value.ref.text == "${input.nope}"
    with pytest.raises(tpl.TemplateRuntimeError):
        tpl.renderer(tpl.parse("${input.id.deeper}"))(DATA)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(_json_values)
def test_text_rendering_is_states_format_as_moto_implements_it(value: Any) -> None:
    """`${x}` inside text prints a value exactly as the Step Functions interpreter's States.Format does."""
    from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.generic.string_format import (
        StringFormat,
    )

    assert tpl.sfn_text(value) == StringFormat._to_str_repr(value)
    assert json.loads(tpl.json_text(value)) == value
