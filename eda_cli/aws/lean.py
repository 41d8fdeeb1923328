"""A lean transport for the SQS calls of redrive's copy mode: the same requests, less Python per request.

SQS speaks the AWS JSON 1.0 protocol (botocore's sqs service-2.json: `protocol` json, `targetPrefix` AmazonSQS),
so a request is a POST of `json.dumps(params)` with `X-Amz-Target: AmazonSQS.<Operation>`. botocore spends
about 1.3 ms of CPU on each (validation, serialisation walking the shape tree, endpoint rules, a dozen events,
parsing walking the shape tree again); copy mode makes ~0.3 requests per message. `LeanSqs` keeps botocore for
everything that decides what goes on the wire or what an answer means, and drops the rest:

- signing: SigV4 exactly as botocore's `SigV4Auth` signs these requests (the same canonical request, headers,
  scope and Authorization; tests/test_lean_sqs.py holds the two to the same bytes), with the session's credentials
  frozen afresh for every attempt (refreshing and assumed-role credentials keep working) and the day's signing key
  kept instead of four HMACs per request;
- sending: the client's own `URLLib3Session` (its proxies, CA bundle, timeouts, connection pool) to the client's
  resolved endpoint; `before-send` is emitted as botocore's endpoint does (a handler may answer instead: moto's
  in-process mock, a test counting the wire);
- retries: the client's own `needs-retry` handler (the session's retry mode, max attempts and retry quota), given
  the same arguments as botocore's endpoint gives it; `after-call` too (the retry quota's release, SQS's
  query-compatible error codes);
- counting: `before-parameter-build` is emitted once per call, as botocore does (eda's ApiCounter listens there);
- errors: an error answer is parsed by botocore's own JSON parser and raised as the client's modeled exception
  class (a `ClientError` with the same `Error` and `ResponseMetadata`), exactly as the client would;
- success: `json.loads`, with the Binary message attribute values (base64 in JSON) decoded to bytes as botocore's
  parser does (and bytes encoded to base64 on the way out, as its serialiser does).

Only for a client the session built itself, with no handler on the events that could answer or change a request
that botocore's own (a botocore Stubber, say): anything else keeps going through the client (`lean_sqs` returns it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

#: The operations copy mode makes per batch (and at its end), sent the lean way; any other goes through the client.
LEAN_OPERATIONS = {
    "receive_message": "ReceiveMessage",
    "send_message_batch": "SendMessageBatch",
    "delete_message_batch": "DeleteMessageBatch",
    "get_queue_attributes": "GetQueueAttributes",
    "change_message_visibility_batch": "ChangeMessageVisibilityBatch",
}

#: The handlers a botocore client has on the events a lean call does not emit (by module and name): any other (a
#: Stubber's answer on before-call, a header added on request-created...) and the client is used as it is.
_EXPECTED_HANDLERS: dict[str, set[str]] = {
    "provide-client-params": set(),
    "before-endpoint-resolution": set(),
    "before-call": {"botocore.handlers.add_recursion_detection_header",
                    "botocore.handlers.inject_api_version_header_if_needed"},
    "request-created": {"botocore.signers.RequestSigner.handler",
                        "botocore.retries.standard.MaxAttemptsSeeder.seed_max_attempts",
                        "botocore.useragent.UserAgentString.rebuild_and_replace_user_agent_handler",
                        "botocore.handlers.add_retry_headers"},
    "before-sign": set(),
    "before-parse": set(),
    "after-call-error": set(),
}

#: The environment switch for benchmarks and bisecting: EDA_LEAN_SQS=0 sends every call through botocore.
SWITCH = "EDA_LEAN_SQS"


def enabled() -> bool:
    return os.environ.get(SWITCH, "1").strip().lower() not in {"0", "false", "no", "off"}


def _handler_names(client: Any, event: str) -> set[str] | None:
    """The handlers registered for an event on a client's emitter, or None when botocore's emitter cannot say."""
    emitter = getattr(client.meta.events, "_emitter", client.meta.events)
    search = getattr(getattr(emitter, "_handlers", None), "prefix_search", None)
    if search is None:
        return None
    return {f"{getattr(h, '__module__', '?')}.{getattr(h, '__qualname__', repr(h))}" for h in search(event)}


def why_not_lean(client: Any) -> str | None:
    """Why a client cannot be bypassed (None: it can). Never guesses: anything unexpected is a reason."""
    try:
        from botocore.awsrequest import AWSPreparedRequest, HeadersDict  # noqa: F401 (what LeanSqs sends with)
        from botocore.httpsession import URLLib3Session
    except ImportError:  # pragma: no cover
        return "botocore lacks what the lean transport uses"
    meta = getattr(client, "meta", None)
    model = getattr(meta, "service_model", None)
    if model is None or model.service_name != "sqs":
        return "not an SQS client"
    metadata = model.metadata
    if metadata.get("protocol") != "json" or metadata.get("jsonVersion") != "1.0" or \
            metadata.get("targetPrefix") != "AmazonSQS":
        return "this botocore's SQS model does not speak AWS JSON 1.0"
    if not isinstance(getattr(getattr(client, "_endpoint", None), "http_session", None), URLLib3Session):
        return "the client does not send through botocore's URLLib3Session"
    retries = getattr(getattr(meta, "config", None), "retries", None) or {}
    if retries.get("mode") != "standard":
        return "retries are not in botocore's standard mode"
    for operation in LEAN_OPERATIONS.values():
        for event, expected in _EXPECTED_HANDLERS.items():
            names = _handler_names(client, f"{event}.sqs.{operation}")
            if names is None:
                return "botocore's event emitter cannot list its handlers"
            if names - expected:
                return f"{event}.sqs.{operation} has handlers of its own: {sorted(names - expected)}"
    return None


def _blob(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot send {type(value).__name__} in an SQS request")


def _decode_binary(attributes: Mapping[str, Any]) -> None:
    for value in attributes.values():
        if "BinaryValue" in value:
            value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
        if "BinaryListValues" in value:
            value["BinaryListValues"] = [base64.b64decode(v) for v in value["BinaryListValues"]]


class SigV4:
    """SigV4 for a lean request (a POST of a JSON body to one endpoint), as botocore's SigV4Auth.add_auth signs it:
    X-Amz-Date (and X-Amz-Security-Token) added, every header but botocore's unsigned ones signed, plus host, the
    body's SHA-256, and the Authorization header. What differs is only the work: the host, path and scope parts
    are worked out once, and the signing key (four HMACs) once per day, key and region."""

    def __init__(self, url: str, service: str, region: str) -> None:
        from urllib.parse import quote, urlsplit

        from botocore.auth import SIGNED_HEADERS_BLACKLIST
        from botocore.compat import get_current_datetime
        from botocore.utils import normalize_url_path

        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
            host = f"{host}:{parts.port}"
        self._host = host
        self._path = quote(normalize_url_path(parts.path), safe="/~")
        pairs = sorted(pair.partition("=")[::2] for pair in parts.query.split("&")) if parts.query else []
        self._query = "&".join(f"{key}={value}" for key, value in pairs)
        self._unsigned = frozenset(SIGNED_HEADERS_BLACKLIST)
        self._service = service
        self._region = region
        self._now = get_current_datetime
        self._key: tuple[tuple[str, str], bytes] | None = None

    def _signing_key(self, secret: str, day: str) -> bytes:
        cached = self._key
        if cached is not None and cached[0] == (secret, day):
            return cached[1]
        key = f"AWS4{secret}".encode()
        for part in (day, self._region, self._service, "aws4_request"):
            key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
        self._key = ((secret, day), key)
        return key

    def sign(self, headers: dict[str, str], body: bytes, credentials: Any) -> None:
        """Add X-Amz-Date, X-Amz-Security-Token (temporary credentials) and Authorization to `headers`."""
        if credentials is None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        stamp = self._now().strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        headers.pop("Authorization", None)
        headers["X-Amz-Date"] = stamp
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        signed: dict[str, str] = {}
        for name, value in headers.items():
            lower = name.lower()
            if lower not in self._unsigned:
                signed[lower] = " ".join(value.split())
        signed.setdefault("host", self._host)
        names = sorted(signed)
        canonical = "\n".join((
            "POST", self._path, self._query, "".join(f"{name}:{signed[name]}\n" for name in names), ";".join(names),
            hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256,
        ))
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
        signature = hmac.new(self._signing_key(credentials.secret_key, day), to_sign.encode("utf-8"),
                             hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
                                    f"SignedHeaders={';'.join(names)}, Signature={signature}")


#: SHA-256 of nothing (a request without a body; botocore's EMPTY_SHA256_HASH).
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


class LeanSqs:
    """The SQS client of a run, with LEAN_OPERATIONS sent the lean way; any other attribute is the client's."""

    def __init__(self, client: Any, credentials: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        from botocore.awsrequest import AWSPreparedRequest, HeadersDict
        from botocore.parsers import create_parser

        self._prepared = AWSPreparedRequest
        self._headers = HeadersDict
        self._client = client
        self._credentials = credentials
        self._sleep = sleep
        self._events = client.meta.events
        self._model = client.meta.service_model
        self._region = client.meta.region_name
        self._signing_name = self._model.signing_name or "sqs"
        self._url = client.meta.endpoint_url.rstrip("/") + "/"
        self._signer = SigV4(self._url, self._signing_name, self._region)
        self._http = client._endpoint.http_session
        self._parser = create_parser("json")
        self._config = client.meta.config
        user_agent = getattr(client, "_user_agent_creator", None)
        self._user_agent = user_agent.to_string() if user_agent is not None else self._config.user_agent
        self._operations = {name: self._model.operation_model(name) for name in LEAN_OPERATIONS.values()}
        for method, operation in LEAN_OPERATIONS.items():
            setattr(self, method, self._method(operation))

    @property
    def meta(self) -> Any:
        return self._client.meta

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not the client's privates (nor a loop before __init__ has set _client)
            raise AttributeError(name)
        return getattr(self._client, name)

    def _method(self, operation: str) -> Callable[..., dict[str, Any]]:
        def call(**params: Any) -> dict[str, Any]:
            return self.call(operation, params)

        call.__name__ = operation
        return call

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        model = self._operations[operation]
        context: dict[str, Any] = {"client_region": self._region, "client_config": self._config,
                                   "has_streaming_input": False, "auth_type": "v4"}
        self._events.emit(f"before-parameter-build.sqs.{operation}", params=params, model=model, context=context)
        body = json.dumps(params, default=_blob, separators=(",", ":")).encode()
        headers = {"X-Amz-Target": f"AmazonSQS.{operation}", "Content-Type": "application/x-amz-json-1.0",
                   "x-amzn-query-mode": "true", "User-Agent": self._user_agent}
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # botocore's add_recursion_detection_header
            headers["X-Amzn-Trace-Id"] = trace
        request_dict = {"context": context, "body": body, "headers": headers, "url": self._url, "method": "POST"}
        attempts = 1
        while True:
            http, parsed, exception = self._attempt(operation, model, body, headers, context)
            response = (http, parsed) if exception is None else None
            retry = self._events.emit(f"needs-retry.sqs.{operation}", response=response, endpoint=None,
                                      operation=model, attempts=attempts, caught_exception=exception,
                                      request_dict=request_dict)
            delay = next((r[1] for r in retry if r[1] is not None), None)
            if delay is None or delay is False:
                break
            self._sleep(delay)
            attempts += 1
        if exception is not None:
            raise exception
        if "ResponseMetadata" in parsed:
            parsed["ResponseMetadata"]["RetryAttempts"] = attempts - 1
        self._events.emit(f"after-call.sqs.{operation}", http_response=http, parsed=parsed, model=model,
                          context=context)
        if http.status_code >= 300:
            code = context.get("error_code_override") or parsed.get("Error", {}).get("Code")
            raise self._client.exceptions.from_code(code)(parsed, operation)
        return parsed

    def _attempt(self, operation: str, model: Any, body: bytes, headers: dict[str, str],
                 context: dict[str, Any]) -> tuple[Any, dict[str, Any], BaseException | None]:
        try:
            signed = dict(headers)
            self._signer.sign(signed, body, self._credentials.get_frozen_credentials())
            signed["Content-Length"] = str(len(body))  # after signing, as botocore's AWSRequest.prepare adds it
            prepared = self._prepared("POST", self._url, cast(Any, self._headers(signed)), body, False, context)
            answers = self._events.emit(f"before-send.sqs.{operation}", request=prepared)
            http = next((r[1] for r in answers if r[1] is not None), None)
            if http is None:
                http = self._http.send(prepared)
        except Exception as exc:  # connection trouble: the retry handler decides, as botocore's endpoint lets it
            return None, {}, exc
        return http, self._parse(operation, model, http), None

    def _parse(self, operation: str, model: Any, http: Any) -> dict[str, Any]:
        headers = http.headers
        if http.status_code >= 300:
            response_dict = {"headers": headers, "status_code": http.status_code, "body": http.content,
                             "context": {"operation_name": operation}}
            parsed: dict[str, Any] = self._parser.parse(response_dict, model.output_shape)
            code = parsed.get("Error", {}).get("Code")
            shape = self._model.shape_for_error_code(code) if code is not None else None
            if shape is not None:
                parsed.update(self._parser.parse(response_dict, shape))
            return parsed
        content = http.content
        parsed = json.loads(content) if content else {}
        if operation == "ReceiveMessage":
            for message in parsed.get("Messages", ()):
                if "MessageAttributes" in message:
                    _decode_binary(message["MessageAttributes"])
        parsed["ResponseMetadata"] = {
            "RequestId": headers.get("x-amzn-requestid", ""),
            "HTTPStatusCode": http.status_code,
            "HTTPHeaders": {k.lower(): v for k, v in headers.items()},
            "RetryAttempts": 0,
        }
        return parsed
