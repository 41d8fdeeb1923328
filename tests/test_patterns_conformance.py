"""Conformance of eda_cli.core.patterns against AWS's documented examples and event-ruler's README.

The cases live in tests/patterns/*.json (JSON rather than YAML: YAML 1.1 reads 3.018e2 as a string).
Each group names its source and gives a pattern (dict or JSON text), an optional dialect/scope, and
either events that must match / must not match, or the PatternError it must raise.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from eda_cli.core.patterns import MISSING, CompiledPattern, PatternError, Reason, compile_pattern

DATA = Path(__file__).parent / "patterns"


def _cases() -> list[Any]:
    cases: list[Any] = []
    for file in sorted(DATA.glob("*.json")):
        for n, group in enumerate(json.loads(file.read_text(encoding="utf-8"))):
            assert group.get("source"), f"{file.name} group {n} names no source"
            base = f"{file.stem}-{n}"
            if "error" in group:
                cases.append(pytest.param(group, None, None, id=f"{base}-error"))
                continue
            assert "match" in group and "no_match" in group, f"{file.name} group {n}"
            for i, event in enumerate(group["match"]):
                cases.append(pytest.param(group, event, True, id=f"{base}-match{i}"))
            for i, event in enumerate(group["no_match"]):
                cases.append(pytest.param(group, event, False, id=f"{base}-nomatch{i}"))
    return cases


CASES = _cases()


def _compile(group: dict[str, Any]) -> CompiledPattern:
    kwargs: dict[str, Any] = {}
    if "scope" in group:
        kwargs["scope"] = group["scope"]
    return compile_pattern(group["pattern"], group.get("dialect", "eventbridge"), **kwargs)


def test_there_are_at_least_300_cases() -> None:
    assert len(CASES) >= 300


@pytest.mark.parametrize(("group", "event", "expected"), CASES)
def test_conformance(group: dict[str, Any], event: Any, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(PatternError) as info:
            _compile(group)
        assert group["error"] in info.value.problem, (group["source"], str(info.value))
        if "error_path" in group:
            assert info.value.path == group["error_path"], (group["source"], str(info.value))
        return
    compiled = _compile(group)
    assert compiled.matches(event) is expected, (group["source"], group["pattern"], event)
    # explain() agrees with matches(), and its output is JSON-ready
    reasons = compiled.explain(event)
    assert (reasons == []) is expected, reasons
    json.dumps([r.to_dict() for r in reasons])


# --------------------------------------------------------------------------------------------------
# PatternError


def test_pattern_error_is_a_value_error_with_path_and_problem() -> None:
    with pytest.raises(ValueError) as info:
        compile_pattern({"detail": {"amount": [{"numeric": [">", 10, "<=", 5]}]}})
    err = info.value
    assert isinstance(err, PatternError)
    assert err.path == "detail.amount[0].numeric"
    assert err.problem == "numeric range lower bound must be below upper bound"
    assert str(err) == (
        "invalid pattern at detail.amount[0].numeric: numeric range lower bound must be below upper bound"
    )
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.problem) == (err.path, err.problem)


def test_pattern_error_for_invalid_json_has_no_path() -> None:
    with pytest.raises(PatternError) as info:
        compile_pattern('{"source": ["a"')
    assert info.value.path == ""
    assert str(info.value).startswith("invalid pattern: invalid JSON")


def test_anything_but_list_errors_name_the_operator_and_the_member() -> None:
    cases = [
        (
            {"detail": {"state": [{"anything-but": {"prefix": ["init", ""]}}]}},
            "invalid pattern at detail.state[0].anything-but.prefix: "
            'anything-but prefix must not be empty, got "" at [1]',
        ),
        (
            {"state": ["x", {"anything-but": {"suffix": [".txt", 7]}}]},
            "invalid pattern at state[1].anything-but.suffix: "
            "anything-but suffix takes a string or a non-empty list of strings, got number at [1]",
        ),
        (
            {"state": [{"anything-but": {"wildcard": []}}]},
            "invalid pattern at state[0].anything-but.wildcard: "
            "anything-but wildcard takes a string or a non-empty list of strings, not an empty list",
        ),
    ]
    for pattern, message in cases:
        with pytest.raises(PatternError) as info:
            compile_pattern(pattern)
        assert str(info.value) == message


def test_unknown_dialect_is_a_pattern_error() -> None:
    with pytest.raises(PatternError, match="unknown dialect"):
        compile_pattern({"a": ["b"]}, "kafka")


def test_string_and_dict_patterns_compile_the_same() -> None:
    pattern = {"source": ["a"], "detail": {"n": [{"numeric": [">=", 1]}]}}
    event = {"source": "a", "detail": {"n": 1}}
    assert compile_pattern(pattern).matches(event)
    assert compile_pattern(json.dumps(pattern)).matches(event)
    assert compile_pattern(json.dumps(pattern).encode()).matches(event)  # type: ignore[arg-type]


def test_events_given_as_json_text_or_non_objects() -> None:
    compiled = compile_pattern({"source": ["a"]})
    assert compiled.matches('{"source": "a"}')
    assert not compiled.matches("not json")
    assert not compiled.matches(["a"])
    assert not compiled.matches(None)
    absent = compile_pattern({"source": [{"exists": False}]})
    assert absent.matches(None) and absent.matches("[1, 2]")


def test_compiled_pattern_repr_and_source() -> None:
    compiled = compile_pattern('{"source": ["a"]}', "sns", scope="MessageBody")
    assert compiled.source == {"source": ["a"]}
    assert compiled.dialect == "sns" and compiled.scope == "MessageBody"
    assert "sns" in repr(compiled)


def test_missing_sentinel() -> None:
    assert repr(MISSING) == "<missing>"
    assert not MISSING
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING


# --------------------------------------------------------------------------------------------------
# explain()


def _explain(pattern: Any, event: Any, dialect: str = "eventbridge", **kw: Any) -> list[dict[str, Any]]:
    return [r.to_dict() for r in compile_pattern(pattern, dialect, **kw).explain(event)]


def test_explain_is_empty_when_the_event_matches() -> None:
    assert _explain({"source": ["a"]}, {"source": "a"}) == []


def test_explain_reports_every_failing_leaf_with_path_operator_expected_actual() -> None:
    pattern = {
        "source": ["shop"],
        "detail": {
            "amount": [{"numeric": [">", 100]}],
            "state": [{"anything-but": ["cancelled"]}],
            "file": [{"suffix": ".png"}],
            "ok": ["yes"],
        },
    }
    event = {"source": "shop", "detail": {"amount": 50, "state": "cancelled", "file": "a.jpg", "ok": "yes"}}
    assert _explain(pattern, event) == [
        {"path": "detail.amount", "operator": "numeric", "expected": [{"numeric": [">", 100]}], "actual": 50},
        {
            "path": "detail.state",
            "operator": "anything-but",
            "expected": [{"anything-but": ["cancelled"]}],
            "actual": "cancelled",
        },
        {"path": "detail.file", "operator": "suffix", "expected": [{"suffix": ".png"}], "actual": "a.jpg"},
    ]


def test_explain_renders_a_missing_field_as_missing() -> None:
    reasons = compile_pattern({"detail": {"amount": [1]}}).explain({"detail": {}})
    assert reasons == [Reason("detail.amount", "equals", [1], MISSING)]
    assert reasons[0].actual is MISSING
    assert reasons[0].to_dict()["actual"] == "<missing>"


def test_explain_distinguishes_null_empty_and_missing() -> None:
    pattern = {"a": [""], "b": [None], "c": [None]}
    assert _explain(pattern, {"a": None, "b": "", "d": 1}) == [
        {"path": "a", "operator": "equals", "expected": [""], "actual": None},
        {"path": "b", "operator": "equals", "expected": [None], "actual": ""},
        {"path": "c", "operator": "equals", "expected": [None], "actual": "<missing>"},
    ]


def test_explain_exists() -> None:
    assert _explain({"a": [{"exists": True}], "b": [{"exists": False}]}, {"b": 1}) == [
        {"path": "a", "operator": "exists", "expected": [{"exists": True}], "actual": "<missing>"},
        {"path": "b", "operator": "exists", "expected": [{"exists": False}], "actual": 1},
    ]


def test_explain_object_where_a_leaf_is_expected() -> None:
    assert _explain({"a": [{"exists": True}]}, {"a": {"b": 1}}) == [
        {"path": "a", "operator": "exists", "expected": [{"exists": True}], "actual": {"b": 1}}
    ]


def test_explain_operators_of_a_mixed_leaf_are_joined() -> None:
    (reason,) = _explain({"source": ["aws.ec2", {"prefix": "com."}, "aws.s3"]}, {"source": "x"})
    assert reason["operator"] == "equals|prefix"
    assert reason["expected"] == ["aws.ec2", {"prefix": "com."}, "aws.s3"]


def test_explain_names_each_operator() -> None:
    cases = [
        ({"a": [{"equals-ignore-case": "x"}]}, "equals-ignore-case"),
        ({"a": [{"wildcard": "x*"}]}, "wildcard"),
        ({"a": [{"cidr": "10.0.0.0/8"}]}, "cidr"),
        ({"a": [{"prefix": {"equals-ignore-case": "x"}}]}, "prefix"),
    ]
    for pattern, operator in cases:
        (reason,) = _explain(pattern, {"a": "zzz"})
        assert reason["operator"] == operator
        assert reason["actual"] == "zzz"


def test_explain_anything_but_list_reports_the_pattern_as_written() -> None:
    pattern = {"detail": {"state": [{"anything-but": {"prefix": ["init", "error"]}}]}}
    assert _explain(pattern, {"detail": {"state": "error-42"}}) == [
        {
            "path": "detail.state",
            "operator": "anything-but",
            "expected": [{"anything-but": {"prefix": ["init", "error"]}}],
            "actual": "error-42",
        }
    ]
    assert _explain(pattern, {"detail": {"state": "running"}}) == []


def test_explain_or_gives_the_reasons_of_each_branch() -> None:
    pattern = {"source": ["a"], "$or": [{"x": [1]}, {"y": {"z": [{"prefix": "p"}]}}]}
    event = {"source": "a", "x": 2, "y": {"z": "q"}}
    assert _explain(pattern, event) == [
        {
            "path": "$or",
            "operator": "$or",
            "expected": [{"x": [1]}, {"y": {"z": [{"prefix": "p"}]}}],
            "actual": [
                [{"path": "x", "operator": "equals", "expected": [1], "actual": 2}],
                [{"path": "y.z", "operator": "prefix", "expected": [{"prefix": "p"}], "actual": "q"}],
            ],
        }
    ]


def test_explain_nested_or_path() -> None:
    pattern = {"detail": {"$or": [{"a": [1]}, {"b": [2]}]}}
    (reason,) = compile_pattern(pattern).explain({"detail": {"a": 0}})
    assert reason.path == "detail.$or"
    assert reason.operator == "$or"
    assert isinstance(reason.actual, tuple) and len(reason.actual) == 2
    assert reason.actual[0] == (Reason("detail.a", "equals", [1], 0),)
    assert reason.actual[1] == (Reason("detail.b", "equals", [2], MISSING),)


def test_explain_arrays_of_objects_names_the_closest_element() -> None:
    pattern = {"detail": {"items": {"sku": ["A"], "qty": [2]}}}
    event = {"detail": {"items": [{"sku": "B", "qty": 3}, {"sku": "A", "qty": 1}]}}
    assert _explain(pattern, event) == [
        {"path": "detail.items[1].qty", "operator": "equals", "expected": [2], "actual": 1}
    ]


def test_explain_non_object_where_an_object_is_expected() -> None:
    assert _explain({"detail": {"a": ["x"]}}, {"detail": "text"}) == [
        {"path": "detail.a", "operator": "equals", "expected": ["x"], "actual": "<missing>"}
    ]


def test_explain_sns_attributes_show_decoded_values() -> None:
    reasons = _explain({"price": [{"numeric": [">", 100]}]}, {"price": {"Type": "Number", "Value": "99.5"}}, "sns")
    assert reasons == [{"path": "price", "operator": "numeric", "expected": [{"numeric": [">", 100]}], "actual": 99.5}]


def test_explain_sns_body_that_is_not_a_json_object() -> None:
    (reason,) = _explain({"a": ["x"]}, "plain text", "sns", scope="MessageBody")
    assert reason["operator"] == "json"
    assert reason["actual"] == "plain text"


def test_explain_lambda_several_filters() -> None:
    criteria = {"Filters": [{"Pattern": '{"a": [1]}'}, {"Pattern": '{"b": [2]}'}]}
    assert _explain(criteria, {"a": 0}, "lambda") == [
        {
            "path": "Filters",
            "operator": "$or",
            "expected": [{"a": [1]}, {"b": [2]}],
            "actual": [
                [{"path": "a", "operator": "equals", "expected": [1], "actual": 0}],
                [{"path": "b", "operator": "equals", "expected": [2], "actual": "<missing>"}],
            ],
        }
    ]


def test_explain_lambda_single_filter_is_not_wrapped() -> None:
    criteria = {"Filters": [{"Pattern": '{"body": {"a": [1]}}'}]}
    assert _explain(criteria, {"body": '{"a": 2}'}, "lambda") == [
        {"path": "body.a", "operator": "equals", "expected": [1], "actual": 2}
    ]


def test_reason_is_frozen() -> None:
    reason = Reason("a", "equals", ["x"], "y")
    with pytest.raises(AttributeError):
        reason.path = "b"  # type: ignore[misc]
