"""Scopes (`--regions`, `--accounts`, `--role-name`): parsing, planning, running at once with a failed scope a
partial result, write commands refusing them, and `dlq inspect` over two regions and `audit` over two accounts
end to end."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from eda_cli.aws.scopes import (
    Scope,
    ScopedSession,
    ScopeOptions,
    ScopePlan,
    parse_scope_options,
    plan_scopes,
    role_arn,
    run_scoped,
)
from eda_cli.aws.session import AwsSession, AwsSettings
from eda_cli.errors import UsageError
from tests.aws_shapes import AwsFake, aws_error
from tests.fixtures.cli import Result, assert_one_line_error, in_process
from tests.fixtures.fakes import Failing
from tests.fixtures.scopes import ACCOUNTS, ROLE, clients_in, fresh_accounts, queue_with_dlq
from tests.fixtures.sessions import ReplacingSession, session_factory

# -- parsing ---------------------------------------------------------------------------------------


def test_parse_regions_accounts_and_role_name() -> None:
    options = parse_scope_options(" us-east-1, eu-west-1,us-east-1", "111111111111,222222222222", "audit/eda")
    assert options == ScopeOptions(regions=("us-east-1", "eu-west-1"), accounts=ACCOUNTS, role_name="audit/eda")
    assert options.given
    assert parse_scope_options("all", "org", "r") == ScopeOptions(all_regions=True, org=True, role_name="r")
    assert parse_scope_options("us-gov-west-1,ap-southeast-4", None, None).regions == (
        "us-gov-west-1", "ap-southeast-4")
    assert not parse_scope_options(None, None, None).given
    assert role_arn("111111111111", "eda") == "arn:aws:iam::111111111111:role/eda"
    assert role_arn("111111111111", "eda", "cn-north-1") == "arn:aws-cn:iam::111111111111:role/eda"


@pytest.mark.parametrize(("regions", "accounts", "role", "says"), [
    ("us-east-1,bogus", None, None, "'bogus' is not a region name"),
    ("us-east-1,,eu-west-1", None, None, "empty item"),
    (",", None, None, "at least one value"),
    ("all,us-east-1", None, None, "'all' stands alone"),
    (None, "12345", "r", "not an account id"),
    (None, "org,111111111111", "r", "'org' stands alone"),
    (None, "111111111111", None, "--accounts needs --role-name"),
    (None, None, "r", "--role-name goes with --accounts"),
    (None, "111111111111", "arn:aws:iam::111111111111:role/r", "not its ARN"),
])
def test_bad_scope_options_are_usage_errors(regions: str | None, accounts: str | None, role: str | None,
                                            says: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_scope_options(regions, accounts, role)
    assert says in caught.value.message


def test_bad_scope_options_exit_2_before_any_call(cli: Callable[..., Result]) -> None:
    result = cli("--regions", "us-east-1,nowhere", "dlq", "list")
    assert_one_line_error(result, 2)
    assert "'nowhere' is not a region name" in result.stderr
    assert_one_line_error(cli("dlq", "list", "--accounts", "111111111111"), 2)  # anywhere on the line


@pytest.mark.parametrize("argv", [
    ["redrive", "orders-dlq", "--yes"],
    ["tail", "--bus", "default"],
    ["saga", "run", "saga.yaml"],
    ["stream", "tail", "orders"],
    ["probe", "--bus", "default"],
    ["dlq", "peek", "orders-dlq"],
    ["dlq", "inspect", "--watch", "5"],
    ["init"],
])
def test_write_and_single_scope_commands_refuse_scope_options(cli: Callable[..., Result], argv: list[str]) -> None:
    result = cli("--regions", "us-east-1,eu-west-1", *argv)
    assert_one_line_error(result, 2)
    assert "us-east-1,eu-west-1" in result.stderr
    assert "one account and region" in result.stderr


# -- running in scopes -----------------------------------------------------------------------------


def _plan(*scopes: Scope) -> ScopePlan:
    """Sessions that are never asked for a client: the work below does not call AWS."""
    return ScopePlan(tuple(ScopedSession(s, AwsSession(AwsSettings(region=s.region), account=s.account))
                           for s in scopes))


SIX = tuple(Scope(a, r) for a in ("111111111111", "222222222222", "333333333333")
            for r in ("us-east-1", "eu-west-1"))


def test_scopes_run_at_once_and_a_failed_scope_is_a_problem_beside_the_others() -> None:
    from botocore.exceptions import EndpointConnectionError

    meet = threading.Barrier(len(SIX) - 1, timeout=10)  # only passes when the working scopes run at once

    def work(scope: Scope, session: AwsSession) -> str:
        assert session.region == scope.region and session.account() == scope.account
        if scope == Scope("222222222222", "eu-west-1"):
            raise EndpointConnectionError(endpoint_url="https://sqs.eu-west-1.amazonaws.com")
        meet.wait()
        return scope.label

    run = run_scoped(_plan(*SIX), work, concurrency=len(SIX))
    assert [value for _, value in run.results] == [s.label for s in SIX if s.region != "eu-west-1"
                                                  or s.account != "222222222222"]
    assert run.partial and run.failed == 1
    [problem] = run.problems
    assert (problem.account, problem.region, problem.service) == ("222222222222", "eu-west-1", "scope")
    assert problem.to_dict()["region"] == "eu-west-1"
    assert "cannot reach the AWS endpoint https://sqs.eu-west-1.amazonaws.com" in str(problem)


def test_the_bound_holds() -> None:
    running, most = 0, 0
    lock = threading.Lock()
    gate = threading.Event()

    def work(scope: Scope, session: AwsSession) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            if running == 2:
                gate.set()
        gate.wait(5)
        with lock:
            running -= 1

    run = run_scoped(_plan(*SIX), work, concurrency=2)
    assert not run.problems and most == 2


class Sts(AwsFake, service="sts"):
    """STS that lets eda assume its role in every account but the ones in `denied`."""

    def __init__(self, denied: set[str]) -> None:
        self.denied = denied
        self.assumed: list[str] = []

    def assume_role(self, RoleArn: str, RoleSessionName: str) -> dict[str, Any]:
        if RoleArn.split(":")[4] in self.denied:
            raise aws_error("sts", "AssumeRole", "AccessDenied", f"not authorized to assume {RoleArn}")
        self.assumed.append(RoleArn)
        return {"Credentials": {"AccessKeyId": "ASIA" + "X" * 16, "SecretAccessKey": "s" * 40, "SessionToken": "t",
                                "Expiration": datetime.now(timezone.utc) + timedelta(hours=1)}}


def test_an_account_whose_role_cannot_be_assumed_is_a_problem_and_the_others_are_planned() -> None:
    sts = Sts(denied={"222222222222"})
    base = ReplacingSession(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9"), {"sts": lambda _: sts})
    options = parse_scope_options("us-east-1,eu-west-1", "111111111111,222222222222", "eda-audit")
    plan = plan_scopes(base, options)
    assert plan.scopes == (Scope("111111111111", "us-east-1"), Scope("111111111111", "eu-west-1"))
    assert sts.assumed == ["arn:aws:iam::111111111111:role/eda-audit"]  # once per account, not per region
    [problem] = plan.problems
    assert problem.resource == "arn:aws:iam::222222222222:role/eda-audit" and problem.account == "222222222222"
    assert str(problem).startswith("could not assume role arn:aws:iam::222222222222:role/eda-audit")
    assert "access denied to AssumeRole" in problem.error
    # each scope's session works in its own region with the role's credentials
    session = plan.sessions[1].session
    assert session.region == "eu-west-1" and session.account() == "111111111111"
    assert session.boto_session.get_credentials().access_key == "ASIA" + "X" * 16


def test_org_lists_the_organizations_accounts() -> None:
    from moto import mock_aws

    with mock_aws():
        import boto3

        org = boto3.client("organizations", region_name="us-east-1")
        org.create_organization(FeatureSet="ALL")
        for n in range(3):
            org.create_account(Email=f"a{n}@example.com", AccountName=f"a{n}")
        ids = sorted(a["Id"] for a in org.list_accounts()["Accounts"])
        base = AwsSession(AwsSettings(region="us-east-1"), boto_session=boto3.Session(region_name="us-east-1"))
        plan = plan_scopes(base, parse_scope_options("us-west-2", "org", "eda-audit"))
        assert [s.account for s in plan.scopes] == ids and len(ids) == 4
        assert {s.region for s in plan.scopes} == {"us-west-2"}



class Ec2(AwsFake, service="ec2"):
    """DescribeRegions as an endpoint that ignores the filter answers (moto does): disabled regions too."""

    def describe_regions(self, Filters: list[Any]) -> dict[str, Any]:
        assert Filters == [{"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]}]
        return {"Regions": [{"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"},
                            {"RegionName": "ap-east-1", "OptInStatus": "not-opted-in"},
                            {"RegionName": "me-south-1", "OptInStatus": "opted-in"},
                            {"RegionName": "eu-west-1"}]}  # AWS leaves OptInStatus out when not asked for all


def test_all_is_the_regions_enabled_for_the_account() -> None:
    from eda_cli.aws.scopes import enabled_regions

    assert enabled_regions(Ec2()) == ["eu-west-1", "me-south-1", "us-east-1"]


def test_all_asks_each_account_and_an_account_that_cannot_list_them_is_a_problem() -> None:
    asked: list[str] = []

    class Scoped(AwsSession):
        def client(self, service: str) -> Any:
            if service != "ec2":
                return super().client(service)
            asked.append(self.account())
            if self.account() == "222222222222":
                return Failing("ec2", Ec2(), {"describe_regions": "UnauthorizedOperation"})
            return Ec2()

    base = ReplacingSession(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9"),
                            {"sts": lambda _: Sts(denied=set())})
    options = parse_scope_options("all", "111111111111,222222222222", "eda-audit")
    plan = plan_scopes(base, options, make_session=lambda settings, boto, account: Scoped(
        settings, boto_session=boto, account=account))
    assert sorted(asked) == ["111111111111", "222222222222"]
    assert plan.scopes == tuple(Scope("111111111111", r) for r in ("eu-west-1", "me-south-1", "us-east-1"))
    [problem] = plan.problems
    assert (problem.service, problem.resource, problem.account) == ("ec2", "DescribeRegions", "222222222222")


def test_an_unreachable_region_is_a_problem_beside_the_region_that_answered(endpoint: str) -> None:
    import boto3

    from eda_cli.core.dlq import scan_dlqs
    from tests.fixtures.servers import free_port

    queue_with_dlq(boto3.Session().client("sqs", region_name="us-east-1", endpoint_url=endpoint), "orders")
    nowhere = f"http://127.0.0.1:{free_port()}"

    def make(settings: AwsSettings, boto: Any, account: str) -> AwsSession:
        if settings.region == "eu-west-1":  # as if the region's endpoint could not be reached
            settings = replace(settings, endpoint_url=nowhere, max_attempts=1)
        return AwsSession(settings, boto_session=boto, account=account)

    base = AwsSession(AwsSettings(region="us-east-1", endpoint_url=endpoint))
    plan = plan_scopes(base, parse_scope_options("us-east-1,eu-west-1", None, None), make_session=make)
    run = run_scoped(plan, lambda scope, s: scan_dlqs(s.client("sqs"), clients=s.client))
    [(scope, scan)] = run.results
    assert scope.region == "us-east-1" and [d.info.name for d in scan.dlqs] == ["orders-dlq"]
    [problem] = run.problems
    assert problem.region == "eu-west-1" and "cannot reach the AWS endpoint" in problem.error


# -- end to end ------------------------------------------------------------------------------------


def test_dlq_inspect_over_two_regions(eda: Callable[..., Result], endpoint: str, account: str) -> None:
    import boto3

    queue_with_dlq(boto3.Session().client("sqs", region_name="us-east-1", endpoint_url=endpoint), "orders")
    west = boto3.Session().client("sqs", region_name="eu-west-1", endpoint_url=endpoint)
    dlq = queue_with_dlq(west, "payments")
    west.send_message(QueueUrl=dlq, MessageBody="poison")

    result = eda("--regions", "us-east-1,eu-west-1", "dlq", "inspect", "-o", "json")
    assert result.code == 0, result.stderr
    rows = {(r["region"], r["queue"]): r for r in result.items()}
    assert set(rows) == {("us-east-1", "orders-dlq"), ("eu-west-1", "payments-dlq")}
    assert {r["account"] for r in rows.values()} == {account}
    assert rows[("eu-west-1", "payments-dlq")]["visible"] == 1
    # a gate over every region at once; a named DLQ is looked for in each
    gate = eda("--regions", "us-east-1,eu-west-1", "dlq", "inspect", "payments-dlq", "--fail-above", "0")
    assert gate.code == 1, gate.stderr
    assert f"eu-west-1/{account} payments-dlq: 1 visible > 0" in gate.stderr
    table = eda("dlq", "list", "--regions", "us-east-1,eu-west-1")
    assert table.code == 0 and "Region" in table.stdout and "eu-west-1" in table.stdout


def test_audit_over_two_accounts_is_one_sarif_and_junit(eda: Callable[..., Result], endpoint: str) -> None:
    accounts = fresh_accounts()
    for account in accounts:
        sqs = clients_in(endpoint, account, "us-east-1")("sqs")
        sqs.create_queue(QueueName=f"no-dlq-{account[:3]}")  # sqs-redrive-policy: an error in each account
    scoped = ("--accounts", ",".join(accounts), "--role-name", ROLE)

    sarif = eda(*scoped, "audit", "--only", "sqs-redrive-policy", "--format", "sarif")
    assert sarif.code == 1, sarif.stderr  # the worst scope: an error finding
    [run] = sarif.json()["runs"]
    scopes = {r["properties"]["account"]: r for r in run["results"]}
    assert set(scopes) == set(accounts)
    for account, finding in scopes.items():
        names = [loc["name"] for loc in finding["locations"][0]["logicalLocations"]]
        assert names == [f"no-dlq-{account[:3]}", f"us-east-1/{account}"]
        assert f"(us-east-1/{account})" in finding["message"]["text"]

    junit = eda(*scoped, "audit", "--only", "sqs-redrive-policy", "--format", "junit")
    names = {case.get("name") for case in ET.fromstring(junit.stdout).iter("testcase")}
    assert names == {f"no-dlq-{a[:3]} (us-east-1/{a})" for a in accounts}

    clean = eda(*scoped, "audit", "--only", "sqs-max-receive-count", "-o", "json", "--allow-empty")
    assert clean.code == 0, clean.stderr
    assert clean.json()["summary"]["scopes"] == [f"us-east-1/{a}" for a in accounts]


def test_topology_joins_the_accounts_graphs(eda: Callable[..., Result], endpoint: str) -> None:
    accounts = fresh_accounts()
    a, b = (clients_in(endpoint, account, "us-east-1") for account in accounts)
    url = b("sqs").create_queue(QueueName="billing")["QueueUrl"]
    queue = b("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    a("events").put_rule(Name="to-billing", EventPattern='{"source": ["orders"]}')
    a("events").put_targets(Rule="to-billing", Targets=[{"Id": "billing", "Arn": queue}])

    result = eda("--accounts", ",".join(accounts), "--role-name", ROLE, "topology", "-o", "json")
    assert result.code == 0, result.stderr
    body = result.json()
    nodes = {n["id"]: n for n in body["nodes"]}
    assert nodes[queue]["kind"] == "queue" and nodes[queue]["account"] == accounts[1]  # not an external stub
    rule = next(n for n in body["nodes"] if n["name"] == "to-billing")
    assert rule["account"] == accounts[0]
    assert any(e["source"] == rule["id"] and e["target"] == queue for e in body["edges"])
    tree = eda("--accounts", ",".join(accounts), "--role-name", ROLE, "topology")
    assert f"us-east-1/{accounts[0]}" in tree.stdout and f"us-east-1/{accounts[1]}" in tree.stdout


def test_trace_follows_an_id_across_regions(eda: Callable[..., Result], endpoint: str, account: str) -> None:
    import json

    import boto3

    queue_with_dlq(boto3.Session().client("sqs", region_name="us-east-1", endpoint_url=endpoint), "orders")
    west = boto3.Session().client("sqs", region_name="eu-west-1", endpoint_url=endpoint)
    west.send_message(QueueUrl=queue_with_dlq(west, "payments"), MessageBody=json.dumps({"correlationId": "c-42"}))

    result = eda("--regions", "us-east-1,eu-west-1", "trace", "c-42", "-o", "json")
    assert result.code == 0, result.stderr
    body = result.json()
    assert [(h["region"], h["account"], h["resource"]) for h in body["hits"]] == [
        ("eu-west-1", account, "payments-dlq")]
    assert {(p["region"], p["resource"]) for p in body["searched"]} >= {
        ("us-east-1", "orders-dlq"), ("eu-west-1", "payments-dlq")}
    assert body["scopes"] == [f"us-east-1/{account}", f"eu-west-1/{account}"]
    assert eda("--regions", "us-east-1,eu-west-1", "trace", "nobody").code == 1
    refused = eda("--regions", "us-east-1,eu-west-1", "trace", "c-42", "--queue", "orders-dlq")
    assert_one_line_error(refused, 2)


def test_a_denied_account_is_partial_exit_4(endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    accounts = fresh_accounts()
    queue_with_dlq(clients_in(endpoint, accounts[0], "us-east-1")("sqs"), "orders")
    denied = session_factory(sts=lambda real: Failing(
        "sts", real, {"assume_role": "AccessDenied"}, when=lambda kw: accounts[1] in kw["RoleArn"]))
    eda = in_process(endpoint, capsys, denied)
    scoped = ("--accounts", ",".join(accounts), "--role-name", ROLE)

    listed = eda(*scoped, "dlq", "list", "-o", "json")
    assert listed.code == 4, listed.stderr
    assert [(r["account"], r["queue"]) for r in listed.items()] == [(accounts[0], "orders-dlq")]
    [problem] = listed.json()["problems"]
    assert problem["service"] == "role" and problem["account"] == accounts[1]
    assert f"could not assume role arn:aws:iam::{accounts[1]}:role/{ROLE}" in listed.stderr

    audited = eda(*scoped, "audit", "--only", "sqs-max-receive-count", "--format", "sarif")
    assert audited.code == 4, audited.stderr
    [run] = audited.json()["runs"]
    assert run["invocations"][0]["executionSuccessful"] is False
    assert accounts[1] in run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


def test_every_scope_failing_alike_is_one_error_exit_3(endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    accounts = fresh_accounts()
    refused = session_factory(sts=lambda real: Failing("sts", real, {"assume_role": "AccessDenied"}))
    result = in_process(endpoint, capsys, refused)("--accounts", ",".join(accounts), "--role-name", ROLE,
                                                   "dlq", "list")
    assert_one_line_error(result, 3)
    assert "access denied to AssumeRole" in result.stderr


# -- IAM -------------------------------------------------------------------------------------------


def test_iam_policy_prints_the_trust_policy_and_the_callers_scope_policy(cli: Callable[..., Result]) -> None:
    trust = cli("iam-policy", "--trust", "111111111111")
    assert trust.code == 0, trust.stderr
    [statement] = trust.json()["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
    ci_role = "arn:aws:iam::111111111111:role/ci"
    assert cli("iam-policy", "--trust", ci_role).json()["Statement"][0]["Principal"] == {"AWS": ci_role}

    scopes = cli("iam-policy", "--scopes").json()
    actions = {a for s in scopes["Statement"] for a in s["Action"]}
    assert actions == {"sts:AssumeRole", "organizations:ListAccounts", "ec2:DescribeRegions"}

    assert_one_line_error(cli("iam-policy", "--trust", "1111"), 2)
    assert_one_line_error(cli("iam-policy", "audit", "--trust", "111111111111"), 2)


def test_the_scope_statement_narrows_assume_role_to_the_role() -> None:
    from eda_cli.core.iam import scope_statement

    assume = scope_statement("eda-readonly")["Statement"][0]
    assert assume["Resource"] == "arn:aws:iam::*:role/eda-readonly"
