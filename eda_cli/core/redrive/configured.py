"""DLQs that configuration names (an SNS subscription's RedrivePolicy, a Lambda function's DeadLetterConfig or its
async on-failure destination): where each of their messages was going, and how to deliver it there.

What each writes to its DLQ, and where eda sends it:

* An SNS subscription writes what it would have delivered: without raw message delivery the body is the
  notification envelope (Type, MessageId, TopicArn, Message, Timestamp, Signature..., UnsubscribeURL,
  MessageAttributes) and there are no message attributes; with raw delivery the body is the message as published
  and its attributes are the SQS message attributes (as AWS answers LocalStack's AWS-validated
  test_redrive_policy_sqs_queue_subscription; see eda_cli/sandbox/demo_pipeline/dead_letters.py). So an SQS
  endpoint gets the message as it is (SendMessageBatch, attributes kept); a Lambda endpoint is invoked
  asynchronously with the SNS event built from the envelope. Never the topic: every other subscriber would get it
  again. Other protocols (http/s, email, sms, firehose, application) are refused. When several subscriptions
  name the DLQ, a message goes to the one its envelope's UnsubscribeURL names; a raw message names none, and is
  refused (pass --to).
* A function's DeadLetterConfig: the body is the event the function was invoked with, and the message attributes
  are RequestID, ErrorCode and ErrorMessage; the messages do not name the function. It is invoked again
  asynchronously (InvocationType=Event) with the body as payload.
* A function's on-failure destination (an SQS queue): the body is an invocation record, whose
  requestContext.functionArn names the function and requestPayload holds the event; that function is invoked
  again asynchronously with requestPayload.
* An event source mapping's on-failure destination (a DynamoDB stream's or a Kinesis stream's mapping): the body
  names a shard and a sequence range, not the records; they are read back from the stream and the function is
  invoked with them in its stream event, or with --to-file they are written to a file (stream_batches.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

from eda_cli.aws.errors import describe
from eda_cli.core.archive import ArchiveWriter, OutgoingMessage
from eda_cli.core.dlq.model import (
    FOUND_BY_LAMBDA_ASYNC,
    FOUND_BY_LAMBDA_ON_FAILURE,
    FOUND_BY_MAPPING,
    FOUND_BY_SNS,
    Source,
)
from eda_cli.core.redrive.destinations import Destination, LambdaDestination, PayloadError, Refused, sqs_destination
from eda_cli.core.redrive.model import Sleep
from eda_cli.core.redrive.sqs_io import Caller, queue_info
from eda_cli.core.redrive.stream_batches import StreamBatch, StreamBatchDestination, range_reader, stream_batch

#: The origins whose DLQs eda redrives from configuration (a `Source.kind` each).
CONFIGURED_KINDS = (FOUND_BY_SNS, FOUND_BY_LAMBDA_ASYNC, FOUND_BY_LAMBDA_ON_FAILURE, FOUND_BY_MAPPING)
#: The message attributes Lambda sets on what it writes to a function's DLQ.
LAMBDA_DLQ_ATTRIBUTES = ("RequestID", "ErrorCode", "ErrorMessage")
#: SNS subscription protocols eda delivers to.
SNS_PROTOCOLS = ("sqs", "lambda")

Client = Callable[[str], Any]


def subscription_of(envelope: Mapping[str, Any]) -> str | None:
    """The subscription ARN an SNS envelope's UnsubscribeURL names (...?Action=Unsubscribe&SubscriptionArn=ARN)."""
    url = envelope.get("UnsubscribeURL")
    if not isinstance(url, str):
        return None
    values = parse_qs(urlparse(url).query).get("SubscriptionArn")
    return values[0] if values else None


def envelope_of(body: str) -> dict[str, Any] | None:
    """The SNS notification envelope a body is, else None."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("Type") == "Notification" and "Message" in value and "TopicArn" in value:
        return value
    return None


def sns_event(envelope: Mapping[str, Any], subscription_arn: str) -> dict[str, Any]:
    """The event Lambda gets from an SNS subscription, built from the envelope SNS wrote to the DLQ. Lambda's
    record spells SigningCertUrl and UnsubscribeUrl (the envelope: SigningCertURL, UnsubscribeURL)."""
    return {"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": envelope.get("Type"),
            "MessageId": envelope.get("MessageId"),
            "TopicArn": envelope.get("TopicArn"),
            "Subject": envelope.get("Subject"),
            "Message": envelope.get("Message"),
            "Timestamp": envelope.get("Timestamp"),
            "SignatureVersion": envelope.get("SignatureVersion"),
            "Signature": envelope.get("Signature"),
            "SigningCertUrl": envelope.get("SigningCertURL"),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL"),
            "MessageAttributes": envelope.get("MessageAttributes") or {},
        },
    }]}


def invocation_record(body: str) -> dict[str, Any] | None:
    """A Lambda on-failure destination record (requestContext.functionArn, requestPayload), else None."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    context = value.get("requestContext") if isinstance(value, dict) else None
    if isinstance(context, dict) and isinstance(context.get("functionArn"), str) and "requestPayload" in value:
        return dict(value)
    return None


def function_name(arn: str) -> str:
    """A function's name from its ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])."""
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 else arn


def function_label(arn: str) -> str:
    """`name`, or `name:qualifier` for an alias or version ($LATEST is the function itself)."""
    parts = arn.split(":")
    qualifier = parts[7] if len(parts) > 7 else None
    return f"{function_name(arn)}:{qualifier}" if qualifier and qualifier != "$LATEST" else function_name(arn)


def _with_payload(build: Callable[[OutgoingMessage], str]) -> Callable[[OutgoingMessage], OutgoingMessage]:
    def transform(message: OutgoingMessage) -> OutgoingMessage:
        return OutgoingMessage(message_id=message.message_id, body=build(message), trace_header=message.trace_header)

    return transform


def _sns_payload(subscription_arn: str) -> Callable[[OutgoingMessage], OutgoingMessage]:
    def build(message: OutgoingMessage) -> str:
        envelope = envelope_of(message.body)
        if envelope is None:
            raise PayloadError("the body is not an SNS notification envelope, so eda cannot build the SNS event "
                               "the function takes")
        return json.dumps(sns_event(envelope, subscription_arn), separators=(",", ":"), ensure_ascii=False)

    return _with_payload(build)


def _request_payload(message: OutgoingMessage) -> str:
    record = invocation_record(message.body)
    if record is None:
        raise PayloadError("the body is not a Lambda invocation record (requestContext.functionArn, requestPayload)")
    return json.dumps(record["requestPayload"], separators=(",", ":"), ensure_ascii=False)


class ConfiguredRoutes:
    """The destination of each message of a DLQ named by configuration (`sources`, of CONFIGURED_KINDS), chosen
    from the message itself where it says (an envelope's subscription, a record's function), else the only
    source of its kind. Destinations are resolved once (an SQS endpoint's queue is read) and kept.

    `client(service)` hands out (counted) clients; None refuses every message (the Python API without clients).
    `to_file` (--to-file) sends the records of stream on-failure records to that file (through `writer`, None in
    a dry run) instead of invoking their function."""

    def __init__(self, sources: tuple[Source, ...], sqs: Any, client: Client | None, call: Caller,
                 dlq_name: str, dlq_arn: str, *, to_file: str | None = None, writer: ArchiveWriter | None = None,
                 sleep: Sleep | None = None) -> None:
        self.sqs = sqs
        self.client = client
        self.call = call
        self.dlq_name = dlq_name
        self.dlq_arn = dlq_arn
        self.subscriptions = {s.arn: s for s in sources if s.kind == FOUND_BY_SNS}
        self.functions = [s for s in sources if s.kind == FOUND_BY_LAMBDA_ASYNC]
        self.on_failure = [s for s in sources if s.kind == FOUND_BY_LAMBDA_ON_FAILURE]
        self.mappings = [s for s in sources if s.kind == FOUND_BY_MAPPING]
        self.to_file = to_file
        self.writer = writer
        self.sleep: Sleep = sleep or time.sleep
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str], Destination | Refused] = {}

    @property
    def notes(self) -> list[str]:
        """What the stream destinations noticed (a range holding more records than its batch had)."""
        with self._lock:
            routes = list(self._routes.values())
        return [note for r in routes if isinstance(r, StreamBatchDestination) for note in r.notes]

    # -- which source a message belongs to ------------------------------------------------------------

    def route(self, message: OutgoingMessage) -> Destination | Refused:
        batch = stream_batch(message.body) if (self.mappings or self.to_file) else None
        if batch is not None:
            return self._stream(batch)
        if self.to_file and not (self.subscriptions or self.functions or self.on_failure):
            return Refused("unknown", "(not an on-failure record)", self.dlq_arn,
                           "--to-file writes the records of stream on-failure records (DDBStreamBatchInfo, "
                           "KinesisBatchInfo) only, and this message is not one", route="--to-file")
        record = invocation_record(message.body) if self.on_failure else None
        if record is not None:
            return self._on_failure(str(record["requestContext"]["functionArn"]))
        if self.subscriptions:
            envelope = envelope_of(message.body)
            named = subscription_of(envelope) if envelope is not None else None
            if named is not None:
                named_source = self.subscriptions.get(named)
                if named_source is None:
                    return Refused("sns", f"subscription:{named.rsplit(':', 1)[-1]}", named,
                                   f"its envelope names subscription {named}, whose RedrivePolicy does not name "
                                   f"{self.dlq_name} (deleted or changed since?); pass --to QUEUE",
                                   route=FOUND_BY_SNS)
                return self._subscribed(named_source)
        lambda_error = any(k in message.message_attributes for k in LAMBDA_DLQ_ATTRIBUTES)
        if self.functions and (lambda_error or not (self.subscriptions or self.on_failure)):
            if len(self.functions) == 1:
                function = self.functions[0]
                return self._resolve(("async", function.arn), lambda: self._function(function))
            return Refused("lambda", "lambda:(several)", self.dlq_arn,
                           f"{len(self.functions)} functions name {self.dlq_name} as their DLQ "
                           f"({', '.join(s.owner for s in self.functions)}) and a Lambda DLQ message does not say "
                           "which one it comes from; pass --to QUEUE", route=FOUND_BY_LAMBDA_ASYNC)
        if len(self.subscriptions) == 1 and not lambda_error:
            (only,) = self.subscriptions.values()
            return self._subscribed(only)
        if self.subscriptions and not lambda_error:
            return Refused("sns", "sns:(several)", self.dlq_arn,
                           f"{len(self.subscriptions)} subscriptions name {self.dlq_name} as their DLQ "
                           f"({', '.join(s.owner for s in self.subscriptions.values())}) and this message does not "
                           "say which one it comes from (raw delivery: no envelope, no UnsubscribeURL); "
                           "pass --to QUEUE", route=FOUND_BY_SNS)
        if self.on_failure:
            return Refused("lambda", "lambda:(on-failure)", self.dlq_arn,
                           "the body is not a Lambda invocation record (requestContext.functionArn, requestPayload)",
                           route=FOUND_BY_LAMBDA_ON_FAILURE)
        if self.mappings:
            return Refused("lambda", "lambda:(event source mapping)", self.dlq_arn,
                           "the body is not an event source mapping's on-failure record (DDBStreamBatchInfo or "
                           "KinesisBatchInfo)", route=FOUND_BY_MAPPING)
        return Refused("unknown", "(unknown)", self.dlq_arn,
                       "it matches none of the configured origins of this DLQ; pass --to QUEUE", route="configuration")

    def _subscribed(self, source: Source) -> Destination | Refused:
        return self._resolve(("sns", source.arn), lambda: self._subscription(source))

    def _resolve(self, key: tuple[str, str], make: Callable[[], Destination | Refused]) -> Destination | Refused:
        known = self._routes.get(key)
        if known is not None:
            return known
        with self._lock:
            if key not in self._routes:
                try:
                    route = make()
                except Exception as exc:  # a failed lookup answers for this origin's messages only
                    route = Refused("unknown", key[1], key[1], f"cannot read where it goes: {describe(exc)}",
                                    route=key[0])
                if isinstance(route, Destination):
                    route.isolated_errors = True
                self._routes[key] = route
            return self._routes[key]

    # -- each kind ---------------------------------------------------------------------------------------

    def _lambda(self) -> Any:
        if self.client is None:
            raise PayloadError("eda was given no AWS clients for Lambda")
        return self.client("lambda")

    def _subscription(self, source: Source) -> Destination | Refused:
        protocol = str(source.detail("protocol") or "")
        endpoint = str(source.detail("endpoint") or "")
        label = endpoint.rsplit(":", 1)[-1] if endpoint.startswith("arn:") else endpoint
        if protocol not in SNS_PROTOCOLS:
            return Refused(protocol or "unknown", f"{protocol}:{label}", source.arn,
                           f"eda does not redrive to SNS subscriptions of protocol {protocol} (subscription "
                           f"{source.owner}; it delivers to sqs and lambda endpoints); pass --to QUEUE",
                           route=FOUND_BY_SNS)
        if protocol == "sqs":
            if endpoint == self.dlq_arn:
                return Refused("sqs", label, endpoint, "the endpoint is this DLQ itself: delivering would only loop",
                               route=FOUND_BY_SNS)
            parts = endpoint.split(":")
            try:
                url = self.call(self.sqs.get_queue_url, QueueName=parts[5],
                                QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
                queue = queue_info(self.sqs, url, parts[5])
            except Exception as exc:
                return Refused("sqs", label, endpoint, f"cannot read the endpoint queue: {describe(exc)}",
                               route=FOUND_BY_SNS)
            # SNS wrote the message as it would have delivered it: sent on as it is, attributes kept
            return sqs_destination(queue, self.sqs, FOUND_BY_SNS, self.dlq_name)
        if self.client is None:
            return Refused("lambda", f"lambda:{function_label(endpoint)}", endpoint,
                           "eda was given no AWS clients for Lambda", route=FOUND_BY_SNS)
        return LambdaDestination("lambda", f"lambda:{function_label(endpoint)}", endpoint, "Invoke", FOUND_BY_SNS,
                                 transform=_sns_payload(source.arn), client=self._lambda())

    def _function(self, source: Source) -> Destination | Refused:
        if self.client is None:
            return Refused("lambda", f"lambda:{source.owner}", source.arn, "eda was given no AWS clients for Lambda",
                           route=FOUND_BY_LAMBDA_ASYNC)
        # the body is the event the function was invoked with: sent as it is, without Lambda's error attributes
        return LambdaDestination("lambda", f"lambda:{source.owner}", source.arn, "Invoke", FOUND_BY_LAMBDA_ASYNC,
                                 transform=_with_payload(lambda m: m.body), client=self._lambda())

    def _on_failure(self, function_arn: str) -> Destination | Refused:
        name = function_name(function_arn)
        if not any(function_name(s.arn) == name for s in self.on_failure):
            return Refused("lambda", f"lambda:{function_label(function_arn)}", function_arn,
                           f"the record names function {name}, whose on-failure destination is not {self.dlq_name}; "
                           "pass --to QUEUE", route=FOUND_BY_LAMBDA_ON_FAILURE)

        def make() -> Destination | Refused:
            if self.client is None:
                return Refused("lambda", f"lambda:{function_label(function_arn)}", function_arn,
                               "eda was given no AWS clients for Lambda", route=FOUND_BY_LAMBDA_ON_FAILURE)
            return LambdaDestination("lambda", f"lambda:{function_label(function_arn)}", function_arn, "Invoke",
                                     FOUND_BY_LAMBDA_ON_FAILURE, transform=_with_payload(_request_payload),
                                     client=self._lambda())

        return self._resolve(("on-failure", function_arn), make)


    def _stream(self, batch: StreamBatch) -> Destination | Refused:
        """The function the record names, invoked with the range's records (when a mapping of that function on
        that stream names this DLQ), or the --to-file file."""
        if self.to_file:
            path = self.to_file

            def to_file() -> Destination | Refused:
                if self.client is None:
                    return Refused("file", path, path, "eda was given no AWS clients to read streams with",
                                   route=FOUND_BY_MAPPING)
                return StreamBatchDestination("file", path, path, "GetRecords -> JSONL", FOUND_BY_MAPPING,
                                              reader=range_reader(self.client, self.sleep), writer=self.writer)

            return self._resolve(("file", path), to_file)
        arn = batch.function_arn
        label = f"lambda:{function_label(arn)}" if arn else "lambda:(unnamed)"
        name = function_name(arn)
        if not any(function_name(str(s.detail("function_arn") or "")) == name
                   and s.detail("event_source_arn") == batch.stream_arn for s in self.mappings):
            return Refused("lambda", label, arn or self.dlq_arn,
                           f"no event source mapping of function {name or '(none named)'} on {batch.stream_arn} sends "
                           f"its failures to {self.dlq_name}; pass --to-file FILE to write the records instead",
                           route=FOUND_BY_MAPPING)

        def make() -> Destination | Refused:
            if self.client is None:
                return Refused("lambda", label, arn, "eda was given no AWS clients for Lambda", route=FOUND_BY_MAPPING)
            return StreamBatchDestination("lambda", label, arn, "GetRecords -> Invoke", FOUND_BY_MAPPING,
                                          client=self._lambda(), reader=range_reader(self.client, self.sleep))

        return self._resolve(("mapping", arn), make)


def describe_sources(sources: tuple[Source, ...]) -> str:
    """One phrase naming what names the DLQ: `subscription orders -> inventory (sqs, raw delivery off)`, ..."""
    phrases = []
    for s in sources:
        if s.kind == FOUND_BY_SNS:
            raw = "on" if s.detail("raw_message_delivery") else "off"
            phrases.append(f"subscription {s.owner} ({s.detail('protocol')}, raw delivery {raw})")
        elif s.kind == FOUND_BY_LAMBDA_ASYNC:
            phrases.append(f"function {s.owner} (its DeadLetterConfig)")
        elif s.kind == FOUND_BY_MAPPING:
            phrases.append(f"event source mapping {s.owner} (its on-failure destination)")
        else:
            phrases.append(f"function {s.owner} (its on-failure destination)")
    return "; ".join(phrases)
