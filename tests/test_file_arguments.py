"""One convention for every option that takes a document: inline, @FILE, file://FILE, or - (stdin)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eda_cli.commands._common import read_argument
from eda_cli.errors import UsageError
from tests.fixtures.cli import run_cli

PATTERN = {"detail": {"amount": [{"numeric": [">", 1000]}]}}
EVENT = {"source": "shop", "detail-type": "order", "detail": {"amount": 5000}}


@pytest.mark.parametrize("form", ["inline", "@", "file://", "-"])
def test_read_argument_reads_every_form(form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    path = tmp_path / "p.json"
    path.write_text("{}")
    monkeypatch.setattr(sys, "stdin", io.StringIO("{}"))
    value = {"inline": "{}", "@": f"@{path}", "file://": f"file://{path}", "-": "-"}[form]
    assert read_argument(value, "--x") == "{}"


@pytest.mark.parametrize("value", ["@", "file://", "@/no/such/file", "file:///no/such/file"])
def test_a_missing_or_unnamed_file_is_a_usage_error(value: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        read_argument(value, "--x")
    with pytest.raises(UsageError, match="is a directory"):
        read_argument(f"@{tmp_path}", "--x")


@pytest.mark.parametrize("form", ["@", "file://", "-"])
def test_route_and_stream_options_take_the_same_forms(form: str, tmp_path: Path) -> None:
    """route test --pattern (was @FILE only) and stream tail --filter (was file:// only) read alike."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps(EVENT))
    pattern = tmp_path / "pattern.json"
    pattern.write_text(json.dumps(PATTERN))
    value = "-" if form == "-" else f"{form}{pattern}"
    process = subprocess.run([sys.executable, "-m", "eda_cli", "-o", "json", "route", "test", str(event),
                              "--pattern", value], input=json.dumps(PATTERN), capture_output=True, text=True,
                             timeout=60)
    assert process.returncode == 0, process.stderr
    assert [m["name"] for m in json.loads(process.stdout)["matched"]] == ["pattern 1"]


def test_stream_filter_takes_at_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"eventName": "MODIFY"}')  # not a list: the file was read and compiled
    result = run_cli("stream", "tail", "orders", "--no-follow", "--filter", f"@{bad}")
    assert result.code == 2 and "invalid pattern at eventName" in result.stderr, result.stderr  # read, then compiled
