"""The pipeline file (`eda.yaml`): the resources a team owns, and how its messages are correlated.

Schema (version 1; every key is optional except `version`)::

    version: 1
    region: eu-west-1                  # informational: eda warns when you look at another region
    correlation_id_paths:              # where messages carry their correlation id (dotted paths)
      - correlationId
      - detail.correlationId
    topics: [orders]                   # SNS topics, by name or ARN
    queues: [payments, inventory]      # SQS queues; their DLQs are found through RedrivePolicy
    event_buses:
      - orders-bus                     # every rule on the bus ...
      - name: billing-bus
        rules: [invoice-created]       # ... or only these
    tables:
      - name: orders
        stream_view_type: NEW_AND_OLD_IMAGES   # what the table's stream consumers need
      - name: orders-idempotency
        idempotency: true              # an idempotency table: TTL must be on
        ttl_attribute: expiresAt       # ... on this attribute
    functions: [notify]
    event_source_mappings:             # filters a mapping must carry
      - function: notify
        source: notifications          # queue name, table name, or ARN
        filter: {body: {type: [order.created]}}
    state_machines:
      - name: order-saga
        saga: true                     # failing states must have a Catch
        duration: short                # short | long: Express for short flows, Standard for long
    redact:                            # masked in everything eda prints of message contents
      preset: pci                      # pci | pii | [pci, pii]
      paths: [customer.email, "$.items[*].price"]

Any invalid file is one `UsageError`: `eda.yaml:12: tables[1].ttl_attribute: expected a string`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eda_cli.errors import UsageError

DEFAULT_PATH = "eda.yaml"
VERSION = 1
STREAM_VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
DURATIONS = ("short", "long")
HINT = "see docs/pipeline-file.md; `eda init` writes a valid one"


class PipelineFileError(UsageError):
    """An invalid pipeline file: the message names the file, the line and the problem."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}", hint=HINT)
        self.path = path
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class BusSpec:
    name: str
    #: None: every rule of the bus.
    rules: tuple[str, ...] | None = None
    line: int = 0


@dataclass(frozen=True)
class TableSpec:
    name: str
    #: True/False as the file says; None when it does not say (tags and the name decide).
    idempotency: bool | None = None
    ttl_attribute: str | None = None
    stream_view_type: str | None = None
    line: int = 0


@dataclass(frozen=True)
class MappingSpec:
    function: str
    source: str | None = None
    #: The declared filter pattern (a Lambda FilterCriteria pattern), or None.
    filter: Any = None
    line: int = 0


@dataclass(frozen=True)
class StateMachineSpec:
    name: str
    #: None when the file does not say (a state machine with a Catch, or named *saga*, is one).
    saga: bool | None = None
    duration: str | None = None
    line: int = 0


@dataclass(frozen=True)
class PipelineSpec:
    """What a pipeline file says. `PipelineSpec()` is the empty spec: the whole account."""

    path: str | None = None
    version: int = VERSION
    region: str | None = None
    correlation_id_paths: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    buses: tuple[BusSpec, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    functions: tuple[str, ...] = ()
    mappings: tuple[MappingSpec, ...] = ()
    state_machines: tuple[StateMachineSpec, ...] = ()
    #: `redact:`: paths (as written) and presets masked in what eda prints of message contents.
    redact_paths: tuple[str, ...] = ()
    redact_presets: tuple[str, ...] = ()
    #: Line of each named resource, for findings: (kind, name) -> line.
    lines: dict[tuple[str, str], int] = field(default_factory=dict, compare=False)

    @property
    def names_resources(self) -> bool:
        """Whether the file limits eda to named resources (else: the whole account)."""
        return bool(self.topics or self.queues or self.buses or self.tables or self.functions
                    or self.state_machines)

    def table(self, name: str) -> TableSpec | None:
        return next((t for t in self.tables if t.name == name or t.name.endswith(f"/{name}")), None)

    def state_machine(self, name: str) -> StateMachineSpec | None:
        return next((s for s in self.state_machines if s.name == name or s.name.endswith(f":{name}")), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "version": self.version,
            "region": self.region,
            "correlation_id_paths": list(self.correlation_id_paths),
            "topics": list(self.topics),
            "queues": list(self.queues),
            "event_buses": [{"name": b.name, "rules": list(b.rules) if b.rules is not None else None}
                            for b in self.buses],
            "tables": [{"name": t.name, "idempotency": t.idempotency, "ttl_attribute": t.ttl_attribute,
                        "stream_view_type": t.stream_view_type} for t in self.tables],
            "functions": list(self.functions),
            "event_source_mappings": [{"function": m.function, "source": m.source, "filter": m.filter}
                                      for m in self.mappings],
            "state_machines": [{"name": s.name, "saga": s.saga, "duration": s.duration}
                               for s in self.state_machines],
            "redact": {"paths": list(self.redact_paths), "preset": list(self.redact_presets)},
        }


# -- loading ----------------------------------------------------------------------------------------


class PipelineFileUnusable(UsageError):
    """The pipeline file named (or ./eda.yaml) is missing, a directory or a broken symlink.

    The hint is neutral; `hint_for(option)` words it for a command's option (`--config`)."""

    def __init__(self, message: str, path: Path, *, named: bool, missing: bool = False) -> None:
        self.path = path
        #: The file was named by the user, not found in the working directory.
        self.named = named
        self.missing = missing
        super().__init__(message, hint=self.hint_for(None))

    def hint_for(self, option: str | None) -> str:
        if self.missing:
            drop = f"drop {option}" if option else "name no file"
            return f"create one with `eda init`, or {drop} to look at the whole account"
        if self.named:
            return f"pass the file itself, e.g. {option + ' ' if option else ''}{self.path / DEFAULT_PATH}"
        other = f"pass {option} PATH" if option else "name another pipeline file"
        return f"remove or fix {self.path}, or {other}"


def find_pipeline_file(explicit: str | None, cwd: Path | None = None) -> Path | None:
    """The file named (`explicit`, it must exist), else ./eda.yaml when it exists, else None.

    A directory or a broken symlink in either place is an error (exit 2), not "no file": the
    audit would otherwise look at the whole account instead of the team's pipeline."""
    if explicit:
        path = Path(explicit)
        if not path.is_symlink() and not path.exists():
            raise PipelineFileUnusable(f"pipeline file not found: {explicit}", path, named=True, missing=True)
        _check_is_file(path, explicit, named=True)
        return path
    # Relative when looked up in the working directory: SARIF wants repository-relative paths.
    default = cwd / DEFAULT_PATH if cwd is not None else Path(DEFAULT_PATH)
    if not default.is_symlink() and not default.exists():
        return None
    _check_is_file(default, str(default), named=False)
    return default


def _check_is_file(path: Path, shown: str, *, named: bool) -> None:
    if path.is_dir():
        raise PipelineFileUnusable(f"pipeline file {shown} is a directory", path, named=named)
    if not path.exists():  # a symlink to nothing
        try:
            target = f" (to {path.readlink()})"
        except OSError:
            target = ""
        raise PipelineFileUnusable(f"pipeline file {shown} is a broken symlink{target}", path, named=named)


def load_pipeline_file(path: str | Path) -> PipelineSpec:
    """Read and validate a pipeline file. Raises `PipelineFileError` (exit 2) naming file and line."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PipelineFileError(shown, None, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise PipelineFileError(shown, None, "not UTF-8 text") from exc
    return parse_pipeline_text(text, shown)


def parse_pipeline_text(text: str, path: str = DEFAULT_PATH) -> PipelineSpec:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise PipelineFileError(path, mark.line + 1 if mark else None, f"invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise PipelineFileError(path, None, f"invalid YAML: {' '.join(str(exc).split())}") from exc
    if root is None:
        raise PipelineFileError(path, 1, "the file is empty (expected at least `version: 1`)")
    return _Reader(path).spec(root)


class _Reader:
    """Validates the YAML node tree, so every problem can name its line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: dict[tuple[str, str], int] = {}

    def fail(self, node: Any, problem: str) -> PipelineFileError:
        return PipelineFileError(self.path, node.start_mark.line + 1 if node is not None else None, problem)

    # -- node helpers -------------------------------------------------------------------------

    def mapping(self, node: Any, where: str, allowed: tuple[str, ...]) -> dict[str, tuple[Any, Any]]:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{where}: expected a mapping")
        out: dict[str, tuple[Any, Any]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, f"{where}: keys must be plain names")
            key = str(key_node.value)
            if key in out:
                raise self.fail(key_node, f"{where}: duplicate key {key!r}")
            if key not in allowed:
                known = ", ".join(allowed)
                label = f"{where}." if where != "the file" else ""
                raise self.fail(key_node, f"unknown key {label}{key} (known keys: {known})")
            out[key] = (key_node, value_node)
        return out

    def value(self, node: Any) -> Any:
        import yaml

        loader = yaml.SafeLoader("")
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise self.fail(node, f"invalid value: {' '.join(str(exc).split())}") from exc
        finally:
            loader.dispose()

    def string(self, node: Any, where: str) -> str:
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{where}: expected a string")
        value = self.value(node)
        if isinstance(value, bool) or value is None:
            raise self.fail(node, f"{where}: expected a string")
        text = str(value).strip()
        if not text:
            raise self.fail(node, f"{where}: must not be empty")
        return text

    def boolean(self, node: Any, where: str) -> bool:
        value = self.value(node)
        if not isinstance(value, bool):
            raise self.fail(node, f"{where}: expected true or false")
        return value

    def sequence(self, node: Any, where: str) -> list[Any]:
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{where}: expected a list")
        return list(node.value)

    def names(self, node: Any, where: str, kind: str) -> tuple[str, ...]:
        names: list[str] = []
        for i, item in enumerate(self.sequence(node, where)):
            name = self.string(item, f"{where}[{i}]")
            if name in names:
                raise self.fail(item, f"{where}[{i}]: {name!r} is listed twice")
            self.lines[(kind, name)] = item.start_mark.line + 1
            names.append(name)
        return tuple(names)

    def named(
        self, node: Any, where: str, kind: str, allowed: tuple[str, ...], build: Callable[..., Any]
    ) -> tuple[Any, ...]:
        """A list whose items are a name, or a mapping with `name` and options."""
        import yaml

        items: list[Any] = []
        for i, item in enumerate(self.sequence(node, where)):
            at = f"{where}[{i}]"
            line = item.start_mark.line + 1
            if isinstance(item, yaml.ScalarNode):
                name = self.string(item, at)
                fields: dict[str, tuple[Any, Any]] = {}
            else:
                fields = self.mapping(item, at, ("name", *allowed))
                if "name" not in fields:
                    raise self.fail(item, f"{at}: missing name")
                name = self.string(fields["name"][1], f"{at}.name")
            if (kind, name) in self.lines:
                raise self.fail(item, f"{at}: {name!r} is listed twice")
            self.lines[(kind, name)] = line
            items.append(build(name, {k: v[1] for k, v in fields.items() if k != "name"}, at, line))
        return tuple(items)

    # -- the document -------------------------------------------------------------------------

    def spec(self, root: Any) -> PipelineSpec:
        keys = ("version", "region", "correlation_id_paths", "topics", "queues", "event_buses", "tables",
                "functions", "event_source_mappings", "state_machines", "redact")
        doc = self.mapping(root, "the file", keys)
        if "version" not in doc:
            raise self.fail(root, "missing `version: 1` at the top of the file")
        version_node = doc["version"][1]
        version = self.value(version_node)
        if version != VERSION or isinstance(version, bool):
            raise self.fail(version_node, f"version: unsupported version {version!r} (this eda reads version 1)")

        def get(key: str) -> Any:
            return doc[key][1] if key in doc else None

        region = self.string(get("region"), "region") if "region" in doc else None
        paths: tuple[str, ...] = ()
        if "correlation_id_paths" in doc:
            items = []
            for i, item in enumerate(self.sequence(get("correlation_id_paths"), "correlation_id_paths")):
                text = self.string(item, f"correlation_id_paths[{i}]")
                bare = text[2:] if text.startswith("$.") else text
                if not bare or any(not part for part in bare.split(".")) or " " in bare:
                    raise self.fail(item, f"correlation_id_paths[{i}]: {text!r} is not a dotted path "
                                          "(e.g. detail.correlationId)")
                items.append(bare)
            paths = tuple(items)
        redact_paths, redact_presets = self._redact(get("redact")) if "redact" in doc else ((), ())

        return PipelineSpec(
            path=self.path,
            version=VERSION,
            region=region,
            correlation_id_paths=paths,
            topics=self.names(get("topics"), "topics", "topic") if "topics" in doc else (),
            queues=self.names(get("queues"), "queues", "queue") if "queues" in doc else (),
            buses=self.named(get("event_buses"), "event_buses", "bus", ("rules",), self._bus)
            if "event_buses" in doc else (),
            tables=self.named(get("tables"), "tables", "table",
                              ("idempotency", "ttl_attribute", "stream_view_type"), self._table)
            if "tables" in doc else (),
            functions=self.names(get("functions"), "functions", "function") if "functions" in doc else (),
            mappings=self._mappings(get("event_source_mappings")) if "event_source_mappings" in doc else (),
            state_machines=self.named(get("state_machines"), "state_machines", "state_machine",
                                      ("saga", "duration"), self._machine)
            if "state_machines" in doc else (),
            redact_paths=redact_paths,
            redact_presets=redact_presets,
            lines=dict(self.lines),
        )

    def _redact(self, node: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        import yaml

        from eda_cli.core.redact import PathError, parse_path, parse_presets

        fields = self.mapping(node, "redact", ("paths", "preset"))
        paths: list[str] = []
        if "paths" in fields:
            for i, item in enumerate(self.sequence(fields["paths"][1], "redact.paths")):
                text = self.string(item, f"redact.paths[{i}]")
                try:
                    parse_path(text)
                except PathError as exc:
                    raise self.fail(item, f"redact.paths[{i}]: {exc.message}") from None
                paths.append(text)
        presets: tuple[str, ...] = ()
        if "preset" in fields:
            preset_node = fields["preset"][1]
            items = self.sequence(preset_node, "redact.preset") if isinstance(preset_node, yaml.SequenceNode) \
                else [preset_node]
            names = [self.string(item, "redact.preset") for item in items]
            try:
                presets = parse_presets(names)
            except PathError as exc:
                raise self.fail(preset_node, f"redact.preset: {exc.message}") from None
        return tuple(paths), presets

    def _bus(self, name: str, fields: dict[str, Any], at: str, line: int) -> BusSpec:
        rules = self.names(fields["rules"], f"{at}.rules", f"rule:{name}") if "rules" in fields else None
        return BusSpec(name=name, rules=rules, line=line)

    def _table(self, name: str, fields: dict[str, Any], at: str, line: int) -> TableSpec:
        view = None
        if "stream_view_type" in fields:
            view = self.string(fields["stream_view_type"], f"{at}.stream_view_type").upper()
            if view not in STREAM_VIEW_TYPES:
                raise self.fail(fields["stream_view_type"],
                                f"{at}.stream_view_type: expected one of {', '.join(STREAM_VIEW_TYPES)}")
        ttl = self.string(fields["ttl_attribute"], f"{at}.ttl_attribute") if "ttl_attribute" in fields else None
        # A ttl_attribute alone says "this is an idempotency table"; `idempotency: false` overrides.
        idempotency = (self.boolean(fields["idempotency"], f"{at}.idempotency") if "idempotency" in fields
                       else True if ttl is not None else None)
        return TableSpec(name=name, idempotency=idempotency, ttl_attribute=ttl, stream_view_type=view, line=line)

    def _machine(self, name: str, fields: dict[str, Any], at: str, line: int) -> StateMachineSpec:
        saga = self.boolean(fields["saga"], f"{at}.saga") if "saga" in fields else None
        duration = None
        if "duration" in fields:
            duration = self.string(fields["duration"], f"{at}.duration").lower()
            if duration not in DURATIONS:
                raise self.fail(fields["duration"], f"{at}.duration: expected short or long")
        return StateMachineSpec(name=name, saga=saga, duration=duration, line=line)

    def _mappings(self, node: Any) -> tuple[MappingSpec, ...]:
        from eda_cli.core.patterns import PatternError, compile_pattern

        specs: list[MappingSpec] = []
        for i, item in enumerate(self.sequence(node, "event_source_mappings")):
            at = f"event_source_mappings[{i}]"
            fields = self.mapping(item, at, ("function", "source", "filter"))
            if "function" not in fields:
                raise self.fail(item, f"{at}: missing function")
            function = self.string(fields["function"][1], f"{at}.function")
            source = self.string(fields["source"][1], f"{at}.source") if "source" in fields else None
            pattern = None
            if "filter" in fields:
                filter_node = fields["filter"][1]
                pattern = self.value(filter_node)
                if isinstance(pattern, str):
                    try:
                        pattern = json.loads(pattern)
                    except json.JSONDecodeError as exc:
                        raise self.fail(filter_node, f"{at}.filter: not a JSON pattern: {exc.msg}") from exc
                if not isinstance(pattern, dict):
                    raise self.fail(filter_node, f"{at}.filter: expected a pattern (a mapping)")
                try:
                    compile_pattern(pattern, "lambda")
                except PatternError as exc:
                    raise self.fail(filter_node, f"{at}.filter: {exc}") from exc
            specs.append(MappingSpec(function=function, source=source, filter=pattern,
                                     line=item.start_mark.line + 1))
        return tuple(specs)
