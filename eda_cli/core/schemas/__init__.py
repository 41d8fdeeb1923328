"""Event schemas: infer one from sample events, check events against one (a compiled validator, violations
grouped), diff two versions for breaking changes, flag events near the size limits, and read or write the
EventBridge schema registry.

Modules: `formats` (date-time, uuid, email), `infer` (the inferrer), `documents` (JSON Schema Draft 4 and
OpenAPI 3 as the registry stores them), `check` (Checker, violations, grouping), `size` (EventBridge 256 KB,
SQS 1 MiB), `events` (reading events from files and queues), `diff` and `sarif`, `registry`.
"""

from __future__ import annotations

from eda_cli.core.schemas.check import (
    Checker,
    CheckResult,
    EventCheck,
    Violation,
    ViolationGroup,
    check_events,
    check_one,
    group_violations,
    json_path,
)
from eda_cli.core.schemas.diff import KINDS, Change, DiffResult, diff_schemas
from eda_cli.core.schemas.documents import (
    JSON_SCHEMA,
    OPENAPI,
    SchemaDoc,
    SchemaError,
    parse_schema,
    render_schema,
    resolve_refs,
    schema_doc,
    to_openapi,
)
from eda_cli.core.schemas.events import (
    Sample,
    decoded,
    delivery_samples,
    message_events,
    queue_events,
    read_events,
    stream_events,
    tap_events,
)
from eda_cli.core.schemas.infer import InferredSchema, infer_schema, infer_schemas, pascal
from eda_cli.core.schemas.registry import (
    PREFIX,
    PushResult,
    RegistryUnavailable,
    SchemaSummary,
    describe_schema,
    list_schemas,
    parse_spec,
    push_schema,
    registry_type,
)
from eda_cli.core.schemas.sarif import to_sarif
from eda_cli.core.schemas.size import EVENTBRIDGE_LIMIT, SQS_LIMIT, SizeFlag, byte_size, size_flags

__all__ = [
    "EVENTBRIDGE_LIMIT",
    "JSON_SCHEMA",
    "KINDS",
    "OPENAPI",
    "PREFIX",
    "SQS_LIMIT",
    "Change",
    "CheckResult",
    "Checker",
    "DiffResult",
    "EventCheck",
    "InferredSchema",
    "PushResult",
    "RegistryUnavailable",
    "Sample",
    "SchemaDoc",
    "SchemaError",
    "SchemaSummary",
    "SizeFlag",
    "Violation",
    "ViolationGroup",
    "byte_size",
    "check_events",
    "check_one",
    "decoded",
    "delivery_samples",
    "describe_schema",
    "diff_schemas",
    "group_violations",
    "infer_schema",
    "infer_schemas",
    "json_path",
    "list_schemas",
    "message_events",
    "parse_schema",
    "parse_spec",
    "pascal",
    "push_schema",
    "queue_events",
    "read_events",
    "registry_type",
    "render_schema",
    "resolve_refs",
    "schema_doc",
    "size_flags",
    "stream_events",
    "tap_events",
    "to_openapi",
    "to_sarif",
]
