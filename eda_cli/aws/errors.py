"""Translate botocore exceptions into EdaError: one line and a hint, never a traceback.

Expected errors are turned into domain answers close to the call (see resolve.py); whatever
reaches the error boundary in app.py comes through `translate` here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from eda_cli.errors import AwsError, EdaError, ResourceNotFound, UsageError

if TYPE_CHECKING:
    from eda_cli.aws.session import AwsSession

ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "AuthorizationErrorException",
    "Forbidden",
}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
BAD_CREDENTIALS = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
}
THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
}
NOT_FOUND = {
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "ResourceNotFoundException",
    "NotFound",
    "NotFoundException",
    "StateMachineDoesNotExist",
    "ExecutionDoesNotExist",
}
INVALID_INPUT = {"ValidationException", "InvalidParameterValue", "InvalidParameterException"}


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def error_message(exc: BaseException) -> str | None:
    """The AWS error message of a botocore ClientError, as AWS sent it, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        message = response.get("Error", {}).get("Message")
        return str(message) if message else None
    return None


def is_client_error(exc: BaseException, *codes: str) -> bool:
    code = error_code(exc)
    return code is not None and (not codes or code in codes)


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a botocore ClientError's answer, else None."""
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status else None


def unimplemented(exc: BaseException) -> bool:
    """Whether the endpoint does not implement the operation at all, as emulators answer: HTTP 501, a
    NotImplemented / UnknownOperation error code, or an HTTP 5xx whose body is no AWS error (botocore then
    names the error by the status, as for moto's HTML error page). AWS's own 5xx answers carry a code
    (InternalFailure, ServiceUnavailable): those are faults, not missing capabilities."""
    status = http_status(exc)
    code = error_code(exc)
    if status == 501 or code in ("NotImplemented", "NotImplementedException", "UnknownOperationException",
                                 "InvalidAction"):
        return True
    return status is not None and status >= 500 and code in (None, str(status))


def _operation(exc: BaseException) -> str:
    return str(getattr(exc, "operation_name", "") or "the request")


def _message(exc: BaseException) -> str:
    message = (error_message(exc) or "").strip()
    if message.startswith("<"):  # an HTML error page (an emulator's), not an AWS error message
        return f"HTTP {http_status(exc)} with no AWS error in the answer"
    return " ".join(message.split())


def translate(exc: BaseException, session: AwsSession | None = None) -> EdaError | None:
    """Map a botocore/boto3 exception to an EdaError, or None if it is not one we know."""
    import botocore.exceptions as bex

    where = session.where() if session is not None else ""
    at = f" ({where})" if where else ""

    if isinstance(exc, EdaError):
        return exc
    if isinstance(exc, (bex.NoCredentialsError, bex.PartialCredentialsError)):
        return AwsError(
            "no AWS credentials found",
            hint="set AWS_PROFILE or pass --profile, run `aws configure` or `aws sso login`; "
            "for the sandbox use AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
        )
    if isinstance(exc, bex.NoRegionError):
        return AwsError(
            "no AWS region is configured",
            hint="pass --region, or set AWS_REGION (or a region in your AWS profile)",
        )
    if isinstance(exc, bex.ProfileNotFound):
        return AwsError(str(exc), hint="list your profiles with: aws configure list-profiles")
    if isinstance(exc, (bex.EndpointConnectionError, bex.ConnectTimeoutError)):
        endpoint = getattr(exc, "kwargs", {}).get("endpoint_url") or (
            session.endpoint_url if session else None
        )
        return AwsError(
            f"cannot reach the AWS endpoint {endpoint or ''}".rstrip() + at,
            hint="check --endpoint-url / EDA_ENDPOINT_URL and your network; "
            "for the sandbox run `eda sandbox start` first",
        )
    if isinstance(exc, bex.ReadTimeoutError):
        return AwsError(f"the AWS endpoint timed out{at}", hint="retry, or check the endpoint's health")
    if isinstance(exc, bex.ParamValidationError):
        return UsageError(f"invalid request parameters: {exc}".replace("\n", " "))
    if isinstance(exc, bex.SSOError) or type(exc).__name__.startswith("SSOToken"):
        return AwsError(f"AWS SSO login needed: {exc}", hint="run `aws sso login`")
    if isinstance(exc, bex.ClientError):
        code = error_code(exc) or "Unknown"
        message = _message(exc)
        op = _operation(exc)
        detail = f": {message}" if message else ""
        if code in ACCESS_DENIED:
            return AwsError(
                f"access denied to {op}{at}{detail}",
                hint="`eda iam-policy` prints the permissions each command needs; check --profile/--role-arn",
            )
        if code in EXPIRED:
            return AwsError(
                f"your AWS credentials have expired{at}", hint="refresh them, e.g. `aws sso login`"
            )
        if code in BAD_CREDENTIALS:
            return AwsError(
                f"AWS rejected the credentials ({code}){at}",
                hint="check AWS_PROFILE / --profile and the access key in use",
            )
        if code in THROTTLED:
            return AwsError(
                f"AWS kept throttling {op} after retries{at}",
                hint="retry later, or raise AWS_MAX_ATTEMPTS / use AWS_RETRY_MODE=adaptive",
            )
        if code in NOT_FOUND:
            return ResourceNotFound(
                f"not found: {message or code}{at}",
                hint="check the name and --region",
            )
        if code in INVALID_INPUT:
            return UsageError(f"AWS rejected the request to {op}: {message or code}")
        if code == str(http_status(exc)):  # no AWS error in the answer (an emulator's HTML page): say so once
            return AwsError(f"{op} failed: the endpoint answered HTTP {code} with no AWS error{at}")
        return AwsError(f"{op} failed: {code}{detail}{at}")
    if isinstance(exc, bex.BotoCoreError):
        return AwsError(f"AWS client error: {exc}{at}")
    return None


def describe(exc: BaseException) -> str:
    """One line for an error reported beside a partial answer (never raises): eda's own wording
    when `translate` knows the error, else the exception's type and text."""
    try:
        translated = translate(exc)
    except Exception:  # describing a failure must never be a second failure
        translated = None
    return translated.message if translated is not None else f"{type(exc).__name__}: {exc}"


def environment_cause(exc: BaseException | None) -> str | None:
    """Why `exc` failed when the reason is where eda runs rather than any one resource: "credentials"
    (none found, or none could be fetched), "region", "profile", "unreachable" (connection refused or
    timed out), "timeout", "sso", "access-denied", "expired", "rejected-credentials". None for anything
    else, e.g. a queue that does not exist, throttling, or an error eda raised itself."""
    if exc is None or isinstance(exc, EdaError):
        return None
    import botocore.exceptions as bex

    if isinstance(exc, (bex.NoCredentialsError, bex.PartialCredentialsError, bex.CredentialRetrievalError)):
        return "credentials"
    if isinstance(exc, bex.NoRegionError):
        return "region"
    if isinstance(exc, bex.ProfileNotFound):
        return "profile"
    if isinstance(exc, (bex.EndpointConnectionError, bex.ConnectTimeoutError)):
        return "unreachable"
    if isinstance(exc, bex.ReadTimeoutError):
        return "timeout"
    if isinstance(exc, bex.SSOError) or type(exc).__name__.startswith("SSOToken"):
        return "sso"
    code = error_code(exc) if isinstance(exc, bex.ClientError) else None
    if code in ACCESS_DENIED:
        return "access-denied"
    if code in EXPIRED:
        return "expired"
    if code in BAD_CREDENTIALS:
        return "rejected-credentials"
    return None


def raise_if_environment_failure(failures: Iterable[BaseException | None], *, succeeded: int) -> None:
    """Raise the first of `failures` when nothing succeeded and every failure has the same
    environment-level cause (`environment_cause`): then the result would be "partial" with nothing in
    it, one warning per call. Raised as is, it reaches the error boundary, which says it in one line
    with its hint (via `translate`), exit 3. Otherwise return: a partial answer stays partial.

    `failures` are the exceptions behind a partial result's problems (None for a problem that had
    none); `succeeded` counts the calls (or searches) that did answer."""
    errors = list(failures)
    if succeeded or not errors:
        return
    causes = {environment_cause(exc) for exc in errors}
    first = errors[0]
    if len(causes) == 1 and None not in causes and first is not None:
        raise first
