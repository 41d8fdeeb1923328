"""Templated parameters: `${input.order_id}`, `${steps.charge.result.MessageId}`, `${execution.name}`.

One syntax, two back ends with the same meaning:

- the local engine renders a template against the saga's data (`render`);
- the ASL compiler turns it into Step Functions paths and intrinsic functions (`to_asl`).

Rules (docs/saga-file.md repeats them):

- A string that is exactly one `${...}` takes the referenced value with its JSON type (an object
  stays an object, a number a number). Anything else is text: every `${...}` in it is replaced by
  the value as Step Functions' `States.Format` prints it (a string as is, a number or boolean as
  JSON, an object as `{k=v, ...}`).
- Filters: `${input.qty | string}` forces text, `${input.order | json}` gives JSON text.
- `$${` is a literal `${`.
- Paths name object fields only, letters, digits, `_` and `-` (no array indexes: moto's
  interpreter and AWS disagree on them).
- Referencing a value that is not there is a runtime error (`States.Runtime`): as on Step
  Functions, the saga stops at once, without compensating.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

ROOTS = ("input", "steps", "execution")
FILTERS = ("string", "json")

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Characters that may appear inside an intrinsic function's string literal without escaping.
#: (moto's interpreter does not understand the escapes AWS defines, so eda never needs them.)
_SAFE_LITERAL = re.compile(r"^[ !\"#$%&()*+,\-./0-9:;<=>?@A-Z\[\]^_`a-z|~]*$")


class TemplateError(ValueError):
    """A template that cannot be compiled; `.path` is where inside the value it is."""

    def __init__(self, problem: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path = path


class TemplateRuntimeError(Exception):
    """A template referenced a value that the saga's data does not hold."""

    def __init__(self, ref: Ref, reason: str) -> None:
        super().__init__(f"{ref.text}: {reason}")
        self.ref = ref
        self.reason = reason


@dataclass(frozen=True)
class Ref:
    root: str
    path: tuple[str, ...]
    filter: str | None
    text: str

    @property
    def dotted(self) -> str:
        return ".".join((self.root, *self.path))


@dataclass(frozen=True)
class Interp:
    parts: tuple[str | Ref, ...]


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Obj:
    items: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Arr:
    items: tuple[Node, ...]


Node = Ref | Interp | Lit | Obj | Arr


# -- parsing --------------------------------------------------------------------------------------


def _parse_ref(inner: str, text: str) -> Ref:
    expr, _, filt = inner.partition("|")
    expr = expr.strip()
    filter_: str | None = filt.strip() or None if _ else None
    if _ and filter_ not in FILTERS:
        raise TemplateError(f"{text}: unknown filter {filt.strip()!r} (known: {', '.join(FILTERS)})")
    segments = expr.split(".") if expr else []
    if not segments:
        raise TemplateError(f"{text}: empty reference (use ${{input.field}} or ${{steps.NAME.result}})")
    for segment in segments:
        if not _SEGMENT.match(segment):
            raise TemplateError(
                f"{text}: {segment!r} is not a field name (letters, digits, _ and -; no array indexes)"
            )
    root, path = segments[0], tuple(segments[1:])
    if root not in ROOTS:
        raise TemplateError(f"{text}: unknown root {root!r} (known: {', '.join(ROOTS)})")
    if root == "steps" and (len(path) < 2 or path[1] != "result"):
        raise TemplateError(f"{text}: a step reference reads ${{steps.NAME.result...}}")
    if root == "execution" and path != ("name",):
        raise TemplateError(f"{text}: the execution offers only ${{execution.name}}")
    return Ref(root, path, filter_, text)


def parse_string(value: str) -> Node:
    parts: list[str | Ref] = []
    last = 0
    literal = ""
    for match in _TOKEN.finditer(value):
        literal += value[last:match.start()]
        last = match.end()
        if match.group(0) == "$${":
            literal += "${"
            continue
        if literal:
            parts.append(literal)
            literal = ""
        parts.append(_parse_ref(match.group(1), match.group(0)))
    tail = value[last:]
    if "${" in tail:  # every closed ${...} and every $${ was a token: this one has no closing brace
        raise TemplateError(f"unclosed ${{ in {value!r}")
    literal += tail
    if literal:
        parts.append(literal)
    if not any(isinstance(p, Ref) for p in parts):
        return Lit("".join(p for p in parts if isinstance(p, str)))
    if len(parts) == 1:
        return parts[0]  # type: ignore[return-value]
    return Interp(tuple(parts))


def parse(value: Any, path: tuple[str | int, ...] = ()) -> Node:
    """The template tree of a parameter value; TemplateError names the failing path."""
    if isinstance(value, str):
        try:
            return parse_string(value)
        except TemplateError as exc:
            raise TemplateError(exc.problem, path) from None
    if isinstance(value, dict):
        items: list[tuple[str, Node]] = []
        for key, child in value.items():
            if not isinstance(key, str):
                raise TemplateError("keys must be strings", path)
            if key.endswith(".$"):
                raise TemplateError(
                    f"{key!r}: keys ending in '.$' are Step Functions paths; write ${{...}} templates instead",
                    (*path, key),
                )
            if "${" in key:
                raise TemplateError(f"{key!r}: templates are allowed in values, not in keys", (*path, key))
            items.append((key, parse(child, (*path, key))))
        if all(isinstance(n, Lit) for _, n in items):
            return Lit({k: n.value for k, n in items})  # type: ignore[union-attr]
        return Obj(tuple(items))
    if isinstance(value, list):
        nodes = [parse(child, (*path, i)) for i, child in enumerate(value)]
        for i, node in enumerate(nodes):
            if isinstance(node, (Ref, Interp)):
                raise TemplateError(
                    "a template cannot be a list element: Step Functions evaluates paths only in object "
                    "fields (put it in an object)",
                    (*path, i),
                )
        if all(isinstance(n, Lit) for n in nodes):
            return Lit([n.value for n in nodes])  # type: ignore[union-attr]
        return Arr(tuple(nodes))
    return Lit(value)


def refs(node: Node) -> Iterator[Ref]:
    if isinstance(node, Ref):
        yield node
    elif isinstance(node, Interp):
        yield from (p for p in node.parts if isinstance(p, Ref))
    elif isinstance(node, Obj):
        for _, child in node.items:
            yield from refs(child)
    elif isinstance(node, Arr):
        for child in node.items:
            yield from refs(child)


# -- the local engine -----------------------------------------------------------------------------


def sfn_text(value: Any) -> str:
    """A value as `States.Format` prints it."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(sfn_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={sfn_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def json_text(value: Any) -> str:
    """A value as `States.JsonToString` prints it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def lookup(ref: Ref, data: dict[str, Any]) -> Any:
    value: Any = data
    for key in (ref.root, *ref.path):
        if not isinstance(value, dict):
            raise TemplateRuntimeError(ref, f"{key!r} is read from a {type(value).__name__}, not an object")
        if key not in value:
            raise TemplateRuntimeError(ref, f"no field {key!r}")
        value = value[key]
    return value


def _ref_value(ref: Ref, data: dict[str, Any]) -> Any:
    value = lookup(ref, data)
    if ref.filter == "string":
        return sfn_text(value)
    if ref.filter == "json":
        return json_text(value)
    return value


Renderer = Callable[[dict[str, Any]], Any]


def renderer(node: Node) -> Renderer:
    """A function data -> rendered value, built once per template (the local engine's hot path)."""
    if isinstance(node, Lit):
        value = node.value
        return lambda data: value
    if isinstance(node, Ref):
        return lambda data: _ref_value(node, data)
    if isinstance(node, Interp):
        parts = node.parts

        def interp(data: dict[str, Any]) -> str:
            out = []
            for part in parts:
                if isinstance(part, str):
                    out.append(part)
                else:
                    value = _ref_value(part, data)
                    out.append(value if isinstance(value, str) else sfn_text(value))
            return "".join(out)

        return interp
    if isinstance(node, Obj):
        fns = [(key, renderer(child)) for key, child in node.items]
        return lambda data: {key: fn(data) for key, fn in fns}
    items = [renderer(child) for child in node.items]
    return lambda data: [fn(data) for fn in items]


# -- the ASL compiler -----------------------------------------------------------------------------


class Literals:
    """Text the compiler keeps out of intrinsic functions (quotes, braces, backslashes, non-ASCII).

    Step Functions needs such characters escaped inside `States.Format('...')`, and moto's
    interpreter does not understand the escapes; so they travel in the state data instead, under
    `$.literals`, put there by the state machine's first state.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self._keys: dict[str, str] = {}

    def path(self, text: str) -> str:
        key = self._keys.get(text)
        if key is None:
            key = f"l{len(self._keys)}"
            self._keys[text] = key
            self.values[key] = text
        return f"$.literals.{key}"


def jsonpath(segments: tuple[str, ...]) -> str:
    out = "$"
    for segment in segments:
        out += f".{segment}" if _IDENTIFIER.match(segment) else f"['{segment}']"
    return out


def ref_path(ref: Ref) -> str:
    if ref.root == "execution":
        return "$$.Execution.Name"
    return jsonpath((ref.root, *ref.path))


def _ref_expr(ref: Ref, in_format: bool) -> str:
    path = ref_path(ref)
    if ref.filter == "json":
        return f"States.JsonToString({path})"
    if ref.filter == "string" and not in_format:
        return f"States.Format('{{}}', {path})"
    return path


def _interp_expr(node: Interp, literals: Literals) -> str:
    fmt = ""
    args: list[str] = []
    for part in node.parts:
        if isinstance(part, Ref):
            fmt += "{}"
            args.append(_ref_expr(part, in_format=True))
        elif _SAFE_LITERAL.match(part):
            fmt += part
        else:
            fmt += "{}"
            args.append(literals.path(part))
    return f"States.Format('{fmt}', {', '.join(args)})"


def to_asl(node: Node, literals: Literals) -> Any:
    """The ASL Parameters value of a template (an object's templated fields get `.$` keys)."""
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Obj):
        out: dict[str, Any] = {}
        for key, child in node.items:
            if isinstance(child, Ref):
                out[key + ".$"] = _ref_expr(child, in_format=False)
            elif isinstance(child, Interp):
                out[key + ".$"] = _interp_expr(child, literals)
            else:
                out[key] = to_asl(child, literals)
        return out
    if isinstance(node, Arr):
        return [to_asl(child, literals) for child in node.items]
    raise TemplateError("a whole parameter block cannot be a template")
