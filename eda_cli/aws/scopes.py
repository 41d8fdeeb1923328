"""Scopes: the (account, region) pairs a read command runs in, from `--regions`, `--accounts` and `--role-name`.

Each scope gets an `AwsSession` of its own (its own cached clients: the `ClientFactory` core code takes),
built on the invocation's session: the same profile, endpoint and `--role-arn`; in another account through
STS AssumeRole of `arn:PARTITION:iam::ACCOUNT:role/ROLE_NAME`. `plan_scopes` resolves the options into
sessions (listing the organization's accounts for `org`, each account's enabled regions for `all`) and
`run_scoped` runs a command's work in every scope at once, with one bound. A scope that cannot be entered
(the role cannot be assumed, the regions cannot be listed) or whose work fails (a disabled region, an
unreachable endpoint) is a `Problem` beside the other scopes' answers: partial, not a failure.

`--regions all` asks EC2 DescribeRegions, once per account with that account's credentials: it answers
the regions enabled for the account (opt-in regions only once opted in), which is what can be read.
botocore's offline region list would include regions the account never enabled (each a failed scope),
and the Account API's ListRegions answers the same with a second permission name and no emulator support.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from eda_cli.core.problems import Problem
from eda_cli.errors import UsageError

if TYPE_CHECKING:
    import boto3
    from botocore.credentials import Credentials

    from eda_cli.aws.session import AwsSession, AwsSettings

__all__ = [
    "ALL_REGIONS",
    "DEFAULT_SCOPE_CONCURRENCY",
    "ORG",
    "Scope",
    "ScopeOptions",
    "ScopePlan",
    "ScopedRun",
    "ScopedSession",
    "SessionMaker",
    "enabled_regions",
    "list_org_accounts",
    "parse_scope_options",
    "partition_of",
    "plan_scopes",
    "role_arn",
    "run_scoped",
    "scoped_problems",
]

ALL_REGIONS = "all"
ORG = "org"

#: Scopes in flight at once. Each scope is another account or region, so AWS's rate limits (per account and
#: region) do not add up across them; the bound is for this machine (threads, connections, CPU to parse
#: answers), and each scope's own work fans out again inside it (core/concurrency.DEFAULT_CONCURRENCY).
DEFAULT_SCOPE_CONCURRENCY = 8

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,64}$")

T = TypeVar("T")


@dataclass(frozen=True)
class ScopeOptions:
    """What `--regions`, `--accounts` and `--role-name` say (nothing given: the invocation's one scope)."""

    regions: tuple[str, ...] = ()
    all_regions: bool = False
    accounts: tuple[str, ...] = ()
    org: bool = False
    role_name: str | None = None

    @property
    def given(self) -> bool:
        """Whether any scope option was given: single-scope commands refuse them all."""
        return bool(self.regions or self.all_regions or self.accounts or self.org or self.role_name)

    def describe(self) -> str:
        """The options as given, for messages: `--regions us-east-1,eu-west-1 --accounts org`."""
        words = []
        if self.regions or self.all_regions:
            words.append("--regions " + (ALL_REGIONS if self.all_regions else ",".join(self.regions)))
        if self.accounts or self.org:
            words.append("--accounts " + (ORG if self.org else ",".join(self.accounts)))
        if self.role_name:
            words.append(f"--role-name {self.role_name}")
        return " ".join(words)


def _items(text: str, option: str) -> tuple[str, ...]:
    items = [part.strip() for part in text.split(",")]
    if not any(items):
        raise UsageError(f"{option}: give at least one value", hint=f"e.g. {option} {_EXAMPLE[option]}")
    if "" in items:
        raise UsageError(f"{option} {text}: an empty item between commas")
    return tuple(dict.fromkeys(items))  # duplicates once, in the order given


_EXAMPLE = {"--regions": "us-east-1,eu-west-1", "--accounts": "111111111111,222222222222"}


def parse_scope_options(regions: str | None, accounts: str | None, role_name: str | None) -> ScopeOptions:
    """The scope options, checked before any AWS call: a bad value is a UsageError (exit 2)."""
    options = ScopeOptions()
    if regions is not None:
        items = _items(regions, "--regions")
        if ALL_REGIONS in items:
            if len(items) > 1:
                raise UsageError(f"--regions {regions}: 'all' stands alone", hint="--regions all")
            options = replace(options, all_regions=True)
        else:
            bad = [r for r in items if not _REGION.match(r)]
            if bad:
                raise UsageError(f"--regions: {bad[0]!r} is not a region name",
                                 hint="regions are named like us-east-1 or eu-west-1; or --regions all")
            options = replace(options, regions=items)
    if accounts is not None:
        items = _items(accounts, "--accounts")
        if ORG in items:
            if len(items) > 1:
                raise UsageError(f"--accounts {accounts}: 'org' stands alone", hint="--accounts org")
            options = replace(options, org=True)
        else:
            bad = [a for a in items if not _ACCOUNT.match(a)]
            if bad:
                raise UsageError(f"--accounts: {bad[0]!r} is not an account id (12 digits)",
                                 hint="--accounts 111111111111,222222222222, or --accounts org")
            options = replace(options, accounts=items)
    if role_name is not None:
        name = role_name.strip()
        if name.startswith("arn:"):
            raise UsageError("--role-name takes a role's name, not its ARN",
                             hint="--role-name eda-readonly; for one role by ARN use --role-arn")
        if not _ROLE_NAME.match(name):
            raise UsageError(f"--role-name {role_name!r} is not an IAM role name")
        options = replace(options, role_name=name)
    if (options.accounts or options.org) and not options.role_name:
        raise UsageError("--accounts needs --role-name: the role eda assumes in each account",
                         hint="e.g. --accounts org --role-name eda-readonly (`eda iam-policy --trust ACCOUNT` "
                              "prints the role's trust policy)")
    if options.role_name and not (options.accounts or options.org):
        raise UsageError("--role-name goes with --accounts: the accounts to assume it in",
                         hint="--accounts 111111111111,222222222222 --role-name NAME; one role: --role-arn ARN")
    return options


@dataclass(frozen=True, order=True)
class Scope:
    """One account and one region."""

    account: str
    region: str

    @property
    def label(self) -> str:
        """`eu-west-1/111111111111`, as eda names where it looked elsewhere."""
        return f"{self.region}/{self.account}"

    def stamp(self, item: dict[str, Any]) -> dict[str, Any]:
        """`item` with this scope's `account` and `region` first."""
        return {"account": self.account, "region": self.region, **item}


@dataclass(frozen=True)
class ScopedSession:
    scope: Scope
    session: AwsSession


@dataclass(frozen=True)
class ScopePlan:
    """The scopes to run in, and the accounts that could not be entered (one Problem each)."""

    sessions: tuple[ScopedSession, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def scopes(self) -> tuple[Scope, ...]:
        return tuple(s.scope for s in self.sessions)


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    return "aws"


def role_arn(account: str, role_name: str, region: str = "us-east-1") -> str:
    """The role eda assumes in `account`: `arn:aws:iam::ACCOUNT:role/NAME` (a path in NAME is kept)."""
    return f"arn:{partition_of(region)}:iam::{account}:role/{role_name.strip('/')}"


def list_org_accounts(base: AwsSession) -> list[str]:
    """The organization's ACTIVE accounts (organizations:ListAccounts, every page); from the management
    account or a delegated administrator."""
    accounts: list[str] = []
    for page in base.client("organizations").get_paginator("list_accounts").paginate():
        for account in page.get("Accounts", []):
            # `State` replaces the deprecated `Status` (ACTIVE | SUSPENDED | PENDING_CLOSURE | CLOSED ...).
            state = account.get("State") or account.get("Status")
            if state == "ACTIVE" and account.get("Id"):
                accounts.append(account["Id"])
    return sorted(dict.fromkeys(accounts))


def enabled_regions(ec2: Any) -> list[str]:
    """The regions enabled for the client's account (EC2 DescribeRegions; opt-in regions once opted in)."""
    regions = ec2.describe_regions(
        Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]}]
    ).get("Regions", [])
    # The filter again on the answer: an endpoint that ignores filters (moto) must not add disabled regions.
    return sorted(str(r["RegionName"]) for r in regions
                  if r.get("RegionName") and r.get("OptInStatus", "opted-in") != "not-opted-in")


class _AssumedCredentials:
    """Refreshable credentials of a role, fetched through the base session's STS client."""

    def __init__(self, sts: Any, arn: str, session_name: str) -> None:
        self._sts, self._arn, self._session_name = sts, arn, session_name

    def fetch(self) -> dict[str, Any]:
        answer = self._sts.assume_role(RoleArn=self._arn, RoleSessionName=self._session_name)
        c = answer["Credentials"]
        return {"access_key": c["AccessKeyId"], "secret_key": c["SecretAccessKey"], "token": c["SessionToken"],
                "expiry_time": c["Expiration"].isoformat()}

    def credentials(self) -> Credentials:
        from botocore.credentials import RefreshableCredentials

        # Fetched now: a role that cannot be assumed is that account's problem, found before its scopes run.
        return RefreshableCredentials.create_from_metadata(
            metadata=self.fetch(), refresh_using=self.fetch, method="assume-role")


def _boto_session(credentials: Credentials, region: str, loader: Any = None) -> boto3.Session:
    """A boto3 session of its own (they are not thread-safe) on shared, thread-safe credentials; with `loader`,
    the base session's botocore data loader, so that the service models are read from disk once, not once
    per scope (its caches are plain memos: two threads loading at once only load twice)."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    core._credentials = credentials  # type: ignore[attr-defined]  # how botocore's own role profiles do it
    session = boto3.Session(botocore_session=core, region_name=region)
    if loader is not None:  # after boto3 has added its own data path to the session's loader (the shared one has it)
        core.register_component("data_loader", loader)
    return session


@dataclass(frozen=True)
class _Account:
    id: str
    credentials: Credentials
    regions: tuple[str, ...]


#: Builds a scope's session from its settings, boto3 session and account (tests pass one that fakes clients).
SessionMaker = Callable[["AwsSettings", "boto3.Session", str], "AwsSession"]


def _session(settings: AwsSettings, boto_session: boto3.Session, account: str) -> AwsSession:
    from eda_cli.aws.session import AwsSession

    return AwsSession(settings, boto_session=boto_session, account=account)


def plan_scopes(base: AwsSession, options: ScopeOptions, concurrency: int = DEFAULT_SCOPE_CONCURRENCY,
                *, make_session: SessionMaker = _session) -> ScopePlan:
    """Every (account, region) the options name, each with a session of its own (`make_session`); the accounts
    that could not be entered (AssumeRole refused, regions not listed) as Problems. Raises what the base session
    raises when it cannot even start (no credentials, no region, organizations:ListAccounts refused)."""
    from eda_cli.aws.errors import describe
    from eda_cli.core.concurrency import map_bounded

    settings = replace(base.settings, role_arn=None)
    loader = base.boto_session._session.get_component("data_loader")
    home = base.settings.region or base.boto_session.region_name or (options.regions or ("us-east-1",))[0]

    def in_region(credentials: Credentials, region: str, account: str) -> AwsSession:
        return make_session(replace(settings, region=region), _boto_session(credentials, region, loader), account)

    def regions_of(credentials: Credentials, account: str) -> tuple[str, ...]:
        if options.all_regions:
            return tuple(enabled_regions(in_region(credentials, home, account).client("ec2")))
        return options.regions or (home,)

    if options.accounts or options.org:
        ids = list_org_accounts(base) if options.org else list(options.accounts)
        sts = base.client("sts")

        def credentials_of(account: str) -> Credentials:
            return _AssumedCredentials(sts, role_arn(account, options.role_name or "", home),
                                       base.settings.role_session_name).credentials()
    else:
        ids = [base.account()]

        def credentials_of(account: str) -> Credentials:
            own = base.boto_session.get_credentials()
            if own is None:
                from botocore.exceptions import NoCredentialsError

                raise NoCredentialsError()
            return own

    def enter(account: str) -> _Account | Problem:
        try:
            credentials = credentials_of(account)
        except Exception as exc:
            return Problem("role", role_arn(account, options.role_name or "", home), describe(exc), exc,
                           action="assume", account=account)
        try:
            return _Account(account, credentials, regions_of(credentials, account))
        except Exception as exc:
            return Problem("ec2", "DescribeRegions", describe(exc), exc, account=account)

    sessions: list[ScopedSession] = []
    problems: list[Problem] = []
    for outcome in map_bounded(enter, ids, concurrency):
        entered = outcome.value
        if isinstance(entered, _Account):
            for region in entered.regions:
                sessions.append(ScopedSession(Scope(entered.id, region),
                                              in_region(entered.credentials, region, entered.id)))
        elif isinstance(entered, Problem):
            problems.append(entered)
        elif outcome.error is not None:  # not raised by enter's own steps: a bug, said as one
            problems.append(Problem("account", outcome.item, describe(outcome.error), outcome.error,
                                    account=outcome.item))
    return ScopePlan(tuple(sessions), tuple(problems))


@dataclass(frozen=True)
class ScopedRun(Generic[T]):
    """What each scope answered, in scope order, and why the others did not."""

    results: tuple[tuple[Scope, T], ...]
    problems: tuple[Problem, ...] = ()
    #: Scopes planned (entered or not): `failed` of them gave no answer.
    planned: int = 0

    @property
    def failed(self) -> int:
        return self.planned - len(self.results)

    @property
    def partial(self) -> bool:
        return bool(self.problems)


def run_scoped(plan: ScopePlan, work: Callable[[Scope, AwsSession], T],
               concurrency: int = DEFAULT_SCOPE_CONCURRENCY,
               *, accounts_planned: int | None = None) -> ScopedRun[T]:
    """`work` in every scope of `plan`, at most `concurrency` at once; a scope whose work raises is a Problem
    (`scope REGION/ACCOUNT`), beside the scopes that answered. KeyboardInterrupt is not captured."""
    from eda_cli.aws.errors import describe
    from eda_cli.core.concurrency import map_bounded

    by_scope = {s.scope: s.session for s in plan.sessions}
    outcomes = map_bounded(lambda scope: work(scope, by_scope[scope]), list(by_scope), concurrency)
    results: list[tuple[Scope, T]] = []
    problems: list[Problem] = list(plan.problems)
    for outcome in outcomes:
        if outcome.error is None:
            results.append((outcome.item, cast(T, outcome.value)))
        else:
            scope = outcome.item
            problems.append(Problem("scope", scope.label, describe(outcome.error), outcome.error,
                                    account=scope.account, region=scope.region))
    return ScopedRun(tuple(results), tuple(problems), planned=len(by_scope) + len(plan.problems))


def scoped_problems(scope: Scope, problems: Sequence[Problem]) -> list[Problem]:
    """A scope's own problems, each marked with the scope it happened in."""
    return [replace(p, account=scope.account, region=scope.region) for p in problems]
