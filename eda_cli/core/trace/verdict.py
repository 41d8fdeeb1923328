"""One line that says where the message is and what happened to it, from the hits."""

from __future__ import annotations

import re

from eda_cli.core.trace.model import IDEMPOTENCY, LOGS, SQS, STEPFUNCTIONS, STREAM, TABLE, Hit
from eda_cli.core.trace.sources import ERROR_LINE, one_line, plural


def _group(hits: list[Hit]) -> dict[str, list[Hit]]:
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.resource, []).append(hit)
    return groups


def _stem(queue: str) -> str:
    base = queue.removesuffix(".fifo")
    for suffix in ("-dlq", "_dlq", "-deadletter", "-dead-letter", "_deadletter"):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def _error_line(logs: list[Hit], owners: list[str]) -> Hit | None:
    """The latest error line, preferring a log group named after the queue's consumer."""
    errors = [h for h in logs if ERROR_LINE.search(str(h.detail.get("message", "")))]
    if not errors:
        return None
    preferred = [h for h in errors if any(o and o in h.resource for o in owners)]
    return (preferred or errors)[-1]


_EXCEPTION = re.compile(r"\b(?:[A-Za-z_][\w.]*(?:Error|Exception)|Task timed out)\b.*")


def _error_text(message: str) -> str:
    """The error in a log line: from the exception name on (`ValueError: amount ...`), else the line."""
    found = _EXCEPTION.search(message)
    return one_line(found.group(0) if found else message, 120)


def _labels(hits: list[Hit]) -> str:
    labels = sorted({str(h.detail.get("by") or h.resource) for h in hits})
    return ", ".join(labels)


def verdict(hits: tuple[Hit, ...] | list[Hit], *, searched: int, errors: int = 0, skipped: int = 0) -> str:
    """e.g. "stuck in payments-dlq (sent 2026-11-28T21:19:33.892Z; 3 receives by anyone, inspections
    included): last error logged ...; processed by inventory (orders-idempotency); never processed by
    payments (no idempotency record)"."""
    hits = list(hits)
    if not hits:
        text = f"not found in {plural(searched, 'place')} searched"
        if errors:
            text += f"; {errors} could not be searched"
        if skipped:
            text += f"; {skipped} skipped (see the list; --force reads queues with a RedrivePolicy)"
        return text
    clauses: list[str] = []
    logs = [h for h in hits if h.source == LOGS]
    never: list[str] = []
    for queue, found in _group([h for h in hits if h.source == SQS]).items():
        counts = [int(c) for c in (h.detail.get("receive_count") for h in found) if c is not None]
        sources = list(found[0].detail.get("redrive_sources") or [])
        if found[0].detail.get("dlq"):
            # Being in a DLQ is the evidence: SQS cannot tell a consumer's receive from an inspection's
            # (every peek or trace adds one), so the count is shown for what it is, never as retries.
            text = f"stuck in {queue}" if len(found) == 1 else f"{len(found)} messages stuck in {queue}"
            facts = []
            sent = sorted(str(h.detail["sent_at"]) for h in found if h.detail.get("sent_at"))
            if sent:
                facts.append(f"sent {sent[0]}")
            if max(counts, default=0):
                facts.append(f"{plural(max(counts), 'receive')} by anyone, inspections included")
            if facts:
                text += f" ({'; '.join(facts)})"
            error = next((h.detail["error"] for h in reversed(found) if h.detail.get("error")), None)
            if error and error.get("message"):
                text += f": ErrorMessage {one_line(str(error['message']), 100)!r}"
            else:
                line = _error_line(logs, [*sources, _stem(queue)])
                if line is not None:
                    text += f": {_error_text(str(line.detail['message']))!r} logged by {line.resource}"
            clauses.append(text)
            states = {h.detail.get("idempotency_record") for h in found}
            owner = ", ".join(sources) if sources else _stem(queue)
            if states == {"none"}:
                never.append(f"never processed by {owner} (no idempotency record)")
            elif "unattributed" in states and "found" not in states:
                never.append(f"no idempotency record keyed by its message id ({owner})")
            elif "found" in states:
                never.append(f"{owner} has an idempotency record for it although a copy is in {queue}")
        else:
            text = f"waiting in {queue}"
            most = max(counts, default=0)
            if most:
                text += f" ({plural(most, 'receive')} so far, inspections included)"
            clauses.append(text)
    for machine, found in _group([h for h in hits if h.source == STEPFUNCTIONS]).items():
        for hit in found:
            status = str(hit.detail.get("status"))
            text = f"{machine} execution {hit.detail.get('name')} {status.lower().replace('_', ' ')}"
            if hit.detail.get("failed_state"):
                text += f" at {hit.detail['failed_state']}"
            if hit.detail.get("error"):
                text += f": {hit.detail['error']}"
            clauses.append(text)
    records = [h for h in hits if h.source == IDEMPOTENCY]
    live = [h for h in records if not h.detail.get("expired")]
    done = [h for h in live if h.detail.get("status") in ("COMPLETED", "PROCESSED")]
    if done:
        tables = ", ".join(sorted({h.resource for h in done}))
        clauses.append(f"processed by {_labels(done)} ({tables})")
    running = [h for h in live if h.detail.get("status") == "INPROGRESS"]
    if running:
        stale = any(h.detail.get("lock_expired") for h in running)
        clauses.append(f"in progress in {_labels(running)}" + (" with an expired lock (crashed or timed out)"
                                                               if stale else ""))
    expired = [h for h in records if h.detail.get("expired")]
    if expired:
        clauses.append(f"expired idempotency record for {_labels(expired)} not yet deleted "
                       "(a redelivery would be processed again)")
    clauses.extend(never)
    if not clauses:
        seen = [plural(len([h for h in hits if h.source == kind]), word)
                for kind, word in ((LOGS, "log line"), (STREAM, "stream record"), (TABLE, "table item"))
                if any(h.source == kind for h in hits)]
        clauses.append("seen in " + ", ".join(seen) + "; in no queue, execution or idempotency table searched")
    return "; ".join(clauses)
