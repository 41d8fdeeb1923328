"""One AWS session per invocation, built from the global options, handing out cached clients.

boto3 is imported lazily here, so that `eda --help` and `eda --version` never pay for it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from eda_cli import __version__
from eda_cli.errors import AwsError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_sts import STSClient

#: Default retry policy: botocore's "standard" mode with bounded attempts. AWS_RETRY_MODE and
#: AWS_MAX_ATTEMPTS override them, as they do for the AWS CLI.
DEFAULT_RETRY_MODE = "standard"
DEFAULT_MAX_ATTEMPTS = 5
#: A client's read timeout in seconds; None: the session's default.
Timeout = int | None

#: Enough HTTP connections for the widest fan-out any command uses (redrive's --concurrency maximum, 32).
DEFAULT_POOL_SIZE = 32


@dataclass(frozen=True)
class AwsSettings:
    """What the global options say about where and as whom to talk to AWS."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    role_arn: str | None = None
    role_session_name: str = "eda-cli"
    retry_mode: str = field(default_factory=lambda: os.environ.get("AWS_RETRY_MODE", DEFAULT_RETRY_MODE))
    max_attempts: int = field(
        default_factory=lambda: _int_env("AWS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)
    )
    max_pool_connections: int = DEFAULT_POOL_SIZE


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return max(1, int(raw))
    except ValueError:
        return default


class AwsSession:
    """Hands out one cached boto3 client per service, all sharing one configuration.

    Thread-safe: commands fan calls out over threads, and boto3 clients (unlike sessions)
    may be shared between threads once created.
    """

    def __init__(self, settings: AwsSettings, boto_session: boto3.Session | None = None,
                 account: str | None = None) -> None:
        self.settings = settings
        self._boto_session = boto_session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: The account, when the session was built for one (a scope of `--accounts`): no STS call to learn it.
        self._account: str | None = account
        self._guarded = False

    # -- where we are -------------------------------------------------------------------------

    @property
    def boto_session(self) -> boto3.Session:
        if not self._guarded:  # before any call (assuming a role with --role-arn is one), even a given session's
            self._guarded = True
            guarded = _guard_debug_log()
            if self._boto_session is None:
                self._boto_session = self._make_session()
            if guarded:
                _remember_credentials(self._boto_session)
        if self._boto_session is None:
            self._boto_session = self._make_session()
        return self._boto_session

    @property
    def region(self) -> str:
        region = self.settings.region or self.boto_session.region_name
        if not region:
            raise AwsError(
                "no AWS region is configured",
                hint="pass --region, or set AWS_REGION (or a region in your AWS profile)",
            )
        return region

    @property
    def endpoint_url(self) -> str | None:
        return self.settings.endpoint_url

    def account(self) -> str:
        """The account of the credentials in use (STS GetCallerIdentity), asked once per invocation."""
        if self._account is None:
            self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account

    def where(self) -> str:
        """A short description of the target, for error messages: 'region eu-west-1, endpoint ...'."""
        parts = []
        try:
            parts.append(f"region {self.region}")
        except AwsError:
            parts.append("no region")
        if self.settings.endpoint_url:
            parts.append(f"endpoint {self.settings.endpoint_url}")
        if self.settings.profile:
            parts.append(f"profile {self.settings.profile}")
        return ", ".join(parts)

    # -- clients ------------------------------------------------------------------------------

    @overload
    def client(self, service: Literal["sqs"]) -> SQSClient: ...

    @overload
    def client(self, service: Literal["sns"]) -> SNSClient: ...

    @overload
    def client(self, service: Literal["events"]) -> EventBridgeClient: ...

    @overload
    def client(self, service: Literal["dynamodb"]) -> DynamoDBClient: ...

    @overload
    def client(self, service: Literal["dynamodbstreams"]) -> DynamoDBStreamsClient: ...

    @overload
    def client(self, service: Literal["cloudwatch"]) -> CloudWatchClient: ...

    @overload
    def client(self, service: Literal["logs"]) -> CloudWatchLogsClient: ...

    @overload
    def client(self, service: Literal["stepfunctions"]) -> SFNClient: ...

    @overload
    def client(self, service: Literal["sts"]) -> STSClient: ...

    @overload
    def client(self, service: Literal["lambda"]) -> LambdaClient: ...

    @overload
    def client(self, service: Literal["iam"]) -> IAMClient: ...

    @overload
    def client(self, service: str) -> Any: ...

    def client(self, service: str) -> Any:
        """The session's client for `service`, built once per invocation."""
        return self._cached(service)

    @overload
    def single_attempt_client(
        self, service: Literal["sqs"], *, read_timeout: Timeout = None
    ) -> SQSClient: ...

    @overload
    def single_attempt_client(
        self, service: Literal["sns"], *, read_timeout: Timeout = None
    ) -> SNSClient: ...

    @overload
    def single_attempt_client(
        self, service: Literal["events"], *, read_timeout: Timeout = None
    ) -> EventBridgeClient: ...

    @overload
    def single_attempt_client(
        self, service: Literal["dynamodb"], *, read_timeout: Timeout = None
    ) -> DynamoDBClient: ...

    @overload
    def single_attempt_client(
        self, service: Literal["dynamodbstreams"], *, read_timeout: Timeout = None
    ) -> DynamoDBStreamsClient: ...

    @overload
    def single_attempt_client(
        self, service: Literal["cloudwatch"], *, read_timeout: Timeout = None
    ) -> CloudWatchClient: ...

    @overload
    def single_attempt_client(
        self, service: Literal["logs"], *, read_timeout: Timeout = None
    ) -> CloudWatchLogsClient: ...

    @overload
    def single_attempt_client(
        self, service: Literal["stepfunctions"], *, read_timeout: Timeout = None
    ) -> SFNClient: ...

    @overload
    def single_attempt_client(
        self, service: Literal["sts"], *, read_timeout: Timeout = None
    ) -> STSClient: ...

    @overload
    def single_attempt_client(
        self, service: Literal["lambda"], *, read_timeout: Timeout = None
    ) -> LambdaClient: ...

    @overload
    def single_attempt_client(
        self, service: Literal["iam"], *, read_timeout: Timeout = None
    ) -> IAMClient: ...

    @overload
    def single_attempt_client(
        self, service: str, *, read_timeout: Timeout = None
    ) -> Any: ...

    def single_attempt_client(self, service: str, *, read_timeout: Timeout = None) -> Any:
        """A client that never retries, for capability checks (an endpoint that lacks an operation, an
        emulator, answers HTTP 500, which the retrying client would repeat for seconds) and for callers
        that retry on their own terms (a saga step's Retry). `read_timeout` bounds connecting (at most
        10 s) and reading, as a saga step's timeout does; the session's defaults otherwise."""
        return self._cached(service, max_attempts=1, read_timeout=read_timeout)

    @overload
    def unvalidated_client(self, service: Literal["sqs"]) -> SQSClient: ...

    @overload
    def unvalidated_client(self, service: str) -> Any: ...

    def unvalidated_client(self, service: str) -> Any:
        """The service's client (the session's retries and settings) without botocore's client-side parameter
        validation, which costs about a tenth of the CPU of a small call: for hot loops whose every request eda
        builds itself from what AWS answered (redrive's copy mode). AWS still validates every request."""
        return self._cached(service, validate=False)

    def lean_sqs(self) -> SQSClient:
        """The run's SQS client (`unvalidated_client`), with the calls of redrive's copy mode (ReceiveMessage,
        SendMessageBatch, DeleteMessageBatch, GetQueueAttributes, ChangeMessageVisibilityBatch) sent by eda's lean
        transport (aws/lean.py): the same requests, signed as botocore signs them and sent through the client's own
        connection pool and retries, for a third less CPU. Only when the session built that client itself and
        nothing hooks its requests: an injected or stubbed client, --debug's request log, retries not in standard
        mode or EDA_LEAN_SQS=0 get the client as it is."""
        import logging

        from eda_cli.aws import lean

        client = self.unvalidated_client("sqs")
        if not lean.enabled() or logging.getLogger("botocore").isEnabledFor(logging.DEBUG):
            return client
        with self._lock:
            own: object = self._clients.get("sqs#unvalidated")
        if client is not own or lean.why_not_lean(client) is not None:
            return client
        credentials = self.boto_session.get_credentials()
        if credentials is None:  # the client's first call reports it (NoCredentialsError, the boundary's hint)
            return client
        return cast("SQSClient", lean.LeanSqs(client, credentials))  # it quacks like the client

    def _cached(self, service: str, max_attempts: int | None = None, read_timeout: int | None = None,
                validate: bool = True) -> Any:
        key = service if max_attempts is None else f"{service}#single-attempt"
        if read_timeout is not None:
            key += f"#timeout-{read_timeout}"
        if not validate:
            key += "#unvalidated"
        with self._lock:
            cached = self._clients.get(key)
            if cached is None:
                cached = self._make_client(service, max_attempts, read_timeout, validate)
                self._clients[key] = cached
            return cached

    def config(self) -> Config:
        """The configuration every client of this session is built with."""
        return self._config()

    def _config(self, max_attempts: int | None = None, read_timeout: int | None = None,
                validate: bool = True) -> Config:
        from botocore.config import Config

        attempts = self.settings.max_attempts if max_attempts is None else max_attempts
        retries: Any = {"mode": self.settings.retry_mode, "total_max_attempts": attempts}
        return Config(
            parameter_validation=validate,
            # total_max_attempts counts the first try too, as AWS_MAX_ATTEMPTS does (max_attempts would not).
            retries=retries,
            user_agent_extra=f"eda-cli/{__version__}",
            max_pool_connections=self.settings.max_pool_connections,
            connect_timeout=5 if read_timeout is None else min(read_timeout, 10),
            read_timeout=65 if read_timeout is None else read_timeout,
            # AWS serves some operations on a prefixed host (StartSyncExecution on sync-states...). A custom
            # endpoint is one host: botocore would otherwise call sync-127.0.0.1 and fail to resolve it.
            inject_host_prefix=not self.settings.endpoint_url,
        )

    def _make_client(self, service: str, max_attempts: int | None = None, read_timeout: int | None = None,
                     validate: bool = True) -> Any:
        quick_model_loading(self.boto_session)
        client: Any = self.boto_session.client  # a str service name, not one of the stubs' literals
        return client(
            service,
            region_name=self.region,
            endpoint_url=self.settings.endpoint_url,
            config=self._config(max_attempts, read_timeout, validate),
        )

    def _make_session(self) -> boto3.Session:
        import boto3
        import botocore.exceptions

        try:
            base = boto3.Session(profile_name=self.settings.profile, region_name=self.settings.region)
        except botocore.exceptions.ProfileNotFound as exc:
            raise AwsError(
                f"AWS profile {self.settings.profile!r} does not exist",
                hint="list your profiles with: aws configure list-profiles",
            ) from exc
        if not self.settings.role_arn:
            return base
        return self._assume_role(base)

    def _assume_role(self, base: boto3.Session) -> boto3.Session:
        """A session whose credentials come from STS AssumeRole and refresh before they expire."""
        import boto3
        import botocore.session
        from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

        region = self.settings.region or base.region_name
        endpoint = self.settings.endpoint_url
        config = self._config()

        make: Any = base.client

        def create_client(service: str, **kwargs: Any) -> Any:
            return make(service, region_name=region, endpoint_url=endpoint, config=config, **kwargs)

        source = base.get_credentials()
        if source is not None and _guard_debug_log():
            _remember_credentials(base)
        if source is None:
            raise AwsError(
                f"--role-arn needs credentials to assume {self.settings.role_arn} with, and none were found",
                hint="set AWS_PROFILE or pass --profile (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), "
                "then --role-arn assumes the role from there",
            )
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=create_client,
            source_credentials=source,
            role_arn=self.settings.role_arn or "",
            extra_args={"RoleSessionName": self.settings.role_session_name},
        )
        credentials = DeferredRefreshableCredentials(
            method="assume-role", refresh_using=fetcher.fetch_credentials
        )
        core = botocore.session.Session()
        core._credentials = credentials  # type: ignore[attr-defined]  # how botocore's own role profiles do it
        return boto3.Session(botocore_session=core, region_name=region)


def quick_model_loading(session: Any) -> None:
    """Load a service's models without first listing every service botocore knows.

    botocore's loader checks a service name against the list of all ~450 services (a directory listing and a file
    check for each, once per model type) before loading its model: about 18 ms of every eda command's start, for
    the two model types a client needs. Here the session's loader loads a model the way botocore's
    `Loader.load_service_model` does (latest version from the service's own directory, the data, its extras)
    without that list; any failure, an unknown service name among them, goes to botocore's own method, so
    errors are botocore's. Nothing changes when the loader is not botocore's (or lacks what this uses)."""
    core = getattr(session, "_session", None)
    loader = core.get_component("data_loader") if core is not None else None
    if loader is None or getattr(loader, "_eda_quick", False):
        return
    original = loader.load_service_model
    find_extras = getattr(loader, "_find_extras", None)
    extras_processor = getattr(loader, "_extras_processor", None)
    if find_extras is None or extras_processor is None or not hasattr(loader, "determine_latest_version"):
        return
    loaded: dict[tuple[str, str, str | None], Any] = {}

    def load_service_model(service_name: str, type_name: str, api_version: str | None = None) -> Any:
        key = (service_name, type_name, api_version)
        if key in loaded:
            return loaded[key]
        try:
            version = api_version or loader.determine_latest_version(service_name, type_name)
            model = loader.load_data(f"{service_name}/{version}/{type_name}")
            extras_processor.process(model, find_extras(service_name, type_name, version))
        except Exception:
            model = original(service_name, type_name, api_version)
        loaded[key] = model
        return model

    loader.load_service_model = load_service_model
    loader._eda_quick = True


def _guard_debug_log() -> bool:
    """Before the first AWS call: --debug's log (botocore at DEBUG) never shows a credential (aws/debuglog.py).
    Whether it is on (then the session's credentials are remembered too, once it has them)."""
    import logging

    if not logging.getLogger().isEnabledFor(logging.DEBUG) and not logging.getLogger("botocore").isEnabledFor(
            logging.DEBUG):
        return False
    from eda_cli.aws.debuglog import guard_logging

    guard_logging()
    return True


def _remember_credentials(session: boto3.Session) -> None:
    """The values of the session's credentials, for the debug log's filter to take out wherever they appear."""
    from eda_cli.aws.debuglog import guard_logging

    try:
        credentials = session.get_credentials()
        if credentials is None:
            return
        frozen = credentials.get_frozen_credentials()  # with --role-arn: AssumeRole, under the filter already
    except Exception:  # credentials that cannot be read yet are for the first call to report
        return
    guard_logging([frozen.access_key, frozen.secret_key, frozen.token])


#: Credentials for the embedded sandbox (moto accepts any).
SANDBOX_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def sandbox_session(endpoint_url: str, region: str = "us-east-1") -> AwsSession:
    """A session on a local endpoint with dummy credentials, ignoring the user's AWS profile."""
    import boto3

    boto = boto3.Session(
        region_name=region,
        aws_access_key_id=SANDBOX_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=SANDBOX_CREDENTIALS["aws_secret_access_key"],
    )
    return AwsSession(AwsSettings(region=region, endpoint_url=endpoint_url), boto_session=boto)
