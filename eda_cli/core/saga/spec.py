"""The saga file: load it, validate it, and say exactly where it is wrong.

    name: checkout
    type: standard                  # or express
    role_arn: arn:aws:iam::${account}:role/checkout-saga   # optional; ${account}: the caller's account
    defaults:                       # optional: for every action and compensation
      retry: {attempts: 3, interval: 1, backoff: 2.0, errors: [States.ALL]}
      timeout: 30
    steps:
      - name: reserve
        action:
          call: dynamodb:putItem
          parameters: {TableName: orders, Item: {order_id: {S: "${input.order_id}"}}}
          retry: {attempts: 2}
        compensate:
          call: dynamodb:updateItem
          parameters: ...

Every problem is a `SagaFileError` (exit 2) that names the file, the line and the field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eda_cli.core.saga import template as tpl
from eda_cli.core.saga.integrations import INTEGRATIONS, NAME_PARAMETERS, STATES_ALL, Integration
from eda_cli.core.saga.loader import Located, SagaFileError, format_path, load_located

TYPES = ("standard", "express")
#: A state machine name: 1-80 of letters, digits, - and _.
_SAGA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
#: A step name: it becomes a state name and a JSON path segment.
_STEP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
MAX_STEPS = 500
#: In role_arn (or --execution-role-arn): the account of the credentials in use, so one file serves every
#: account. Step Functions runs each integration as the role, in the role's account.
ACCOUNT_PLACEHOLDER = "${account}"
MAX_SECONDS = 99_999_999

DEFAULT_ATTEMPTS = 3
DEFAULT_INTERVAL = 1
DEFAULT_BACKOFF = 2.0
DEFAULT_TIMEOUT = 60

#: The bundled example sagas, for `eda saga run example:checkout` (and the demo).
EXAMPLE_PREFIX = "example:"


@dataclass(frozen=True)
class Retry:
    """Retry policy: `attempts` counts every call, the first included (1 = no retry)."""

    attempts: int = DEFAULT_ATTEMPTS
    interval: int = DEFAULT_INTERVAL
    backoff: float = DEFAULT_BACKOFF
    max_delay: int | None = None
    errors: tuple[str, ...] = (STATES_ALL,)

    def delay(self, failed_attempt: int) -> float:
        """Seconds to wait after the `failed_attempt`-th call failed (1-based), as Step Functions waits."""
        delay = self.interval * self.backoff ** (failed_attempt - 1)
        return float(min(delay, self.max_delay)) if self.max_delay is not None else float(delay)

    def to_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "interval": self.interval, "backoff": self.backoff,
                "max_delay": self.max_delay, "errors": list(self.errors)}


@dataclass(frozen=True)
class Call:
    """An action or a compensation: one service integration with its parameters, retry and timeout."""

    integration: Integration
    parameters: dict[str, Any]
    retry: Retry
    timeout: int
    template: tpl.Node = field(compare=False, repr=False)
    line: int | None = None

    @property
    def render(self) -> tpl.Renderer:
        # Built on first use and kept: the template tree is immutable.
        cached: tpl.Renderer | None = self.__dict__.get("_renderer")
        if cached is None:
            cached = tpl.renderer(self.template)
            object.__setattr__(self, "_renderer", cached)
        return cached

    def refs(self) -> list[tpl.Ref]:
        return list(tpl.refs(self.template))


@dataclass(frozen=True)
class Step:
    name: str
    action: Call
    compensate: Call | None = None
    line: int | None = None


@dataclass(frozen=True)
class Saga:
    name: str
    type: str
    steps: tuple[Step, ...]
    source: str = "<saga>"
    comment: str | None = None
    role_arn: str | None = None

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    def calls(self) -> list[tuple[str, str, Call]]:
        """(step, "action"|"compensate", call) for every call, in file order."""
        out: list[tuple[str, str, Call]] = []
        for step in self.steps:
            out.append((step.name, "action", step.action))
            if step.compensate is not None:
                out.append((step.name, "compensate", step.compensate))
        return out

    def input_paths(self) -> list[tuple[tuple[str, ...], str, int | None]]:
        """Every `${input...}` path the saga reads: (path, template text, line)."""
        out = []
        for _, _, call in self.calls():
            for ref in call.refs():
                if ref.root == "input":
                    out.append((ref.path, ref.text, call.line))
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "saga": self.name,
            "type": self.type,
            "file": self.source,
            "steps": [
                {
                    "name": s.name,
                    "action": s.action.integration.name,
                    "compensate": s.compensate.integration.name if s.compensate else None,
                }
                for s in self.steps
            ],
        }


# -- loading --------------------------------------------------------------------------------------


def valid_name(text: str) -> bool:
    """A state machine or execution name: 1-80 letters, digits, '-' or '_'."""
    return bool(_SAGA_NAME.match(text))


def example_path(name: str) -> Path:
    """The bundled copy of an example saga (`example:checkout`)."""
    import eda_cli.sandbox

    return Path(eda_cli.sandbox.__file__).resolve().parent / "sagas" / f"{name}.yaml"


def read_saga(file: str) -> Saga:
    """Load and validate a saga file (or `example:NAME`); SagaFileError for any problem."""
    if file.startswith(EXAMPLE_PREFIX):
        name = file[len(EXAMPLE_PREFIX):]
        path = example_path(name) if re.match(r"^[a-z0-9-]+$", name) else None
        if path is None or not path.is_file():
            raise SagaFileError(file, None, (), "no such example saga",
                                hint="the bundled examples: example:checkout")
    else:
        path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SagaFileError(file, None, (), "no such file") from None
    except IsADirectoryError:
        raise SagaFileError(file, None, (), "is a directory, not a saga file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SagaFileError(file, None, (), f"cannot read it: {exc}") from None
    return parse_saga(text, source=file)


def parse_saga(text: str, source: str = "<saga>") -> Saga:
    data, located = load_located(text, source)
    return _Validator(located).saga(data)


def _suggest(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"


class _Validator:
    def __init__(self, located: Located) -> None:
        self.loc = located

    def err(self, path: tuple[str | int, ...], problem: str, hint: str | None = None) -> SagaFileError:
        return self.loc.error(path, problem, hint)

    def mapping(self, value: Any, path: tuple[str | int, ...], known: list[str], what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.err(path, f"{what} must be a mapping, not {_kind(value)}")
        for key in value:
            if key not in known:
                raise self.err((*path, key), f"unknown key {key!r}" + _suggest(key, known))
        return value

    def integer(self, value: Any, path: tuple[str | int, ...], low: int, high: int = MAX_SECONDS) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.err(path, f"must be a whole number, not {_kind(value)}")
        if not low <= value <= high:
            raise self.err(path, f"must be between {low} and {high}, not {value}")
        return value

    # -- the document ---------------------------------------------------------------------------

    def saga(self, data: Any) -> Saga:
        doc = self.mapping(data, (), ["name", "type", "comment", "role_arn", "defaults", "steps"], "a saga file")
        name = doc.get("name")
        if name is None:
            raise self.err((), "missing 'name'")
        if not isinstance(name, str) or not valid_name(name):
            raise self.err(("name",), "a saga name is 1-80 letters, digits, '-' or '_' (it names the state machine)")
        type_ = doc.get("type", "standard")
        if type_ not in TYPES:
            raise self.err(("type",), f"type must be 'standard' or 'express', not {type_!r}")
        comment = doc.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise self.err(("comment",), "comment must be a string")
        role_arn = doc.get("role_arn")
        if role_arn is not None and (not isinstance(role_arn, str) or not role_arn.startswith("arn:")):
            raise self.err(("role_arn",), "role_arn must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME; "
                                          f"{ACCOUNT_PLACEHOLDER} stands for the caller's account)")
        retry, timeout = Retry(), DEFAULT_TIMEOUT
        if "defaults" in doc:
            defaults = self.mapping(doc["defaults"], ("defaults",), ["retry", "timeout"], "defaults")
            if "retry" in defaults:
                retry = self.retry(defaults["retry"], ("defaults", "retry"), retry)
            if "timeout" in defaults:
                timeout = self.integer(defaults["timeout"], ("defaults", "timeout"), 1)
        steps_raw = doc.get("steps")
        if steps_raw is None:
            raise self.err((), "missing 'steps'")
        if not isinstance(steps_raw, list) or not steps_raw:
            raise self.err(("steps",), "steps must be a non-empty list")
        if len(steps_raw) > MAX_STEPS:
            raise self.err(("steps",), f"at most {MAX_STEPS} steps")
        steps: list[Step] = []
        seen: set[str] = set()
        for i, raw in enumerate(steps_raw):
            step = self.step(raw, ("steps", i), retry, timeout, [s.name for s in steps])
            if step.name in seen:
                raise self.err(("steps", i, "name"), f"duplicate step name {step.name!r}")
            seen.add(step.name)
            steps.append(step)
        return Saga(name=name, type=type_, steps=tuple(steps), source=self.loc.source, comment=comment,
                    role_arn=role_arn)

    def step(self, raw: Any, path: tuple[str | int, ...], retry: Retry, timeout: int, earlier: list[str]) -> Step:
        data = self.mapping(raw, path, ["name", "action", "compensate", "comment"], "a step")
        name = data.get("name")
        if name is None:
            raise self.err(path, "a step needs a 'name'")
        if not isinstance(name, str) or not _STEP_NAME.match(name):
            raise self.err((*path, "name"),
                           "a step name starts with a letter and has up to 64 letters, digits, '-' or '_'")
        if "action" not in data:
            raise self.err(path, f"step {name!r} needs an 'action'")
        action = self.call(data["action"], (*path, "action"), retry, timeout, earlier)
        compensate = None
        if data.get("compensate") is not None:
            compensate = self.call(data["compensate"], (*path, "compensate"), retry, timeout, [*earlier, name])
        return Step(name=name, action=action, compensate=compensate, line=self.loc.line(path))

    def retry(self, raw: Any, path: tuple[str | int, ...], base: Retry) -> Retry:
        data = self.mapping(raw, path, ["attempts", "interval", "backoff", "max_delay", "errors"], "retry")
        out = base
        if "attempts" in data:
            out = replace(out, attempts=self.integer(data["attempts"], (*path, "attempts"), 1, 1000))
        if "interval" in data:
            out = replace(out, interval=self.integer(data["interval"], (*path, "interval"), 1))
        if "backoff" in data:
            backoff = data["backoff"]
            if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or backoff < 1.0:
                raise self.err((*path, "backoff"), "backoff must be a number >= 1.0")
            out = replace(out, backoff=float(backoff))
        if "max_delay" in data:
            out = replace(out, max_delay=self.integer(data["max_delay"], (*path, "max_delay"), 1))
        if "errors" in data:
            errors = data["errors"]
            if isinstance(errors, str):
                errors = [errors]
            if not isinstance(errors, list) or not errors or not all(isinstance(e, str) and e for e in errors):
                raise self.err((*path, "errors"), "errors must be a non-empty list of error names")
            if STATES_ALL in errors and len(errors) > 1:
                raise self.err((*path, "errors"), "States.ALL must appear alone (it matches every error)")
            out = replace(out, errors=tuple(errors))
        return out

    def call(self, raw: Any, path: tuple[str | int, ...], retry: Retry, timeout: int, visible: list[str]) -> Call:
        data = self.mapping(raw, path, ["call", "parameters", "retry", "timeout", "comment"], "an action")
        known = sorted(INTEGRATIONS)
        name = data.get("call")
        if name is None:
            raise self.err(path, f"missing 'call' (one of: {', '.join(known)})")
        if not isinstance(name, str) or name not in INTEGRATIONS:
            raise self.err((*path, "call"), f"unknown integration {name!r}" + _suggest(str(name), known))
        integration = INTEGRATIONS[name]
        params = data.get("parameters")
        if params is None:
            raise self.err(path, "missing 'parameters'")
        if not isinstance(params, dict):
            raise self.err((*path, "parameters"), f"parameters must be a mapping, not {_kind(params)}")
        self.parameters(integration, params, (*path, "parameters"))
        if "retry" in data:
            retry = self.retry(data["retry"], (*path, "retry"), retry)
        if "timeout" in data:
            timeout = self.integer(data["timeout"], (*path, "timeout"), 1)
        try:
            node = tpl.parse(params)
        except tpl.TemplateError as exc:
            raise self.err((*path, "parameters", *exc.path), exc.problem) from None
        for ref in tpl.refs(node):
            if ref.root == "steps" and ref.path[0] not in visible:
                where = self._ref_path(params, ref.text, (*path, "parameters"))
                earlier = f"earlier steps: {', '.join(visible)}" if visible else "no step runs before this one"
                raise self.err(where, f"{ref.text}: step {ref.path[0]!r} has not run yet here ({earlier})")
        return Call(integration=integration, parameters=params, retry=retry, timeout=timeout, template=node,
                    line=self.loc.line(path))

    def parameters(self, integration: Integration, params: dict[str, Any], path: tuple[str | int, ...]) -> None:
        for key in params:
            if key.endswith(".$"):
                raise self.err((*path, key), f"{key!r}: write ${{...}} templates instead of Step Functions paths")
            if key not in integration.allowed:
                raise self.err((*path, key), f"{integration.name} takes no parameter {key!r}"
                               + _suggest(key, sorted(integration.allowed)))
        for key in sorted(integration.required):
            if key not in params:
                raise self.err(path, f"{integration.name} needs the parameter {key!r}")
        if integration.one_of:
            given = [k for k in integration.one_of if k in params]
            if len(given) != 1:
                raise self.err(path, f"{integration.name} needs exactly one of {', '.join(integration.one_of)}")
        for key in NAME_PARAMETERS:
            if key in params and (not isinstance(params[key], str) or "${" in params[key]):
                raise self.err((*path, key), f"{key} must be a plain name (eda resolves it before the saga runs)")
        if integration.name == "events:putEvents":
            entries = params["Entries"]
            if not isinstance(entries, list) or not 1 <= len(entries) <= 10:
                raise self.err((*path, "Entries"), "Entries must be a list of 1 to 10 events")
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    raise self.err((*path, "Entries", i), "each entry must be a mapping")

    def _ref_path(self, value: Any, text: str, path: tuple[str | int, ...]) -> tuple[str | int, ...]:
        """The path of the first string containing `text` inside `value`, for the error's line."""
        if isinstance(value, str):
            return path if text in value else ()
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
        for key, child in items:
            found = self._ref_path(child, text, (*path, key))
            if found:
                return found
        return ()


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def with_resolved_names(saga: Saga, resolve: Callable[[str, str], str]) -> Saga:
    """A copy of `saga` with QueueName/TopicName replaced by what `resolve(kind, name)` returns."""

    def fix(call: Call) -> Call:
        if not any(k in call.parameters for k in NAME_PARAMETERS):
            return call
        params: dict[str, Any] = {}
        for key, value in call.parameters.items():
            if key in NAME_PARAMETERS:
                target, kind = NAME_PARAMETERS[key]
                params[target] = resolve(kind, value)
            else:
                params[key] = value
        return replace(call, parameters=params, template=tpl.parse(params))

    steps = tuple(
        replace(s, action=fix(s.action), compensate=fix(s.compensate) if s.compensate else None)
        for s in saga.steps
    )
    return replace(saga, steps=steps)


def with_account(role_arn: str | None, account: Callable[[], str]) -> str | None:
    """role_arn with ${account} replaced by the caller's account (asked only when the placeholder is there)."""
    if role_arn is None or ACCOUNT_PLACEHOLDER not in role_arn:
        return role_arn
    return role_arn.replace(ACCOUNT_PLACEHOLDER, account())


def names_to_resolve(saga: Saga) -> list[tuple[str, str]]:
    """(kind, name) of every queue and topic the saga names, in order, without duplicates."""
    out: list[tuple[str, str]] = []
    for _, _, call in saga.calls():
        for key, (_, kind) in NAME_PARAMETERS.items():
            if key in call.parameters and (kind, call.parameters[key]) not in out:
                out.append((kind, call.parameters[key]))
    return out


__all__ = ["Call", "Retry", "Saga", "SagaFileError", "Step", "format_path", "parse_saga", "read_saga"]
