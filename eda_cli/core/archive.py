"""The redrive archive: every message, on disk and fsync'd, before it is sent anywhere.

Format: JSON Lines, one object per message, appended by `eda redrive --archive FILE` and read
back by `eda redrive replay FILE`. A line is written (and the file fsync'd) before the message's
SendMessageBatch, so any message that left the DLQ can be sent again from the archive.

    {"format": "eda-redrive-archive/1", "run_id": "...", "archived_at": "2025-01-01T12:00:00.000Z",
     "source_queue": "arn:aws:sqs:...:payments-dlq", "target_queue": "arn:aws:sqs:...:payments",
     "message_id": "...", "body": "<the body, exactly as received>",
     "message_attributes": {"amount": {"data_type": "Number.float", "string_value": "12.50"},
                            "signature": {"data_type": "Binary", "binary_value": "<base64>"}},
     "group_id": "g-1" | null, "trace_header": "Root=1-..." | null,
     "attributes": {"SentTimestamp": "...", "ApproximateReceiveCount": "...", ...}}

A run killed while writing can leave a last line cut short: that batch was never sent (the line
comes first), so readers skip such lines and writers start a fresh line after them.

An archive holds every body and attribute exactly as received (card numbers, emails: nothing is masked;
it exists to re-send the exact messages): it is created readable and writable by its owner only (0600)
whatever the umask, and an existing file that others may read or write is refused (`ArchiveExposed`)
unless the caller forces it.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from eda_cli.errors import UsageError

FORMAT = "eda-redrive-archive/1"
#: The mode of a new archive: its owner's only.
ARCHIVE_MODE = 0o600


class ArchiveExposed(UsageError):
    """The archive file exists with a mode that lets others read or write it (exit 2)."""

    def __init__(self, path: str, mode: int) -> None:
        super().__init__(
            f"the archive {path} exists with mode {mode:04o}: others could read the messages eda would append "
            "(bodies and attributes, unmasked)",
            hint=f"chmod 600 {path} first, name a new file, or pass --force to append anyway")
        self.path = path
        self.mode = mode


def check_archive_target(path: str, force: bool = False) -> None:
    """Before anything moves: an existing archive others may read or write is refused unless `force`."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # absent (created 0600), or unreadable: opening it says why
    if stat.S_ISREG(mode) and mode & 0o077 and not force:
        raise ArchiveExposed(path, stat.S_IMODE(mode))


def open_archive(path: str, force: bool = False) -> tuple[int, bool]:
    """(a file descriptor to append to, whether the file is new). A new file is 0600 whatever the umask; an
    existing one that others may read or write is refused unless `force` (checked on the open file)."""
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, ARCHIVE_MODE)
    except FileExistsError:
        fd = os.open(path, flags)
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISREG(mode) and mode & 0o077 and not force:
                raise ArchiveExposed(path, stat.S_IMODE(mode))
        except BaseException:
            os.close(fd)
            raise
        return fd, False
    try:
        os.fchmod(fd, ARCHIVE_MODE)  # the umask may have taken bits away; never let it add any
    except BaseException:
        os.close(fd)
        raise
    return fd, True


@dataclass(frozen=True)
class OutgoingMessage:
    """One message as eda re-sends it: everything SendMessageBatch needs, nothing lossy."""

    message_id: str
    body: str
    #: SQS wire form: {"name": {"DataType": "Number.float", "StringValue": "1.5"}}; binary values as bytes.
    message_attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    group_id: str | None = None
    trace_header: str | None = None
    #: System attributes as received (SentTimestamp, DeadLetterQueueSourceArn, ...).
    attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_received(cls, raw: Mapping[str, Any]) -> OutgoingMessage:
        attributes = {str(k): str(v) for k, v in (raw.get("Attributes") or {}).items()}
        return cls(
            message_id=str(raw["MessageId"]),
            body=str(raw.get("Body", "")),
            message_attributes=wire_attributes(raw.get("MessageAttributes") or {}),
            group_id=attributes.get("MessageGroupId"),
            trace_header=attributes.get("AWSTraceHeader"),
            attributes=attributes,
        )

    @property
    def size(self) -> int:
        """Bytes SQS counts against the 1 MiB limits: body plus every attribute's name, type and value."""
        total = len(self.body.encode("utf-8"))
        for name, attr in self.message_attributes.items():
            total += len(name.encode("utf-8")) + len(str(attr.get("DataType", "")).encode("utf-8"))
            if "BinaryValue" in attr:
                total += len(attr["BinaryValue"])
            else:
                total += len(str(attr.get("StringValue", "")).encode("utf-8"))
        return total


def wire_attributes(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Received message attributes, reduced to what SendMessage accepts, types and bytes untouched."""
    out: dict[str, dict[str, Any]] = {}
    for name, attr in raw.items():
        entry: dict[str, Any] = {"DataType": str(attr.get("DataType", "String"))}
        if attr.get("BinaryValue") is not None:
            value = attr["BinaryValue"]
            entry["BinaryValue"] = value.encode() if isinstance(value, str) else bytes(value)
        else:
            entry["StringValue"] = str(attr.get("StringValue", ""))
        out[str(name)] = entry
    return out


def _encode_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    encoded: dict[str, dict[str, str]] = {}
    for name, attr in sorted(attributes.items()):
        if "BinaryValue" in attr:
            encoded[name] = {
                "data_type": attr["DataType"],
                "binary_value": base64.b64encode(bytes(attr["BinaryValue"])).decode("ascii"),
            }
        else:
            encoded[name] = {"data_type": attr["DataType"], "string_value": str(attr.get("StringValue", ""))}
    return encoded


def _decode_attributes(encoded: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(encoded, dict):
        raise ValueError("message_attributes is not an object")
    out: dict[str, dict[str, Any]] = {}
    for name, attr in encoded.items():
        if not isinstance(attr, dict) or "data_type" not in attr:
            raise ValueError(f"message attribute {name!r} has no data_type")
        if "binary_value" in attr:
            out[str(name)] = {
                "DataType": str(attr["data_type"]),
                "BinaryValue": base64.b64decode(attr["binary_value"], validate=True),
            }
        else:
            out[str(name)] = {"DataType": str(attr["data_type"]), "StringValue": str(attr.get("string_value", ""))}
    return out


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_line(message: OutgoingMessage, *, run_id: str, source: str, target: str, archived_at: str | None = None) -> str:
    """One archive line (with its newline) for `message`, on its way from `source` to `target`."""
    record = {
        "format": FORMAT,
        "run_id": run_id,
        "archived_at": archived_at or _now_iso(),
        "source_queue": source,
        "target_queue": target,
        "message_id": message.message_id,
        "body": message.body,
        "message_attributes": _encode_attributes(message.message_attributes),
        "group_id": message.group_id,
        "trace_header": message.trace_header,
        "attributes": message.attributes,
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class ArchivedMessage:
    line: int
    run_id: str
    source_queue: str
    target_queue: str
    message: OutgoingMessage


@dataclass(frozen=True)
class BadLine:
    """A line that is not an archive record (for example one cut short by a killed run)."""

    line: int
    problem: str


def from_line(text: str, line: int) -> ArchivedMessage | BadLine:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return BadLine(line, f"not JSON ({exc.msg})")
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        return BadLine(line, f"not an {FORMAT} record")
    try:
        message = OutgoingMessage(
            message_id=str(record["message_id"]),
            body=str(record["body"]),
            message_attributes=_decode_attributes(record.get("message_attributes") or {}),
            group_id=record.get("group_id"),
            trace_header=record.get("trace_header"),
            attributes={str(k): str(v) for k, v in (record.get("attributes") or {}).items()},
        )
    except (KeyError, ValueError, TypeError) as exc:
        return BadLine(line, f"incomplete record ({exc})")
    return ArchivedMessage(
        line=line,
        run_id=str(record.get("run_id", "")),
        source_queue=str(record.get("source_queue", "")),
        target_queue=str(record.get("target_queue", "")),
        message=message,
    )


def read_archive(path: str) -> Iterator[ArchivedMessage | BadLine]:
    """The archive's records in order, streamed (memory does not grow with the file)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield from_line(text, number)


class ArchiveWriter:
    """Appends lines and makes them durable (flush + fsync) before `append` returns. Thread-safe."""

    def __init__(self, path: str, *, force: bool = False) -> None:
        self.path = path
        self._lock = threading.Lock()
        fd, created = open_archive(path, force)
        existed = not created
        self._file = os.fdopen(fd, "ab")
        self._file.seek(0, os.SEEK_END)
        if existed and self._file.tell() > 0 and not _ends_with_newline(path):
            # A killed run left half a line: start ours on a fresh one so no record is glued to it.
            self._file.write(b"\n")
        self._sync()
        if not existed:
            _fsync_directory(os.path.dirname(os.path.abspath(path)))

    def append(self, lines: list[str]) -> None:
        data = "".join(lines).encode("utf-8")
        with self._lock:
            self._file.write(data)
            self._sync()

    def _sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _fsync_directory(directory: str) -> None:
    """Make a new file's directory entry durable too (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
