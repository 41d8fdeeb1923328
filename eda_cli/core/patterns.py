"""One matching engine for EventBridge event patterns, SNS filter policies and Lambda FilterCriteria.

The engine follows AWS's documented semantics (EventBridge "content filtering", SNS "subscription filter
policies", Lambda "event filtering") and the behaviour of aws/event-ruler, the library EventBridge is
built on.  It does not reuse moto's matcher.

Usage::

    from eda_cli.core.patterns import compile_pattern

    rule = compile_pattern({"source": ["shop"], "detail": {"amount": [{"numeric": [">", 100]}]}})
    rule.matches(event)      # -> bool
    rule.explain(event)      # -> [] when it matches, else a list of Reason

A pattern is compiled once into a tree of closures; ``matches`` does no parsing or validation.

Semantics in brief (see ``compile_pattern`` for the details of each dialect):

* Keys are ANDed; the values listed for a key are ORed; ``$or`` ORs whole sub-patterns.
* A leaf (a key whose value is a list) matches when any listed value matches the event's value.
  Exact values are strings, numbers, ``true``/``false`` and ``null``; numbers compare by value
  (3, 3.0 and 300e-2 are equal, as in event-ruler), booleans are never numbers (``true`` != 1), and
  ``null``, ``""`` and a missing field are three different things.
* Arrays in the event: a leaf matches when any element matches.  Where the event holds an array of
  objects and the pattern descends into it, each element is descended into separately and the whole
  sub-pattern must match within ONE element (event-ruler's ``rulesForJSONEvent``, which EventBridge
  uses: "array-consistent" matching).  So ``{"items": {"sku": ["A"], "qty": [2]}}`` needs an element
  with sku A *and* qty 2; sku A in one element and qty 2 in another is not a match.
* ``exists`` only looks at leaves: a field whose value is an object (or an array holding only objects,
  or an empty array) is not a leaf, so ``exists: true`` does not match it and ``exists: false`` does,
  as the EventBridge docs' ``c-count`` example shows.  ``null`` is a present leaf value.
* ``anything-but`` matches a present leaf value that is not excluded; it never matches a missing field.
  Combine it with ``{"exists": false}`` in the same list to also accept absence.  A list under its
  ``prefix``, ``suffix``, ``equals-ignore-case`` or ``wildcard`` excludes a string matching any member
  (``{"anything-but": {"prefix": ["init", "error"]}}`` matches "running" but not "error-42").
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "DIALECTS",
    "MISSING",
    "SNS_SCOPES",
    "CompiledPattern",
    "PatternError",
    "Reason",
    "compile_pattern",
    "matches_every_event",
]

DIALECTS: Final = ("eventbridge", "sns", "lambda")
SNS_SCOPES: Final = ("MessageAttributes", "MessageBody")

#: SNS: at most this many keys (leaf attribute names, counted over the whole policy).
SNS_MAX_KEYS: Final = 5
#: SNS: at most this many value combinations (see ``_sns_combinations``).
SNS_MAX_COMBINATIONS: Final = 150
#: Lambda: at most this many filters in one FilterCriteria (5 by default, 10 with a quota increase).
LAMBDA_MAX_FILTERS: Final = 10

_OPERATORS: Final = frozenset(
    {"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"}
)
_NUMERIC_OPS: Final = frozenset({"<", "<=", "=", ">", ">="})


class _Missing:
    """The type of ``MISSING``: a field that is absent from the event."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<missing>"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


#: Sentinel for "the event has no such field"; ``Reason.to_dict()`` renders it as ``"<missing>"``.
MISSING: Final = _Missing()


class PatternError(ValueError):
    """An invalid pattern (or filter policy, or FilterCriteria).

    ``path`` locates the offending part inside the pattern: dotted keys, ``[i]`` for a position in a
    list and the operator name, e.g. ``detail.amount[0].numeric`` or ``$or[1].source``.  It is ``""``
    for the pattern as a whole (for instance invalid JSON).  ``problem`` says what is wrong.
    ``str(e)`` reads ``invalid pattern at detail.amount[0].numeric: numeric range lower bound must be
    below upper bound``.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(self._message())

    def _message(self) -> str:
        if self.path:
            return f"invalid pattern at {self.path}: {self.problem}"
        return f"invalid pattern: {self.problem}"

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self) -> tuple[Any, ...]:
        return (PatternError, (self.path, self.problem))


@dataclass(frozen=True)
class Reason:
    """Why one part of a pattern did not match an event.

    * ``path``: dotted path of the field in the event (``detail.amount``).  Where the pattern descended
      into an array of objects, the element is named: ``detail.items[1].sku``.  For a ``$or`` it is the
      path of the object holding the ``$or`` followed by ``$or`` (``$or`` at top level, ``detail.$or``).
    * ``operator``: ``equals``, ``prefix``, ``suffix``, ``equals-ignore-case``, ``wildcard``,
      ``anything-but``, ``numeric``, ``exists``, ``cidr`` or ``$or``.  A leaf that mixes several kinds
      joins them with ``|`` (``equals|prefix``).
    * ``expected``: the pattern's value list for that field, exactly as written
      (``[{"numeric": [">", 100]}]``).
    * ``actual``: the event's value (a scalar, a list, an object) or ``MISSING``.

    For a ``$or`` none of whose branches matched: ``expected`` is the list of branch sub-patterns as
    written and ``actual`` is a tuple with, for each branch in order, the tuple of Reasons that branch
    failed with.  ``to_dict()`` renders that as a list of lists of dicts.
    """

    path: str
    operator: str
    expected: Any
    actual: Any

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"path", "operator", "expected", "actual"}``."""
        return {
            "path": self.path,
            "operator": self.operator,
            "expected": self.expected,
            "actual": _render(self.actual),
        }


def _render(value: Any) -> Any:
    if value is MISSING:
        return "<missing>"
    if isinstance(value, Reason):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_render(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# Dialect options


@dataclass(frozen=True)
class _Options:
    dialect: str
    allow_wildcard: bool = True
    #: operators allowed inside an anything-but object
    anything_but_forms: frozenset[str] = frozenset({"prefix", "suffix", "equals-ignore-case", "wildcard"})
    #: whether anything-but prefix/suffix take a list of strings as well as one string
    anything_but_affix_lists: bool = True
    #: whether prefix/suffix accept {"equals-ignore-case": "..."}
    case_insensitive_affixes: bool = True
    allow_nested: bool = True
    #: SNS MessageAttributes: anything-but on a String.Array / Number.Array matches only when no
    #: element is excluded (instead of when any element is not excluded)
    negations_need_all: bool = False
    #: whether the empty object is a valid (match-everything) pattern
    allow_empty_root: bool = False


_EVENTBRIDGE: Final = _Options("eventbridge")
_LAMBDA: Final = _Options(
    "lambda",
    allow_wildcard=False,
    anything_but_forms=frozenset(),
)
_SNS_BODY: Final = _Options(
    "sns",
    allow_wildcard=False,
    anything_but_forms=frozenset({"prefix"}),
    anything_but_affix_lists=False,
    case_insensitive_affixes=False,
    allow_empty_root=True,
)
_SNS_ATTRIBUTES: Final = _Options(
    "sns",
    allow_wildcard=False,
    anything_but_forms=frozenset({"prefix"}),
    anything_but_affix_lists=False,
    case_insensitive_affixes=False,
    allow_nested=False,
    negations_need_all=True,
    allow_empty_root=True,
)


# --------------------------------------------------------------------------------------------------
# Compiled tree


Matcher = Callable[[Any], bool]


@dataclass
class _Leaf:
    field_path: str
    raw: list[Any]
    operator: str
    match: Matcher  # takes the event's value at this key (or MISSING)


@dataclass
class _Or:
    field_path: str
    raw: list[Any]
    branches: list[_Obj]


@dataclass
class _Obj:
    field_path: str
    fields: list[tuple[str, _Leaf | _Obj]] = field(default_factory=list)
    ors: list[_Or] = field(default_factory=list)
    match: Matcher = field(default=lambda ev: True)  # takes a dict
    field_match: Matcher = field(default=lambda v: True)  # takes the event's value at this key
    empty_ok: bool = True  # whether the object matches {} (every leaf accepts absence)


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _is_number(x: Any) -> bool:
    t = type(x)
    return t is int or t is float


def _type_name(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "boolean"
    if isinstance(x, (int, float)):
        return "number"
    if isinstance(x, str):
        return "string"
    if isinstance(x, (list, tuple)):
        return "array"
    if isinstance(x, Mapping):
        return "object"
    return type(x).__name__


# --------------------------------------------------------------------------------------------------
# Leaf compilation


class _LeafBuilder:
    """Collects the terms of one leaf list, then builds its matcher closure."""

    def __init__(self, opts: _Options) -> None:
        self.opts = opts
        self.strings: set[str] = set()
        self.numbers: set[int | float] = set()
        self.match_true = False
        self.match_false = False
        self.match_null = False
        self.exists_true = False
        self.exists_false = False
        self.preds: list[Callable[[Any], bool]] = []
        self.neg_preds: list[Callable[[Any], bool]] = []  # anything-but, when negations_need_all
        self.operators: list[str] = []

    def _op(self, name: str) -> None:
        if name not in self.operators:
            self.operators.append(name)

    def add(self, item: Any, path: str) -> None:
        if isinstance(item, bool):
            self._op("equals")
            if item:
                self.match_true = True
            else:
                self.match_false = True
        elif item is None:
            self._op("equals")
            self.match_null = True
        elif isinstance(item, str):
            self._op("equals")
            self.strings.add(item)
        elif isinstance(item, (int, float)):
            if isinstance(item, float) and not math.isfinite(item):
                raise PatternError(path, "numbers must be finite")
            self._op("equals")
            self.numbers.add(item)
        elif isinstance(item, Mapping):
            self._add_operator(item, path)
        else:
            raise PatternError(
                path,
                f"a match value must be a string, number, true, false, null or an operator object, "
                f"not {_type_name(item)}",
            )

    def _add_operator(self, spec: Mapping[Any, Any], path: str) -> None:
        if len(spec) != 1:
            if not spec:
                raise PatternError(path, "an operator object needs exactly one key, got an empty object")
            keys = sorted(map(str, spec))
            raise PatternError(path, f"an operator object takes exactly one key, got {keys}")
        ((name, arg),) = spec.items()
        if not isinstance(name, str) or name not in _OPERATORS:
            raise PatternError(path, f"unknown operator {name!r}")
        opath = f"{path}.{name}"
        self._op(name)
        if name == "exists":
            if not isinstance(arg, bool):
                raise PatternError(opath, "exists takes true or false")
            if arg:
                self.exists_true = True
            else:
                self.exists_false = True
        elif name == "prefix" or name == "suffix":
            self.preds.append(_affix_pred(name, arg, opath, self.opts))
        elif name == "equals-ignore-case":
            if not isinstance(arg, str):
                raise PatternError(opath, "equals-ignore-case takes a string")
            folded = arg.casefold()
            self.preds.append(lambda x: type(x) is str and x.casefold() == folded)
        elif name == "wildcard":
            if not self.opts.allow_wildcard:
                raise PatternError(opath, f"the wildcard operator is not supported by {self.opts.dialect}")
            if not isinstance(arg, str):
                raise PatternError(opath, "wildcard takes a string")
            rx = _wildcard_regex(arg, opath)
            fullmatch = rx.fullmatch
            self.preds.append(lambda x: type(x) is str and fullmatch(x) is not None)
        elif name == "numeric":
            self.preds.append(_numeric_pred(arg, opath))
        elif name == "cidr":
            self.preds.append(_cidr_pred(arg, opath))
        else:  # anything-but
            positive = _anything_but_excluded(arg, opath, self.opts)

            def negation(x: Any, _excluded: Callable[[Any], bool] = positive) -> bool:
                return not _excluded(x)

            if self.opts.negations_need_all:
                self.neg_preds.append(negation)
            else:
                self.preds.append(negation)

    def build(self) -> Matcher:
        strings = frozenset(self.strings)
        numbers = frozenset(self.numbers)
        match_true, match_false, match_null = self.match_true, self.match_false, self.match_null
        exists_true = self.exists_true
        absent_ok = self.exists_false
        preds = tuple(self.preds)
        neg_preds = tuple(self.neg_preds)
        only_strings = not (numbers or match_true or match_false or match_null or exists_true or preds)

        def scalar(x: Any) -> bool:
            t = type(x)
            if t is str:
                if x in strings:
                    return True
            elif t is bool:
                if match_true if x else match_false:
                    return True
            elif x is None:
                if match_null:
                    return True
            elif (t is int or t is float) and x in numbers:
                return True
            if exists_true:
                return True
            for p in preds:  # noqa: SIM110 - a plain loop is faster than any() on this hot path
                if p(x):
                    return True
            return False

        def many(values: list[Any]) -> bool:
            for x in values:
                if scalar(x):
                    return True
            return any(all(np(x) for x in values) for np in neg_preds)

        if only_strings and not neg_preds:
            # The common case, kept short: exact strings (plus maybe exists:false).
            def leaf(v: Any) -> bool:
                if type(v) is str:
                    return v in strings
                if isinstance(v, (list, tuple)):
                    values = _scalars(v)
                    if not values:
                        return absent_ok
                    for x in values:  # noqa: SIM110 - faster than any() here
                        if type(x) is str and x in strings:
                            return True
                    return False
                if v is MISSING or isinstance(v, (dict, Mapping)):
                    return absent_ok
                return False

            return leaf

        def leaf_general(v: Any) -> bool:
            t = type(v)
            if t is str or t is int or t is float or t is bool or v is None:
                return many([v]) if neg_preds else scalar(v)
            if v is MISSING:
                return absent_ok
            if isinstance(v, (list, tuple)):
                values = _scalars(v)
                if not values:
                    return absent_ok
                return many(values)
            if isinstance(v, (dict, Mapping)):
                return absent_ok
            return many([v]) if neg_preds else scalar(v)

        return leaf_general


def _scalars(v: list[Any] | tuple[Any, ...]) -> list[Any]:
    """The leaf values inside an event array (nested arrays flattened, objects skipped)."""
    out: list[Any] = []
    for x in v:
        if isinstance(x, (list, tuple)):
            out.extend(_scalars(x))
        elif not isinstance(x, Mapping):
            out.append(x)
    return out


def _dicts(v: list[Any] | tuple[Any, ...], index: tuple[int, ...] = ()) -> list[tuple[tuple[int, ...], Any]]:
    """The objects inside an event array, each with its (possibly nested) index."""
    out: list[tuple[tuple[int, ...], Any]] = []
    for i, x in enumerate(v):
        if isinstance(x, Mapping):
            out.append(((*index, i), x))
        elif isinstance(x, (list, tuple)):
            out.extend(_dicts(x, (*index, i)))
    return out


def _affix_pred(name: str, arg: Any, path: str, opts: _Options) -> Callable[[Any], bool]:
    if isinstance(arg, Mapping) and list(arg) == ["equals-ignore-case"]:
        if not opts.case_insensitive_affixes:
            raise PatternError(path, f"{name} with equals-ignore-case is not supported by {opts.dialect}")
        inner = arg["equals-ignore-case"]
        if not isinstance(inner, str):
            raise PatternError(f"{path}.equals-ignore-case", f"{name} equals-ignore-case takes a string")
        folded = inner.casefold()
        if name == "prefix":
            return lambda x: type(x) is str and x.casefold().startswith(folded)
        return lambda x: type(x) is str and x.casefold().endswith(folded)
    if not isinstance(arg, str):
        hint = ' or {"equals-ignore-case": "..."}' if opts.case_insensitive_affixes else ""
        raise PatternError(path, f"{name} takes a string{hint}")
    if name == "prefix":
        return lambda x: type(x) is str and x.startswith(arg)
    return lambda x: type(x) is str and x.endswith(arg)


def _wildcard_regex(text: str, path: str) -> re.Pattern[str]:
    parts: list[str] = []
    previous_star = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in "*\\":
                raise PatternError(path, "in a wildcard, a backslash may only escape '*' or '\\'")
            parts.append(re.escape(text[i + 1]))
            previous_star = False
            i += 2
            continue
        if ch == "*":
            if previous_star:
                raise PatternError(path, "consecutive wildcard characters ('**') are not allowed")
            parts.append(".*")
            previous_star = True
        else:
            parts.append(re.escape(ch))
            previous_star = False
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def _check_number(value: Any, path: str, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PatternError(path, f"{what} must be a number, not {_type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise PatternError(path, f"{what} must be a finite number")
    return value


def _numeric_pred(spec: Any, path: str) -> Callable[[Any], bool]:
    if not isinstance(spec, list) or not spec:
        raise PatternError(path, 'numeric takes a non-empty list such as [">", 0, "<=", 5]')
    pairs: list[tuple[str, int | float]] = []
    for i in range(0, len(spec), 2):
        op = spec[i]
        if not isinstance(op, str):
            raise PatternError(path, f"numeric operators must be strings, got {_type_name(op)} at [{i}]")
        if op not in _NUMERIC_OPS:
            raise PatternError(path, f"unknown numeric operator {op!r} (use <, <=, =, >, >=)")
        if i + 1 >= len(spec):
            raise PatternError(path, f"numeric operator {op!r} has no value")
        pairs.append((op, _check_number(spec[i + 1], path, f"the value of numeric {op!r}")))
    if len(pairs) > 2:
        raise PatternError(path, "numeric takes at most a lower and an upper bound")
    if len(pairs) == 2:
        (lo_op, lo), (hi_op, hi) = pairs
        if "=" in (lo_op, hi_op):
            raise PatternError(path, "numeric '=' cannot be combined with another operator")
        if lo_op not in (">", ">=") or hi_op not in ("<", "<="):
            raise PatternError(path, "a numeric range is a lower bound ('>' or '>=') then an upper bound ('<' or '<=')")
        if not lo < hi:
            raise PatternError(path, "numeric range lower bound must be below upper bound")
        if lo_op == ">":
            if hi_op == "<":
                return lambda x: (type(x) is int or type(x) is float) and lo < x < hi
            return lambda x: (type(x) is int or type(x) is float) and lo < x <= hi
        if hi_op == "<":
            return lambda x: (type(x) is int or type(x) is float) and lo <= x < hi
        return lambda x: (type(x) is int or type(x) is float) and lo <= x <= hi
    op, n = pairs[0]
    if op == "=":
        return lambda x: (type(x) is int or type(x) is float) and x == n
    if op == ">":
        return lambda x: (type(x) is int or type(x) is float) and x > n
    if op == ">=":
        return lambda x: (type(x) is int or type(x) is float) and x >= n
    if op == "<":
        return lambda x: (type(x) is int or type(x) is float) and x < n
    return lambda x: (type(x) is int or type(x) is float) and x <= n


def _cidr_pred(arg: Any, path: str) -> Callable[[Any], bool]:
    if not isinstance(arg, str):
        raise PatternError(path, 'cidr takes a string such as "10.0.0.0/24"')
    if arg.count("/") != 1:
        raise PatternError(path, f"malformed CIDR {arg!r}: one '/' is required")
    bits = arg.split("/")[1]
    if not bits.isdigit():
        raise PatternError(path, f"malformed CIDR {arg!r}: the mask must be a number of bits")
    try:
        network = ipaddress.ip_network(arg, strict=False)
    except ValueError as e:
        raise PatternError(path, f"malformed CIDR {arg!r}: {e}") from None

    def pred(x: Any) -> bool:
        if type(x) is not str:
            return False
        try:
            return ipaddress.ip_address(x) in network
        except ValueError:
            return False

    return pred


def _anything_but_excluded(arg: Any, path: str, opts: _Options) -> Callable[[Any], bool]:
    """The predicate for values an anything-but excludes."""
    if isinstance(arg, Mapping):
        if len(arg) != 1:
            raise PatternError(path, "an anything-but object takes exactly one key")
        ((name, inner),) = arg.items()
        ipath = f"{path}.{name}"
        if name not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            raise PatternError(ipath, f"unsupported anything-but operator {name!r}")
        if name not in opts.anything_but_forms:
            raise PatternError(ipath, f"anything-but with {name} is not supported by {opts.dialect}")
        values = _anything_but_strings(name, inner, ipath, opts)
        # Non-strings are never excluded by these forms, so anything-but matches them (as in event-ruler,
        # where a number, true, false or null never starts or ends like a quoted string).
        if name == "prefix" or name == "suffix":
            # startswith/endswith take a tuple: one C call however many affixes are listed.
            affixes: str | tuple[str, ...] = values[0] if len(values) == 1 else tuple(values)
            if name == "prefix":
                return lambda x: type(x) is str and x.startswith(affixes)
            return lambda x: type(x) is str and x.endswith(affixes)
        if name == "equals-ignore-case":
            folded = frozenset(v.casefold() for v in values)
            return lambda x: type(x) is str and x.casefold() in folded
        sources: list[str] = []
        for i, v in enumerate(values):
            try:
                sources.append(_wildcard_regex(v, ipath).pattern)
            except PatternError as e:
                if not isinstance(inner, list):
                    raise
                raise PatternError(ipath, f"{e.problem} (at [{i}])") from None
        # One alternation: a single fullmatch call per value instead of one per listed wildcard.
        fullmatch = re.compile("|".join(f"(?:{src})" for src in sources), re.DOTALL).fullmatch
        return lambda x: type(x) is str and fullmatch(x) is not None
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise PatternError(path, "anything-but takes a string, a number or a non-empty list of them")
    strings: set[str] = set()
    numbers: set[int | float] = set()
    for v in values:
        if isinstance(v, str):
            strings.add(v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            numbers.add(_check_number(v, path, "an anything-but value"))
        else:
            raise PatternError(path, f"anything-but values must be strings or numbers, not {_type_name(v)}")
    if strings and numbers:
        raise PatternError(path, "an anything-but list must hold only strings or only numbers")
    if strings:
        frozen_s = frozenset(strings)
        return lambda x: type(x) is str and x in frozen_s
    frozen_n = frozenset(numbers)
    return lambda x: (type(x) is int or type(x) is float) and x in frozen_n


def _anything_but_strings(name: str, inner: Any, path: str, opts: _Options) -> list[str]:
    """The strings of an anything-but ``{name: s | [s, ...]}``.

    As in event-ruler's JsonRuleCompiler, list members must be strings and a prefix or suffix must not
    be the empty string (an empty equals-ignore-case or wildcard string is allowed).  An empty list is
    rejected, as empty lists are everywhere else in a pattern.
    """
    affix = name == "prefix" or name == "suffix"
    lists_ok = not affix or opts.anything_but_affix_lists
    what = "a string or a non-empty list of strings" if lists_ok else "a string"
    if isinstance(inner, str):
        values = [inner]
    elif isinstance(inner, list) and lists_ok:
        values = inner
    elif isinstance(inner, list):
        raise PatternError(path, f"anything-but {name} takes a string: a list is not supported by {opts.dialect}")
    else:
        raise PatternError(path, f"anything-but {name} takes {what}, not {_type_name(inner)}")
    if not values:
        raise PatternError(path, f"anything-but {name} takes {what}, not an empty list")
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise PatternError(path, f"anything-but {name} takes {what}, got {_type_name(v)} at [{i}]")
        if affix and not v:
            where = f', got "" at [{i}]' if isinstance(inner, list) else ""
            raise PatternError(path, f"anything-but {name} must not be empty{where}")
    return values


# --------------------------------------------------------------------------------------------------
# Object compilation


def _is_or_list(value: Any) -> bool:
    """Whether a "$or" value is an OR (event-ruler's rule); otherwise "$or" is an ordinary field name."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(b, Mapping) for b in value)
        and not any(k in _OPERATORS for b in value for k in b)
    )


def _compile_obj(raw: Mapping[Any, Any], pattern_path: str, field_path: str, opts: _Options) -> _Obj:
    if not raw:
        raise PatternError(pattern_path, "empty objects are not allowed")
    node = _Obj(field_path)
    for key, value in raw.items():
        if not isinstance(key, str):
            raise PatternError(pattern_path, f"keys must be strings, got {_type_name(key)}")
        ppath = _join(pattern_path, key)
        fpath = _join(field_path, key)
        if key == "$or" and _is_or_list(value):
            if len(value) < 2:
                raise PatternError(ppath, "$or needs a list of at least 2 sub-patterns")
            branches = [_compile_obj(branch, f"{ppath}[{i}]", field_path, opts) for i, branch in enumerate(value)]
            node.ors.append(_Or(fpath, list(value), branches))
        elif isinstance(value, list):
            if not value:
                raise PatternError(ppath, "empty arrays are not allowed: list at least one value")
            builder = _LeafBuilder(opts)
            for i, item in enumerate(value):
                builder.add(item, f"{ppath}[{i}]")
            node.fields.append((key, _Leaf(fpath, list(value), "|".join(builder.operators), builder.build())))
        elif isinstance(value, Mapping):
            if not opts.allow_nested:
                raise PatternError(
                    ppath, "nested filter policies are not supported with FilterPolicyScope MessageAttributes"
                )
            node.fields.append((key, _compile_obj(value, ppath, fpath, opts)))
        else:
            raise PatternError(ppath, f"a pattern value must be a list of values or an object, not {_type_name(value)}")
    _finish_obj(node)
    return node


def _finish_obj(node: _Obj) -> None:
    """Build the closures of an object node (its children are already built)."""
    fields = tuple((key, child.match if isinstance(child, _Leaf) else child.field_match) for key, child in node.fields)
    groups = tuple(tuple(b.match for b in o.branches) for o in node.ors)

    if not groups and len(fields) == 1:
        ((k0, f0),) = fields

        def match(ev: Any) -> bool:
            return f0(ev.get(k0, MISSING))

    elif not groups:

        def match(ev: Any) -> bool:
            get = ev.get
            for k, f in fields:  # noqa: SIM110 - a plain loop is faster than all() on this hot path
                if not f(get(k, MISSING)):
                    return False
            return True

    else:

        def match(ev: Any) -> bool:
            get = ev.get
            for k, f in fields:
                if not f(get(k, MISSING)):
                    return False
            for group in groups:
                for branch in group:
                    if branch(ev):
                        break
                else:
                    return False
            return True

    empty_ok = match({})
    sub = match

    def field_match(v: Any) -> bool:
        if type(v) is dict:
            return sub(v)
        if isinstance(v, (list, tuple)):
            found = False
            for x in _iter_dicts(v):
                if sub(x):
                    return True
                found = True
            return False if found else empty_ok
        if v is not MISSING and isinstance(v, Mapping):
            return sub(v)
        return empty_ok

    node.match = match
    node.field_match = field_match
    node.empty_ok = empty_ok


def _iter_dicts(v: list[Any] | tuple[Any, ...]) -> Any:
    for x in v:
        if isinstance(x, Mapping):
            yield x
        elif isinstance(x, (list, tuple)):
            yield from _iter_dicts(x)


# --------------------------------------------------------------------------------------------------
# Explain


def _explain_obj(node: _Obj, ev: Mapping[str, Any], event_path: str) -> list[Reason]:
    reasons: list[Reason] = []
    for key, child in node.fields:
        v = ev.get(key, MISSING)
        path = _join(event_path, key)
        if isinstance(child, _Leaf):
            if not child.match(v):
                reasons.append(Reason(path, child.operator, child.raw, v))
        elif not child.field_match(v):
            reasons.extend(_explain_field(child, v, path))
    for group in node.ors:
        if not any(b.match(ev) for b in group.branches):
            reasons.append(
                Reason(
                    _join(event_path, "$or"),
                    "$or",
                    group.raw,
                    tuple(tuple(_explain_obj(b, ev, event_path)) for b in group.branches),
                )
            )
    return reasons


def _explain_field(node: _Obj, v: Any, path: str) -> list[Reason]:
    if isinstance(v, Mapping):
        return _explain_obj(node, v, path)
    if isinstance(v, (list, tuple)):
        elements = _dicts(v)
        if elements:
            best: list[Reason] | None = None
            for index, element in elements:
                suffix = "".join(f"[{i}]" for i in index)
                reasons = _explain_obj(node, element, path + suffix)
                if best is None or len(reasons) < len(best):
                    best = reasons
            return best or []
    return _explain_obj(node, {}, path)


# --------------------------------------------------------------------------------------------------
# Event preparation per dialect


def _parse_json_object(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return MISSING


def _json_dict(event: Any, otherwise: Any) -> Any:
    """`event` as a dict: a dict, a mapping, or a JSON text (str or bytes) of an object; else `otherwise`."""
    if isinstance(event, dict):
        return event
    if isinstance(event, Mapping):
        return dict(event)
    if isinstance(event, (str, bytes, bytearray)):
        parsed = _parse_json_object(event.decode("utf-8", "replace") if not isinstance(event, str) else event)
        if isinstance(parsed, dict):
            return parsed
    return otherwise


def _as_event_dict(event: Any) -> Any:
    """EventBridge: a dict, or a JSON string of one; anything else has no fields."""
    return _json_dict(event, {})


def _sns_attribute(value: Any) -> Any:
    """One SNS message attribute, simple or in wire form, as the value filter policies see."""
    if not isinstance(value, Mapping):
        return value
    data_type = value.get("Type", value.get("DataType"))
    if not isinstance(data_type, str) or not any(k in value for k in ("Value", "StringValue", "BinaryValue")):
        return value
    raw = value.get("Value", value.get("StringValue"))
    base = data_type.split(".", 1)[0]
    if data_type in ("String.Array", "Number.Array"):
        if isinstance(raw, str):
            parsed = _parse_json_object(raw)
            if isinstance(parsed, list):
                return parsed
        return raw if raw is not None else MISSING
    if base == "Binary":
        return MISSING  # SNS ignores Binary attributes
    if base == "Number" and isinstance(raw, str):
        parsed = _parse_json_object(raw.strip())
        if _is_number(parsed):
            return parsed
        return raw
    return raw if raw is not None else MISSING


def _sns_attributes(event: Any) -> dict[str, Any]:
    if isinstance(event, (str, bytes, bytearray)):
        event = _as_event_dict(event)
    if not isinstance(event, Mapping):
        return {}
    out: dict[str, Any] = {}
    for key, value in event.items():
        converted = _sns_attribute(value)
        if converted is not MISSING:
            out[key] = converted
    return out


def _sns_body(event: Any) -> Any:
    """SNS MessageBody: the body must be a JSON object; returns MISSING when it is not."""
    return _json_dict(event, MISSING)


_LAMBDA_DATA_KEYS: Final = ("body", "data")


def _lambda_record(event: Any) -> Any:
    """Lambda: the record as a dict, with a JSON ``body`` (SQS) or ``data`` (Kinesis) string parsed."""
    ev = _as_event_dict(event)
    parsed: dict[str, Any] | None = None
    for key in _LAMBDA_DATA_KEYS:
        value = ev.get(key)
        if isinstance(value, str):
            decoded = _parse_json_object(value)
            if isinstance(decoded, (dict, list)):
                if parsed is None:
                    parsed = dict(ev)
                parsed[key] = decoded
    return parsed if parsed is not None else ev


# --------------------------------------------------------------------------------------------------
# Public API


class CompiledPattern:
    """A compiled pattern. Build it with ``compile_pattern``; it is immutable and thread-safe."""

    __slots__ = ("_fallback", "_fn", "_prepare", "_roots", "dialect", "scope", "source")

    def __init__(
        self,
        roots: list[_Obj | None],
        source: Any,
        dialect: str,
        scope: str | None,
        prepare: Callable[[Any], Any],
    ) -> None:
        self._roots = roots
        #: The pattern as given (parsed from JSON when a string was given).
        self.source = source
        self.dialect = dialect
        self.scope = scope
        self._prepare = prepare
        self._fn, self._fallback = _build_entry(roots, prepare, dialect == "eventbridge")

    def __repr__(self) -> str:
        scope = f", scope={self.scope!r}" if self.scope else ""
        text = json.dumps(self.source, sort_keys=True, default=str)[:200]
        return f"CompiledPattern({text}, dialect={self.dialect!r}{scope})"

    def matches(self, event: Any) -> bool:
        """Whether the event matches.

        ``event`` is the parsed JSON event (a dict); a JSON string is parsed first.  For ``sns`` with
        scope ``MessageAttributes`` it is the dict of message attributes (simple values or SNS wire form
        ``{"Type": ..., "Value": ...}``); with scope ``MessageBody`` the message body (dict or JSON
        string).  For ``lambda`` it is the record (SQS ``body`` / Kinesis ``data`` strings holding JSON
        are parsed).  Never raises for any JSON-like input.
        """
        try:
            return self._fn(event)
        except AttributeError:  # not a mapping: the fast path calls event.get directly
            return self._fallback(event)

    def explain(self, event: Any) -> list[Reason]:
        """Why the event does not match: ``[]`` when it matches, else one Reason per failing part.

        Every failing field is reported (not just the first).  For a ``lambda`` pattern with several
        filters, the result is one ``$or`` Reason at path ``Filters`` whose ``actual`` holds each
        filter's reasons.
        """
        if any(root is None for root in self._roots):
            return []
        ev = self._prepare(event)
        if ev is MISSING:
            return [Reason("", "json", "a JSON object", event)]
        per_root: list[list[Reason]] = []
        for root in self._roots:
            if root is None:
                return []
            reasons = _explain_obj(root, ev, "")
            if not reasons:
                return []
            per_root.append(reasons)
        if len(per_root) == 1:
            return per_root[0]
        return [Reason("Filters", "$or", self.source, tuple(tuple(r) for r in per_root))]


def _build_entry(roots: list[_Obj | None], prepare: Callable[[Any], Any], plain: bool) -> tuple[Matcher, Matcher]:
    """The function ``matches`` calls, and the one it falls back to when that raises AttributeError.

    For a plain (EventBridge) pattern the first is the root object's matcher itself, which calls
    ``event.get``: a non-mapping event raises AttributeError there and is retried through
    ``_as_event_dict`` (JSON text is parsed, anything else has no fields).
    """
    if any(r is None for r in roots):
        always: Matcher = lambda event: True  # noqa: E731
        return always, always
    fns = tuple(r.match for r in roots if r is not None)
    if plain and len(fns) == 1:
        (fn,) = fns
        return fn, lambda event: fn(_as_event_dict(event))

    def entry(event: Any) -> bool:
        ev = prepare(event)
        if ev is MISSING:
            return False
        return any(f(ev) for f in fns)

    return entry, entry


def _load(pattern: Any, path: str = "") -> Any:
    if isinstance(pattern, (bytes, bytearray)):
        pattern = pattern.decode("utf-8", "replace")
    if isinstance(pattern, str):
        try:
            return json.loads(pattern, parse_constant=_reject_constant)
        except PatternError:
            raise
        except json.JSONDecodeError as e:
            raise PatternError(path, f"invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
        except (ValueError, RecursionError) as e:
            raise PatternError(path, f"invalid JSON: {e}") from None
    return pattern


def _reject_constant(name: str) -> Any:
    raise PatternError("", f"invalid JSON: {name} is not a JSON number")


def _compile_root(raw: Any, path: str, opts: _Options) -> _Obj | None:
    if not isinstance(raw, Mapping):
        raise PatternError(path, f"a pattern must be a JSON object, not {_type_name(raw)}")
    if not raw and opts.allow_empty_root:
        return None
    return _compile_obj(raw, path, "", opts)


def _sns_checks(raw: Mapping[str, Any]) -> None:
    keys: set[str] = set()
    _sns_collect_keys(raw, "", keys)
    if len(keys) > SNS_MAX_KEYS:
        raise PatternError(
            "",
            f"an SNS filter policy can have at most {SNS_MAX_KEYS} keys, this one has {len(keys)}: "
            f"{', '.join(sorted(keys))}",
        )
    combinations = _sns_combinations(raw, 1, 1)
    if combinations > SNS_MAX_COMBINATIONS:
        raise PatternError(
            "",
            f"an SNS filter policy can have at most {SNS_MAX_COMBINATIONS} value combinations, "
            f"this one has {combinations}",
        )


def _sns_collect_keys(raw: Mapping[str, Any], parent: str, keys: set[str]) -> None:
    for key, value in raw.items():
        if key == "$or" and _is_or_list(value):
            for branch in value:
                _sns_collect_keys(branch, parent, keys)
        elif isinstance(value, Mapping):
            _sns_collect_keys(value, _join(parent, key), keys)
        else:
            keys.add(_join(parent, key))


def _sns_combinations(raw: Mapping[str, Any], depth: int, running: int) -> int:
    """SNS's complexity measure, as its docs compute it.

    Walking the keys in order, a leaf multiplies the running total by (number of values x nesting depth
    of the key, 1 at top level); a ``$or`` replaces it by the sum of its branches' totals, each branch
    starting from the running total.  ``{"a": [1, 2, 3], "b": [1], "c": [1, 2]}`` is 6; the docs'
    nested example ``{"key_a": {"key_b": {"key_c": [4 values]}}, "key_d": {"key_e": [3 values]}}`` is
    (4 x 3) x (3 x 2) = 72.
    """
    for key, value in raw.items():
        if key == "$or" and _is_or_list(value):
            running = sum(_sns_combinations(branch, depth, running) for branch in value)
        elif isinstance(value, Mapping):
            running = _sns_combinations(value, depth + 1, running)
        elif isinstance(value, list):
            running *= len(value) * depth
    return running


def _lambda_patterns(loaded: Any) -> tuple[list[tuple[Any, str]], Any]:
    """The individual patterns of a Lambda FilterCriteria / list of patterns / bare pattern."""
    if isinstance(loaded, list):
        items = [(_load(p, f"[{i}]"), f"[{i}]") for i, p in enumerate(loaded)]
        return items, [p for p, _ in items]
    if isinstance(loaded, Mapping) and set(loaded) == {"Filters"} and isinstance(loaded["Filters"], list):
        filters = loaded["Filters"]
        items = []
        for i, f in enumerate(filters):
            fpath = f"Filters[{i}]"
            if not isinstance(f, Mapping) or "Pattern" not in f:
                raise PatternError(fpath, 'each filter must be an object with a "Pattern"')
            extra = sorted(str(k) for k in f if k != "Pattern")
            if extra:
                raise PatternError(fpath, f"unknown filter keys {extra}")
            items.append((_load(f["Pattern"], f"{fpath}.Pattern"), f"{fpath}.Pattern"))
        return items, [p for p, _ in items]
    return [(loaded, "")], loaded


def compile_pattern(
    pattern: dict[str, Any] | list[Any] | str,
    dialect: str = "eventbridge",
    *,
    scope: str = "MessageAttributes",
) -> CompiledPattern:
    """Compile an event pattern, SNS filter policy or Lambda FilterCriteria.

    ``pattern`` is a dict or its JSON text (for ``lambda`` also a list of patterns).  Raises
    ``PatternError`` for invalid JSON or an invalid pattern; nothing else.

    Dialects:

    * ``eventbridge`` (default): an EventBridge event pattern.  Operators: exact values, ``prefix`` and
      ``suffix`` (a string, or ``{"equals-ignore-case": "..."}``), ``equals-ignore-case``, ``wildcard``
      (``*`` is any run of characters, ``\\*`` and ``\\\\`` escape, ``**`` is invalid), ``anything-but``
      (a string, a number, a list of only strings or only numbers, or an object ``{"prefix": s | [s...]}``,
      ``{"suffix": s | [s...]}``, ``{"equals-ignore-case": s | [s...]}``, ``{"wildcard": s | [s...]}``;
      an object excludes the strings that match ANY of its listed values, and never excludes a number,
      boolean or null), ``numeric`` (``["=", n]``, one bound, or a lower then an upper bound with
      lower < upper), ``exists`` (true/false), ``cidr`` (IPv4 or IPv6) and ``$or`` (a list of at
      least 2 sub-patterns; a ``"$or"`` whose value is not such a list is an ordinary field name, as in
      event-ruler).  Empty objects and empty lists are invalid.
    * ``sns``: an SNS subscription filter policy; ``scope`` is ``"MessageAttributes"`` (default, the
      event is the message-attribute dict; nesting is not allowed) or ``"MessageBody"`` (the event is
      the JSON body; nesting allowed).  As EventBridge but: no ``wildcard``; ``anything-but`` takes
      values or ``{"prefix": s}`` only (one string, as the SNS docs show it); ``prefix``/``suffix``
      take plain strings.  Limits: at most 5 keys (distinct leaf keys over the whole policy, ``$or``
      branches included) and at most 150 value combinations (as the SNS docs count them: the product
      over leaves of the number of values times the key's nesting depth, the branches of a ``$or``
      added up).  ``{}`` matches every message.  With scope MessageAttributes, ``anything-but`` on a
      String.Array/Number.Array attribute matches only when no element is excluded, per the current
      SNS docs.
    * ``lambda``: a Lambda event-source-mapping filter: a bare pattern, a list of patterns, or a whole
      FilterCriteria ``{"Filters": [{"Pattern": "<json>"}, ...]}``; filters are ORed.  As EventBridge
      but, like EventBridge Pipes: no ``wildcard`` and ``anything-but`` takes values only.  Data keys
      are ``body`` (SQS), ``dynamodb`` (DynamoDB streams) and ``data`` (Kinesis); a string ``body`` or
      ``data`` in the record that parses as a JSON object or array is matched as JSON.  ``{}`` and
      ``{"Filters": []}`` match every record.
    """
    if dialect not in DIALECTS:
        raise PatternError("", f"unknown dialect {dialect!r} (use one of {', '.join(DIALECTS)})")
    try:
        return _compile(pattern, dialect, scope)
    except RecursionError:
        raise PatternError("", "the pattern is nested too deeply") from None


def _compile(pattern: Any, dialect: str, scope: str) -> CompiledPattern:
    loaded = _load(pattern)
    if dialect == "eventbridge":
        root = _compile_root(loaded, "", _EVENTBRIDGE)
        return CompiledPattern([root], loaded, dialect, None, _as_event_dict)
    if dialect == "sns":
        if scope not in SNS_SCOPES:
            raise PatternError("", f"unknown SNS scope {scope!r} (use {' or '.join(SNS_SCOPES)})")
        opts = _SNS_ATTRIBUTES if scope == "MessageAttributes" else _SNS_BODY
        root = _compile_root(loaded, "", opts)
        if root is not None:
            _sns_checks(loaded)
        prepare = _sns_attributes if scope == "MessageAttributes" else _sns_body
        return CompiledPattern([root], loaded, dialect, scope, prepare)
    # lambda
    items, source = _lambda_patterns(loaded)
    if len(items) > LAMBDA_MAX_FILTERS:
        raise PatternError("Filters", f"a FilterCriteria can hold at most {LAMBDA_MAX_FILTERS} filters")
    if not items or (len(items) == 1 and isinstance(items[0][0], Mapping) and not items[0][0]):
        return CompiledPattern([None], source, dialect, None, _lambda_record)
    roots = [_compile_root(raw, path, _LAMBDA) for raw, path in items]
    return CompiledPattern(roots, source, dialect, None, _lambda_record)


# -- does a pattern select anything? (used by `eda audit`) ---------------------------------------------

_PROBE_ENVELOPE = ("version", "id", "detail-type", "source", "account", "time", "region", "resources")


def _probe_paths(pattern: Any, prefix: str = "") -> dict[str, list[Any]]:
    """Every field path a pattern mentions, with the literal values found under it."""
    paths: dict[str, list[Any]] = {}
    if not isinstance(pattern, Mapping):
        return paths
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list):
            for branch in value:
                for path, literals in _probe_paths(branch, prefix).items():
                    paths.setdefault(path, []).extend(literals)
            continue
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            for sub, literals in _probe_paths(value, f"{path}.").items():
                paths.setdefault(sub, []).extend(literals)
        elif isinstance(value, list):
            literals = paths.setdefault(path, [])
            for item in value:
                if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                    literals.append(item)
                elif isinstance(item, Mapping):
                    for arg in item.values():
                        for v in arg if isinstance(arg, list) else [arg]:
                            if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                                literals.append(v)
                            elif isinstance(v, Mapping):
                                literals.extend(x for x in v.values() if isinstance(x, (str, int, float)))
    return paths


def _probe(values: Mapping[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {"version": "0", "id": "eda-probe-id", "detail-type": "eda.probe.type",
                             "source": "eda.probe.source", "account": "000000000000",
                             "time": "2000-01-01T00:00:00Z", "region": "eda-probe-1", "resources": [],
                             "detail": {}}
    for path, value in values.items():
        node = event
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = [value] if parts[0] == "resources" else value
    return event


def matches_every_event(pattern: Mapping[str, Any]) -> bool:
    """Whether a (valid) EventBridge pattern matches every event, judged on probe events.

    The probes: an event without any of the pattern's fields (envelope fields always present, as
    in a real event), one where every field the pattern names holds a string nobody would match,
    one where they hold a number, and for each literal in the pattern one where that field holds
    that literal. A pattern that matches all of them does not select anything.
    """
    compiled = compile_pattern(dict(pattern), "eventbridge")
    paths = _probe_paths(pattern)
    strings = {p: "eda-probe-\u2400" for p in paths}
    numbers = {p: (-987654.321 if p.split(".")[0] not in _PROBE_ENVELOPE else "eda-probe-\u2400") for p in paths}
    probes = [_probe({}), _probe(strings), _probe(numbers)]
    for path, literals in paths.items():
        for literal in literals:
            probes.append(_probe({**strings, path: literal}))
    return all(compiled.matches(probe) for probe in probes)
