"""Property tests for eda_cli.core.patterns (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eda_cli.core.patterns import CompiledPattern, PatternError, compile_pattern

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = ["a", "b", "c", "d"]
OPERATORS = ["prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"]

# Small alphabets so that generated events often hit generated patterns.
texts = st.text(alphabet="abAB*\\.", max_size=4)
plain_texts = st.text(alphabet="abAB.", max_size=4)
ints = st.integers(min_value=-3, max_value=3)
floats = st.sampled_from([-1.5, 0.0, 0.5, 1.0, 2.0, 2.5, 1e3])
numbers = st.one_of(ints, floats)
ips = st.sampled_from(["10.0.0.1", "10.1.2.3", "192.168.0.1", "2001:db8::1", "::1", "not-an-ip"])
scalars = st.one_of(plain_texts, numbers, st.booleans(), st.none(), ips)


# --------------------------------------------------------------------------------------------------
# Valid patterns


@st.composite
def wildcards(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.text(alphabet="abA.", max_size=3), min_size=1, max_size=3))
    return "*".join(pieces).replace("**", "*")


@st.composite
def numeric_specs(draw: st.DrawFn) -> list[Any]:
    kind = draw(st.sampled_from(["eq", "lower", "upper", "range"]))
    a = draw(numbers)
    if kind == "eq":
        return ["=", a]
    if kind == "lower":
        return [draw(st.sampled_from([">", ">="])), a]
    if kind == "upper":
        return [draw(st.sampled_from(["<", "<="])), a]
    b = draw(numbers.filter(lambda x: x != a))
    lo, hi = min(a, b), max(a, b)
    return [draw(st.sampled_from([">", ">="])), lo, draw(st.sampled_from(["<", "<="])), hi]


affixes = plain_texts.filter(bool)
affix_lists = st.lists(affixes, min_size=1, max_size=3)

# The object forms of anything-but, each with one string or a list of them.
anything_but_objects = st.one_of(
    st.builds(lambda s: {"prefix": s}, st.one_of(affixes, affix_lists)),
    st.builds(lambda s: {"suffix": s}, st.one_of(affixes, affix_lists)),
    st.builds(
        lambda s: {"equals-ignore-case": s}, st.one_of(plain_texts, st.lists(plain_texts, min_size=1, max_size=3))
    ),
    st.builds(lambda s: {"wildcard": s}, st.one_of(wildcards(), st.lists(wildcards(), min_size=1, max_size=2))),
)

anything_but_specs = st.one_of(
    plain_texts,
    numbers,
    st.lists(plain_texts, min_size=1, max_size=3),
    st.lists(numbers, min_size=1, max_size=3),
    anything_but_objects,
)

leaf_elements = st.one_of(
    scalars,
    st.builds(lambda s: {"prefix": s}, plain_texts),
    st.builds(lambda s: {"suffix": s}, plain_texts),
    st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, plain_texts),
    st.builds(lambda s: {"equals-ignore-case": s}, plain_texts),
    st.builds(lambda s: {"wildcard": s}, wildcards()),
    st.builds(lambda s: {"anything-but": s}, anything_but_specs),
    st.builds(lambda s: {"numeric": s}, numeric_specs()),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.builds(lambda s: {"cidr": s}, st.sampled_from(["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"])),
)
leaves = st.lists(leaf_elements, min_size=1, max_size=3)


def _objects(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    fields = st.dictionaries(st.sampled_from(NAMES), children, min_size=1, max_size=3)

    @st.composite
    def with_or(draw: st.DrawFn) -> dict[str, Any]:
        obj = draw(fields)
        if draw(st.integers(0, 4)) == 0:
            obj["$or"] = draw(st.lists(fields, min_size=2, max_size=3))
        return obj

    return with_or()


patterns = st.recursive(leaves, _objects, max_leaves=8).filter(lambda p: isinstance(p, dict))

# --------------------------------------------------------------------------------------------------
# Events


events_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(NAMES), children, max_size=4),
    ),
    max_leaves=10,
)
events = st.dictionaries(st.sampled_from(NAMES), events_values, max_size=4)


def _add_unrelated(value: Any, extra: dict[str, Any]) -> Any:
    """The event with fields no pattern names ("zz*") added to every object in it."""
    if isinstance(value, dict):
        out = {k: _add_unrelated(v, extra) for k, v in value.items()}
        out.update(extra)
        return out
    if isinstance(value, list):
        return [_add_unrelated(v, extra) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# Properties


@SETTINGS
@given(
    values=st.one_of(st.lists(plain_texts, min_size=1, max_size=3), st.lists(numbers, min_size=1, max_size=3)),
    value=scalars,
)
def test_anything_but_values_is_the_negation_of_exact_values(values: list[Any], value: Any) -> None:
    positive = compile_pattern({"f": values})
    negative = compile_pattern({"f": [{"anything-but": values}]})
    assert positive.matches({"f": value}) != negative.matches({"f": value})


@SETTINGS
@given(spec=anything_but_objects, value=st.one_of(scalars, texts))
def test_anything_but_operator_is_the_negation_of_the_operator(spec: dict[str, Any], value: Any) -> None:
    ((name, arg),) = spec.items()
    args = arg if isinstance(arg, list) else [arg]
    positive = compile_pattern({"f": [{name: a} for a in args]})
    negative = compile_pattern({"f": [{"anything-but": spec}]})
    assert positive.matches({"f": value}) != negative.matches({"f": value})


@SETTINGS
@given(spec=anything_but_objects, value=st.one_of(scalars, texts))
def test_anything_but_list_excludes_what_any_member_excludes(spec: dict[str, Any], value: Any) -> None:
    # For one value, "matches none of the listed strings" is "not excluded by each of them alone".
    ((name, arg),) = spec.items()
    args = arg if isinstance(arg, list) else [arg]
    whole = compile_pattern({"f": [{"anything-but": spec}]}).matches({"f": value})
    singles = [compile_pattern({"f": [{"anything-but": {name: a}}]}).matches({"f": value}) for a in args]
    assert whole == all(singles)
    one_element_list = compile_pattern({"f": [{"anything-but": {name: args[:1]}}]})
    assert one_element_list.matches({"f": value}) == singles[0]


@SETTINGS
@given(spec=anything_but_objects, values=st.lists(st.one_of(scalars, texts), min_size=1, max_size=4))
def test_anything_but_on_an_array_matches_when_any_element_does(spec: dict[str, Any], values: list[Any]) -> None:
    compiled = compile_pattern({"f": [{"anything-but": spec}]})
    assert compiled.matches({"f": values}) == any(compiled.matches({"f": v}) for v in values)


@SETTINGS
@given(spec=anything_but_objects, value=st.one_of(numbers, st.booleans(), st.none()))
def test_anything_but_objects_never_exclude_non_strings(spec: dict[str, Any], value: Any) -> None:
    assert compile_pattern({"f": [{"anything-but": spec}]}).matches({"f": value})


@SETTINGS
@given(values=st.lists(plain_texts, min_size=1, max_size=3), value=scalars)
def test_anything_but_never_matches_a_missing_field(values: list[Any], value: Any) -> None:
    assert not compile_pattern({"f": [{"anything-but": values}]}).matches({"g": value})


@SETTINGS
@given(a=patterns, b=patterns, event=events)
def test_or_matches_exactly_when_a_branch_matches(a: dict[str, Any], b: dict[str, Any], event: Any) -> None:
    either = compile_pattern({"$or": [a, b]})
    expected = compile_pattern(a).matches(event) or compile_pattern(b).matches(event)
    assert either.matches(event) == expected
    assert (either.explain(event) == []) == expected


@SETTINGS
@given(a=patterns, b=patterns, event=events)
def test_or_inside_an_object(a: dict[str, Any], b: dict[str, Any], event: Any) -> None:
    nested = compile_pattern({"x": {"$or": [a, b]}})
    expected = compile_pattern({"x": a}).matches({"x": event}) or compile_pattern({"x": b}).matches({"x": event})
    assert nested.matches({"x": event}) == expected


@SETTINGS
@given(pattern=patterns, event=events, extra=st.dictionaries(st.sampled_from(["zz", "zz1", "zz.a"]), events_values))
def test_unrelated_fields_do_not_change_the_result(pattern: dict[str, Any], event: Any, extra: dict[str, Any]) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.matches(event) == compiled.matches(_add_unrelated(event, extra))


@SETTINGS
@given(pattern=patterns, event=events)
def test_explain_is_empty_exactly_when_the_event_matches(pattern: dict[str, Any], event: Any) -> None:
    compiled = compile_pattern(pattern)
    reasons = compiled.explain(event)
    assert (reasons == []) == compiled.matches(event)
    json.dumps([r.to_dict() for r in reasons])


@SETTINGS
@given(pattern=patterns, event=events)
def test_json_text_and_dict_agree(pattern: dict[str, Any], event: Any) -> None:
    assert compile_pattern(json.dumps(pattern)).matches(json.dumps(event)) == compile_pattern(pattern).matches(event)


@SETTINGS
@given(pattern=patterns, event=events)
def test_lambda_dialect_agrees_with_eventbridge_when_it_accepts_the_pattern(
    pattern: dict[str, Any], event: Any
) -> None:
    eventbridge = compile_pattern(pattern)
    try:
        as_lambda = compile_pattern({"Filters": [{"Pattern": json.dumps(pattern)}]}, "lambda")
    except PatternError:
        return
    clean = {k: v for k, v in event.items() if k not in ("body", "data")}
    assert as_lambda.matches(clean) == eventbridge.matches(clean)


@SETTINGS
@given(pattern=patterns, event=events)
def test_sns_body_agrees_with_eventbridge_when_it_accepts_the_pattern(pattern: dict[str, Any], event: Any) -> None:
    eventbridge = compile_pattern(pattern)
    try:
        sns = compile_pattern(pattern, "sns", scope="MessageBody")
    except PatternError:
        return
    assert sns.matches(event) == eventbridge.matches(event)


# --------------------------------------------------------------------------------------------------
# Fuzzing: anything goes in, only PatternError comes out


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=5)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from([*NAMES, *OPERATORS, "$or"]), st.text(max_size=3)), children, max_size=4
        ),
    ),
    max_leaves=15,
)
pattern_like = st.one_of(
    patterns,
    json_values,
    st.dictionaries(st.sampled_from([*NAMES, "$or"]), json_values, max_size=4),
    st.dictionaries(
        st.sampled_from(NAMES),
        st.lists(st.dictionaries(st.sampled_from(OPERATORS), json_values, max_size=2), max_size=3),
        max_size=3,
    ),
    # anything-but objects holding anything: strings, lists (empty, mixed, nested), numbers, objects
    st.dictionaries(
        st.sampled_from(NAMES),
        st.lists(
            st.builds(
                lambda inner: {"anything-but": inner},
                st.dictionaries(
                    st.sampled_from(["prefix", "suffix", "equals-ignore-case", "wildcard", "numeric"]),
                    st.one_of(json_values, st.lists(st.one_of(texts, json_values), max_size=4)),
                    max_size=2,
                ),
            ),
            min_size=1,
            max_size=2,
        ),
        min_size=1,
        max_size=2,
    ),
    st.text(max_size=30),
)
dialects = st.sampled_from([("eventbridge", {}), ("sns", {}), ("sns", {"scope": "MessageBody"}), ("lambda", {})])


@FUZZ
@given(pattern=pattern_like, dialect=dialects, event=st.one_of(json_values, events, st.text(max_size=20)))
def test_fuzz_only_pattern_error_escapes(pattern: Any, dialect: tuple[str, dict[str, Any]], event: Any) -> None:
    name, kwargs = dialect
    try:
        compiled = compile_pattern(pattern, name, **kwargs)
    except PatternError as e:
        assert isinstance(e.path, str) and e.problem
        return
    assert isinstance(compiled, CompiledPattern)
    result = compiled.matches(event)
    assert isinstance(result, bool)
    reasons = compiled.explain(event)
    assert (reasons == []) == result
    json.dumps([r.to_dict() for r in reasons], default=str)


@FUZZ
@given(event=st.one_of(json_values, events))
def test_fuzz_sns_wire_attributes(event: Any) -> None:
    wire = {
        k: {"Type": t, "Value": json.dumps(v) if t.endswith("Array") else str(v)}
        for (k, v), t in zip(
            (event if isinstance(event, dict) else {"a": event}).items(),
            ["String", "Number", "String.Array", "Number.Array", "Binary"],
            strict=False,
        )
    }
    compiled = compile_pattern({"a": [{"exists": True}], "b": [{"numeric": [">", 0]}, {"exists": False}]}, "sns")
    assert isinstance(compiled.matches(wire), bool)
    assert (compiled.explain(wire) == []) == compiled.matches(wire)
