"""Redrive archives hold every body and attribute unmasked: created 0600 whatever the umask, and an existing
file that others may read is refused (exit 2) unless --force."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eda_cli.core.archive import ArchiveExposed, ArchiveWriter, check_archive_target
from eda_cli.errors import ExitCode
from tests.fixtures.cli import Result, assert_one_line_error


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_archive_is_0600_under_umask_000(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "a.jsonl"
    writer = ArchiveWriter(str(path))
    writer.append(['{"x": 1}\n'])
    writer.close()
    assert mode(path) == 0o600 and path.read_text() == '{"x": 1}\n'


@pytest.mark.parametrize("wide", [0o644, 0o640, 0o604, 0o660, 0o666])
def test_an_existing_archive_others_may_read_is_refused(tmp_path: Path, wide: int) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("old\n")
    path.chmod(wide)
    with pytest.raises(ArchiveExposed) as info:
        ArchiveWriter(str(path))
    assert info.value.exit_code == ExitCode.USAGE and f"{wide:04o}" in info.value.message
    assert "--force" in (info.value.hint or "")
    with pytest.raises(ArchiveExposed):
        check_archive_target(str(path))
    assert path.read_text() == "old\n" and mode(path) == wide  # untouched


def test_force_appends_to_it_and_a_private_one_needs_no_force(tmp_path: Path) -> None:
    wide = tmp_path / "wide.jsonl"
    wide.write_text("old\n")
    wide.chmod(0o644)
    writer = ArchiveWriter(str(wide), force=True)
    writer.append(["new\n"])
    writer.close()
    assert wide.read_text() == "old\nnew\n" and mode(wide) == 0o644  # the user's file, the user's mode
    private = tmp_path / "private.jsonl"
    private.write_text("old")  # a killed run's half line
    private.chmod(0o600)
    check_archive_target(str(private))
    writer = ArchiveWriter(str(private))
    writer.append(["new\n"])
    writer.close()
    assert private.read_text() == "old\nnew\n"


def _dlq_with_one_message(boto: Callable[[str], Any]) -> tuple[str, str]:
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
    target = sqs.create_queue(QueueName="work")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"card": "4111 1111 1111 1111"}))
    return dlq, target


def _visible(boto: Callable[[str], Any], url: str) -> int:
    attributes = boto("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_redrive_refuses_a_world_readable_archive_before_moving_anything(
        eda: Callable[..., Result], boto: Callable[[str], Any], tmp_path: Path, open_umask: None) -> None:
    dlq, target = _dlq_with_one_message(boto)
    exposed = tmp_path / "exposed.jsonl"
    exposed.write_text("")
    exposed.chmod(0o644)
    refused = eda("redrive", "work-dlq", "--to", "work", "--archive", str(exposed), "--yes")
    assert_one_line_error(refused, 2)
    assert "exists with mode 0644" in refused.stderr and "--force" in refused.stderr
    assert _visible(boto, dlq) == 1 and exposed.read_text() == ""
    archive = tmp_path / "new.jsonl"
    moved = eda("redrive", "work-dlq", "--to", "work", "--archive", str(archive), "--yes",
                "--redact-preset", "pci")
    assert moved.code == 0, moved.stderr
    assert mode(archive) == 0o600  # under umask 000
    [line] = archive.read_text().splitlines()
    assert json.loads(json.loads(line)["body"]) == {"card": "4111 1111 1111 1111"}  # never masked
    assert _visible(boto, target) == 1
