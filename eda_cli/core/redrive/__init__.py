"""Redrive: move messages out of a dead-letter queue, at least once and never losing one.

Copy mode is receive -> (archive, fsync) -> SendMessageBatch -> DeleteMessageBatch of exactly the
entries whose send succeeded. A message leaves the DLQ only after SQS has accepted its copy, so a
crash at any moment leaves every message in the DLQ, in the target, or in both (a duplicate,
bounded by the one batch each worker has in flight). Native mode hands the whole move to SQS
(StartMessageMoveTask) and watches it.

Copy mode's send step is a destination (`destinations`): an SQS queue, or, for an EventBridge target's
DLQ, the target each message names (SQS, SNS, Lambda, Step Functions, another bus, Kinesis, Firehose),
never the bus unless asked (`--to-bus`); for a DLQ an SNS subscription or a Lambda function names in its
configuration, that subscription's endpoint (SQS, Lambda) or that function, never the topic; for an event source
mapping's DLQ, the stream records each on-failure record names, read back from the stream, to that function (or
--to-file to a file). Every destination reads its API's per-entry answer, so the delete still removes exactly
what was accepted.

The package, along its seams:

- `model`: limits, options, plan, progress and the result (`RedriveResult.build`, its one builder)
- `plan`: reading the DLQ, its sources and the target, and choosing the mode (`plan_redrive`)
- `sqs_io`: retries, the rate limit, batches within SQS's limits, SendMessageBatch and its Failed list
- `copy` (the workers and their calls) and `ledger` (what became of each message): copy mode
- `routes` (where each message goes), `destinations` (one class per kind, each with `send`),
  `eventbridge` (reading an EventBridge DLQ message's rule and target, and the target's configuration) and
  `configured` (an SNS subscription's DLQ to its endpoint, a Lambda function's DLQ or on-failure records to it),
  `stream_batches` (stream on-failure records: the range read back, then Invoke or --to-file)
- `native`: native mode, a move task and a check of what arrived
- `run`: `run_redrive` (carry out a plan) and `redrive` (plan and run)
- `replay`: sending an archive again
- `tasks`: move tasks: probe, status, cancel
"""

from __future__ import annotations

from eda_cli.core.archive import ArchivedMessage
from eda_cli.core.redrive.destinations import Destination, Refused
from eda_cli.core.redrive.eventbridge import DLQ_ATTRIBUTES, eventbridge_origin, parse_rule_arn, target_kind
from eda_cli.core.redrive.model import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    MODES,
    NATIVE_MAX_RATE,
    Matcher,
    RedriveOptions,
    RedrivePlan,
    RedriveProgress,
    RedriveResult,
    filter_event,
    nothing_moved_error,
)
from eda_cli.core.redrive.plan import list_sources, plan_redrive
from eda_cli.core.redrive.replay import ArchiveSummary, replay, scan_archive
from eda_cli.core.redrive.run import redrive, run_redrive
from eda_cli.core.redrive.sqs_io import (
    MAX_BATCH_BYTES,
    MAX_BATCH_ENTRIES,
    ApiCounter,
    TokenBucket,
    build_entry,
    dedup_id,
    is_retryable,
    queue_depth,
    send_batch,
    split_by_size,
)
from eda_cli.core.redrive.tasks import (
    CancelResult,
    MoveTask,
    cancel_move_task,
    list_move_tasks,
    probe_move_tasks,
    queue_arn,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DLQ_ATTRIBUTES",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ENTRIES",
    "MAX_CONCURRENCY",
    "MODES",
    "NATIVE_MAX_RATE",
    "ApiCounter",
    "ArchiveSummary",
    "ArchivedMessage",
    "CancelResult",
    "Destination",
    "Matcher",
    "MoveTask",
    "RedriveOptions",
    "RedrivePlan",
    "RedriveProgress",
    "RedriveResult",
    "Refused",
    "TokenBucket",
    "build_entry",
    "cancel_move_task",
    "dedup_id",
    "eventbridge_origin",
    "filter_event",
    "is_retryable",
    "list_move_tasks",
    "list_sources",
    "nothing_moved_error",
    "parse_rule_arn",
    "plan_redrive",
    "probe_move_tasks",
    "queue_arn",
    "queue_depth",
    "redrive",
    "replay",
    "run_redrive",
    "scan_archive",
    "send_batch",
    "split_by_size",
    "target_kind",
]
