"""The pipeline file (eda.yaml): schema, file:line errors, `eda init`, and narrowing a pipeline to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from eda_cli.core.pipeline import (
    PipelineFileError,
    discover,
    load_pipeline_file,
    parse_pipeline_text,
    scope_pipeline,
)
from tests.fixtures.cli import Result, assert_one_line_error
from tests.fixtures.seeded import Seeded

FULL = """\
version: 1
region: us-east-1
correlation_id_paths:
  - correlationId
  - $.detail.correlationId
topics: [orders]
queues:
  - payments
  - cancellations
event_buses:
  - name: orders-bus
    rules: [cancelled-orders]
tables:
  - name: orders
    stream_view_type: new_and_old_images
  - name: orders-idempotency
    ttl_attribute: ttl
  - name: legacy-idempotency
    idempotency: false
functions: [notify]
event_source_mappings:
  - function: notify
    source: notifications
    filter: {body: {type: [order.created]}}
state_machines:
  - name: order-saga
    saga: true
    duration: long
"""


def test_full_schema_reads_back() -> None:
    spec = parse_pipeline_text(FULL, "eda.yaml")
    assert spec.region == "us-east-1"
    assert spec.correlation_id_paths == ("correlationId", "detail.correlationId")
    assert spec.topics == ("orders",) and spec.queues == ("payments", "cancellations")
    assert spec.buses[0].name == "orders-bus" and spec.buses[0].rules == ("cancelled-orders",)
    orders, idem, legacy = spec.tables
    assert orders.stream_view_type == "NEW_AND_OLD_IMAGES" and orders.idempotency is None
    assert idem.idempotency is True and idem.ttl_attribute == "ttl"  # a TTL attribute implies idempotency
    assert legacy.idempotency is False
    assert spec.mappings[0].filter == {"body": {"type": ["order.created"]}}
    assert spec.state_machines[0].saga is True and spec.state_machines[0].duration == "long"
    assert spec.lines[("queue", "cancellations")] == 9
    assert spec.names_resources
    assert json.loads(json.dumps(spec.to_dict()))["tables"][1]["ttl_attribute"] == "ttl"


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("", 1, "the file is empty"),
    ("queues: [a]\n", 1, "missing `version: 1`"),
    ("version: 2\n", 1, "unsupported version 2"),
    ("version: 1\nqueue: [a]\n", 2, "unknown key queue (known keys: version, region"),
    ("version: 1\nqueues: a\n", 2, "queues: expected a list"),
    ("version: 1\nqueues:\n  - a\n  - [b]\n", 4, "queues[1]: expected a string"),
    ("version: 1\nqueues:\n  - a\n  - a\n", 4, "queues[1]: 'a' is listed twice"),
    ("version: 1\ntables:\n  - name: t\n    ttl: x\n", 4, "unknown key tables[0].ttl"),
    ("version: 1\ntables:\n  - name: t\n    stream_view_type: FULL\n", 4,
     "tables[0].stream_view_type: expected one of"),
    ("version: 1\ntables:\n  - idempotency: true\n", 3, "tables[0]: missing name"),
    ("version: 1\ntables:\n  - name: t\n    idempotency: maybe\n", 4, "tables[0].idempotency: expected true or false"),
    ("version: 1\nstate_machines:\n  - name: s\n    duration: medium\n", 4, "expected short or long"),
    ("version: 1\nevent_source_mappings:\n  - source: q\n", 3, "event_source_mappings[0]: missing function"),
    ("version: 1\nevent_source_mappings:\n  - function: f\n    filter:\n      body: {n: [{numeric: [\">\"]}]}\n",
     5, "event_source_mappings[0].filter: invalid pattern at body.n[0].numeric"),
    ("version: 1\ncorrelation_id_paths: [\"a..b\"]\n", 2, "is not a dotted path"),
    ("version: 1\nqueues: [a\n", 3, "invalid YAML"),
    ("version: 1\nversion: 1\n", 2, "duplicate key 'version'"),
    ("- version: 1\n", 1, "the file: expected a mapping"),
])
def test_invalid_files_name_the_file_and_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(PipelineFileError) as info:
        parse_pipeline_text(text, "team/eda.yaml")
    error = info.value
    assert error.line == line, error.message
    assert problem in error.message, error.message
    assert error.message.startswith(f"team/eda.yaml:{line}: ")
    assert "\n" not in error.message
    assert error.exit_code == 2


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(PipelineFileError, match="cannot read"):
        load_pipeline_file(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"version: 1\nqueues: [\xff]\n")
    with pytest.raises(PipelineFileError):
        load_pipeline_file(bad)


def test_init_writes_a_file_that_reads_back_and_audit_uses_it_by_default(
    eda_ro: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    eda = eda_ro
    monkeypatch.chdir(tmp_path)
    result = eda("init")
    assert result.code == 0, result.stderr
    assert "wrote eda.yaml" in result.stdout
    spec = load_pipeline_file(tmp_path / "eda.yaml")
    assert "shipping" in spec.queues and "orders" in spec.topics
    assert [b.name for b in spec.buses] == ["orders-bus"]
    tables = {t.name: t for t in spec.tables}
    assert tables["orders-idempotency"].idempotency and tables["orders-idempotency"].ttl_attribute == "ttl"
    assert tables["legacy-idempotency"].idempotency and tables["legacy-idempotency"].ttl_attribute is None
    assert spec.correlation_id_paths == ("correlationId", "detail.correlationId")

    again = eda("init")
    assert_one_line_error(again, 2)
    assert "--force" in again.stderr
    assert eda("init", "--force", "--correlation-id-path", "meta.trace").code == 0
    assert load_pipeline_file(tmp_path / "eda.yaml").correlation_id_paths == ("meta.trace",)

    # Narrow the file to the shipping slice: audit reads ./eda.yaml without --config.
    (tmp_path / "eda.yaml").write_text("version: 1\nqueues: [shipping]\n")
    audit = eda("-o", "json", "audit")
    assert audit.code == 1, audit.stderr
    report = audit.json()
    resources = {f["resource"] for f in report["findings"]}
    assert resources == {"shipping", "shipping-dlq", "orders -> shipping"}
    assert report["summary"]["config"] == "eda.yaml"
    lines = {f["resource"]: f["line"] for f in report["findings"]}
    assert lines["shipping"] == 2


def test_init_to_stdout_and_json_summary(eda_ro: Callable[..., Result], tmp_path: Path) -> None:
    eda = eda_ro
    printed = eda("init", "--config", "-")
    assert printed.code == 0
    assert parse_pipeline_text(printed.stdout).queues
    summary = eda("-o", "json", "init", "--config", str(tmp_path / "p.yaml"))
    assert summary.code == 0
    doc = summary.json()
    assert doc["queues"] == 16 and doc["idempotency_tables"] == 2 and doc["event_buses"] == 1


def test_scope_keeps_named_resources_and_what_hangs_off_them(seeded: Seeded) -> None:

    full = discover(seeded.client, "us-east-1")
    spec = parse_pipeline_text("version: 1\ntopics: [orders]\nevent_buses:\n  - name: orders-bus\n"
                               "    rules: [high-value-orders]\n")
    mine = scope_pipeline(full, spec)
    assert {q.name for q in mine.queues} == {
        "inventory", "inventory-dlq", "inventory-subscription-dlq", "payments", "payments-dlq", "notifications",
        "notifications-dlq", "shipping", "shipping-dlq", "fraud-review", "fraud-review-dlq"}
    assert [r.name for r in mine.rules] == ["high-value-orders"]
    assert [t.name for t in mine.topics] == ["orders"] and mine.tables == ()
    assert scope_pipeline(full, parse_pipeline_text("version: 1\ncorrelation_id_paths: [id]\n")) is full


def test_file_naming_missing_resources_is_an_audit_error(eda_ro: Callable[..., Result], tmp_path: Path) -> None:
    eda = eda_ro
    config = tmp_path / "eda.yaml"
    config.write_text("version: 1\nregion: eu-west-1\nqueues:\n  - payments\n  - refunds\n")
    result = eda("-o", "json", "audit", "--config", str(config), "--only", "pipeline-file-resources")
    assert result.code == 1
    [finding] = result.json()["findings"]
    assert finding["resource"] == "refunds" and finding["line"] == 5
    assert "describes region eu-west-1, but this is us-east-1" in result.stderr


def test_invalid_file_ends_in_one_line_exit_2_before_any_aws_call(
    eda: Callable[..., Result], tmp_path: Path
) -> None:
    config = tmp_path / "eda.yaml"
    config.write_text("version: 1\ntables:\n  - name: t\n    ttl_atribute: x\n")
    for command in ("audit", "topology"):
        # An unreachable endpoint: the file must fail first.
        result = eda(command, "--config", str(config), endpoint_url="http://127.0.0.1:9")
        assert_one_line_error(result, 2)
        assert f"{config}:4: unknown key tables[0].ttl_atribute" in result.stderr
    missing = eda("audit", "--config", str(tmp_path / "absent.yaml"))
    assert_one_line_error(missing, 2)


# -- a pipeline file that is not a file -----------------------------------------------------------------


def _run_here(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """eda in-process on an endpoint nothing listens on: each case must fail before any AWS call."""
    from eda_cli.app import run

    capsys.readouterr()
    code = run(["--endpoint-url", "http://127.0.0.1:1", *args])
    out, err = capsys.readouterr()
    return Result(code, out, err)


@pytest.mark.parametrize("command", [["audit"], ["topology"], ["trace", "corr-1"]])
@pytest.mark.parametrize("kind", ["broken symlink", "directory"])
def test_a_default_eda_yaml_that_is_no_file_is_an_error_not_no_file(
    command: list[str], kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Was: ignored, and the whole account audited instead of the team's pipeline."""
    monkeypatch.chdir(tmp_path)
    if kind == "directory":
        (tmp_path / "eda.yaml").mkdir()
    else:
        (tmp_path / "eda.yaml").symlink_to(tmp_path / "shared" / "eda.yaml")
    result = _run_here(capsys, *command)
    assert_one_line_error(result, 2)
    assert f"pipeline file eda.yaml is a {kind}" in result.stderr


def test_config_naming_a_directory_or_a_broken_link_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run_here(capsys, "audit", "--config", str(tmp_path))
    assert_one_line_error(result, 2)
    assert f"pipeline file {tmp_path} is a directory" in result.stderr and "not found" not in result.stderr
    link = tmp_path / "team.yaml"
    link.symlink_to(tmp_path / "gone.yaml")
    result = _run_here(capsys, "audit", "--config", str(link))
    assert_one_line_error(result, 2)
    assert f"pipeline file {link} is a broken symlink (to {tmp_path / 'gone.yaml'})" in result.stderr
    result = _run_here(capsys, "audit", "--config", str(tmp_path / "nope.yaml"))
    assert_one_line_error(result, 2)
    assert "pipeline file not found" in result.stderr


def test_init_does_not_write_through_a_broken_link_or_into_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eda.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    result = _run_here(capsys, "init")
    assert_one_line_error(result, 2)
    assert "eda.yaml already exists (a broken symlink)" in result.stderr
    assert not (tmp_path / "elsewhere.yaml").exists()
    (tmp_path / "eda.yaml").unlink()
    (tmp_path / "eda.yaml").mkdir()
    result = _run_here(capsys, "init", "--force")
    assert_one_line_error(result, 2)
    assert "eda.yaml is a directory" in result.stderr
