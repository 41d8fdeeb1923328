"""Hold every faked AWS answer in the tests to botocore's service model.

A hand-written fake that answers in a shape AWS never uses (a DynamoDB Streams record in Lambda's
event format, a field in the wrong case, epoch seconds where boto3 hands over a datetime) lets a
test pass while the feature fails on AWS. botocore's ``Stubber`` validates what it is given; this
module does the same for fakes, with botocore's own validator (as ``Stubber`` does), and is a
little stricter where a response differs from a request: a timestamp must be the timezone-aware
``datetime`` botocore parses it into, a blob must be ``bytes`` (a streaming payload a readable body).

* ``assert_valid_response(service, operation, response)`` checks one answer;
* ``AwsFake`` is a base class: ``class FakeStreams(AwsFake, service="dynamodbstreams")`` has every
  public method whose name is an operation of the service (``get_records`` -> GetRecords, by
  botocore's ``xform_name``) checked on each return, and so do its subclasses, a ``__getattr__``
  that hands out operations (unless the class wraps a real client) and the pages of
  ``get_paginator(...).paginate(...)``. Other methods are left alone;
* ``aws_error(service, operation, code)`` builds the ``ClientError`` for an error code the
  operation can answer with (one its model lists, or one every AWS API may send);
  ``assert_known_error`` only checks the code, for an error body written by hand.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator

#: Errors any AWS API may answer with, although its model does not list them
#: (https://docs.aws.amazon.com/general/latest/gr/api-retries.html and each service's "Common Errors").
COMMON_ERRORS = frozenset({
    "AccessDenied", "AccessDeniedException", "ExpiredToken", "ExpiredTokenException", "IncompleteSignature",
    "InternalFailure", "InvalidAction", "InvalidClientTokenId", "NotAuthorized", "OptInRequired",
    "RequestExpired", "ServiceUnavailable", "Throttling", "ThrottlingException", "UnrecognizedClientException",
    "ValidationError", "ValidationException",
})


@functools.cache
def service_model(service: str) -> ServiceModel:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@functools.cache
def _operations(service: str) -> dict[str, str]:
    model = service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def operation_name(service: str, method: str) -> str | None:
    """The operation a client method calls (``get_records`` -> ``GetRecords``); None if it is none."""
    if not service:
        raise AssertionError("an AwsFake needs its service: class Fake(AwsFake, service=...) or .aws_service")
    return _operations(service).get(method)


def _operation(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation_name(service, operation) or operation)


class _ResponseValidator(ParamValidator):
    """botocore's validator, held to what botocore's parsers hand back rather than what they accept."""

    def _validate_timestamp(self, param: Any, shape: Shape, errors: Any, name: str) -> None:
        if not isinstance(param, datetime) or param.tzinfo is None:
            errors.report(name, "invalid type", param=param,
                          valid_types=["datetime with a timezone (botocore parses timestamps so)"])

    def _validate_blob(self, param: Any, shape: Shape, errors: Any, name: str) -> None:
        if not isinstance(param, (bytes, bytearray)):
            errors.report(name, "invalid type", param=param,
                          valid_types=["bytes (botocore decodes base64 blobs)"])


def assert_valid_response(service: str, operation: str, response: Mapping[str, Any]) -> None:
    """Raise AssertionError unless `response` is an answer botocore could give for this operation.

    `operation` is the API name (``GetRecords``) or the client method (``get_records``).
    ResponseMetadata is allowed and not checked, as botocore's Stubber allows it.
    """
    model = _operation(service, operation)
    where = f"{service} {model.name}"
    if not isinstance(response, Mapping):
        raise AssertionError(f"{where}: a response is a dict, not {type(response).__name__}: {response!r}")
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    shape = model.output_shape
    if shape is None:
        if body:
            raise AssertionError(f"{where} answers with nothing but ResponseMetadata, not {sorted(body)}")
        return
    payload = shape.serialization.get("payload")
    streaming = payload is not None and shape.members[payload].type_name == "blob" and payload in body
    # A streaming payload (Lambda Invoke's Payload) arrives as a readable body, not bytes.
    if streaming and not hasattr(body.pop(payload), "read"):
        raise AssertionError(f"{where}: {payload} is a streaming body (botocore's StreamingBody), not bytes")
    report = _ResponseValidator().validate(body, shape)
    if report.has_errors():
        raise AssertionError(f"{where} response does not match botocore's model:\n{report.generate_report()}")


def checked_pages(service: str, operation: str, pages: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """The pages of a paginator, each checked as one answer of `operation`."""
    for page in pages:
        assert_valid_response(service, operation, page)
        yield page


def assert_known_error(service: str, operation: str, code: str) -> int:
    """Raise AssertionError unless the operation can answer with error `code`; return its HTTP status."""
    model = _operation(service, operation)
    listed = {shape.name: shape for shape in model.error_shapes}
    if code not in listed and code not in COMMON_ERRORS:
        raise AssertionError(f"{service} {model.name} never answers with error {code!r}; "
                             f"its model lists {sorted(listed)}, besides the common errors")
    modeled = listed[code].metadata.get("error", {}) if code in listed else {}
    return int(modeled.get("httpStatusCode", 500 if code.startswith(("Internal", "ServiceUnavailable")) else 400))


def aws_error(service: str, operation: str, code: str, message: str = "") -> ClientError:
    """The ClientError botocore raises for `code`, once it is checked to be an error the operation can send."""
    status = assert_known_error(service, operation, code)
    model = _operation(service, operation)
    return ClientError({"Error": {"Code": code, "Message": message or f"fake {code}"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, model.name)


class _CheckedPaginator:
    def __init__(self, service: str, method: str, paginator: Any) -> None:
        self._service, self._method, self._paginator = service, method, paginator

    def paginate(self, **kwargs: Any) -> Iterator[Mapping[str, Any]]:
        pages = self._paginator.paginate(**kwargs)  # called at once: a paginate that raises still raises here
        return checked_pages(self._service, self._method, pages)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._paginator, name)


def _check_method(method: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def checked(self: AwsFake, *args: Any, **kwargs: Any) -> Any:
        answer = function(self, *args, **kwargs)
        if operation_name(self.aws_service, method) is not None:
            assert_valid_response(self.aws_service, method, answer)
        return answer

    return checked


def _check_getattr(function: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    @functools.wraps(function)
    def checked_getattr(self: AwsFake, name: str) -> Any:
        value = function(self, name)
        if name.startswith("_") or not callable(value) or operation_name(self.aws_service, name) is None:
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            answer = value(*args, **kwargs)
            assert_valid_response(self.aws_service, name, answer)
            return answer

        return call

    return checked_getattr


def _check_get_paginator(function: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    @functools.wraps(function)
    def get_paginator(self: AwsFake, name: str) -> Any:
        if operation_name(self.aws_service, name) is None:
            raise AssertionError(f"{self.aws_service} has no operation {name!r} to paginate")
        return _CheckedPaginator(self.aws_service, name, function(self, name))

    return get_paginator


class AwsFake:
    """Base of a hand-written fake client: its AWS operations' answers are checked against the model.

    Name the service in the class statement (``class FakeLogs(AwsFake, service="logs")``), or set
    ``aws_service`` on an instance when one fake class stands in for several services. A wrapper around a
    real client (``wraps_real_client=True``) has only the answers it writes itself checked: what its
    ``__getattr__`` passes through is the server's own answer, which may leave out an empty required list
    (LocalStack's SendMessageBatch omits ``Failed``, as AWS's JSON protocol may).
    """

    aws_service: str = ""

    def __init_subclass__(cls, service: str | None = None, wraps_real_client: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if service is not None:
            service_model(service)  # an unknown service name fails here, at import
            cls.aws_service = service
        for name, value in list(vars(cls).items()):
            if not inspect.isfunction(value):
                continue
            if name == "__getattr__":
                if not wraps_real_client:
                    setattr(cls, name, _check_getattr(value))
            elif name == "get_paginator":
                setattr(cls, name, _check_get_paginator(value))
            elif not name.startswith("_"):
                setattr(cls, name, _check_method(name, value))
