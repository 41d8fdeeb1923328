"""`eda iam-policy`, proven: each read-only command runs against moto with IAM enforced, under exactly
the policy eda prints for it, attached to an IAM user whose keys the CLI uses; a destructive action is
denied; and (for discovery and dlq) every action in the policy is needed.

A dedicated moto server runs in its own process with INITIAL_NO_AUTH_ACTION_COUNT=3: the first three
calls (create the admin user, give it `*`, create its key) are unauthenticated, every later call is
signed and authorised against IAM. moto enforces IAM in server mode for every service that goes
through its common request handler (SQS, SNS, EventBridge, DynamoDB and Streams, Lambda, Step
Functions, CloudWatch, Logs, IAM, STS): all the services eda calls. Three moto quirks are corrected in
that server process, so that the policy eda prints (AWS's action names) is what gets evaluated:

* moto names CloudWatch actions by the API's signing name (`monitoring:DescribeAlarms`); IAM calls
  them `cloudwatch:DescribeAlarms`.
* moto authorises SQS batch calls as `sqs:ChangeMessageVisibilityBatch`; IAM authorises them as the
  single-message action (`sqs:ChangeMessageVisibility`), as AWS's SQS documentation says. Likewise SNS's
  PublishBatch, which IAM authorises as `sns:Publish`.
* moto cannot verify the SigV4 signature of Lambda's and Pipes' GET requests (it signs its headers as
  the body), so every such call would fail with SignatureDoesNotMatch: the signature check is skipped for
  Lambda and Pipes only. The action is still authorised against the policy.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eda_cli.core.iam import DISCOVERY_ACTIONS, POLICIES, is_write_action, policies_for, policy_document
from tests.fixtures.cli import Result, assert_one_line_error
from tests.fixtures.discovery import build_account, make_function
from tests.fixtures.servers import free_port, moto_server_process

SHIM = r"""
import sys
from moto.iam import access_control as ac

_init = ac.IAMRequestBase.__init__

def __init__(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    service, _, action = self._action.partition(":")
    if service == "monitoring":
        self._action = "cloudwatch:" + action
    elif service == "sqs" and action.endswith("Batch"):
        self._action = "sqs:" + action[: -len("Batch")]
    elif service == "sns" and action == "PublishBatch":
        self._action = "sns:Publish"

ac.IAMRequestBase.__init__ = __init__
_check_signature = ac.IAMRequestBase.check_signature

def check_signature(self):
    if self._service not in ("lambda", "pipes"):
        _check_signature(self)

ac.IAMRequestBase.check_signature = check_signature

from moto.server import main
main(sys.argv[1:])
"""

REGION = "us-east-1"
SMALL_REGION = "us-west-2"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "eda_cli" / "sandbox" / "events"
SAGA = ROOT / "examples" / "sagas" / "checkout.yaml"


class IamServer:
    def __init__(self, url: str, admin: dict[str, str]) -> None:
        self.url = url
        self.admin = admin
        self.execution_arn = ""

    def client(self, service: str, keys: dict[str, str] | None = None, region: str = REGION) -> Any:
        import boto3

        keys = keys or self.admin
        return boto3.client(service, endpoint_url=self.url, region_name=region,  # type: ignore[call-overload]
                            aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"])

    def user_with(self, policy: dict[str, Any]) -> dict[str, str]:
        """A new IAM user with exactly `policy` attached (inline), and its access key."""
        name = f"eda-user-{uuid.uuid4().hex[:12]}"
        iam = self.client("iam")
        iam.create_user(UserName=name)
        if policy["Statement"]:
            iam.put_user_policy(UserName=name, PolicyName="eda", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"UserName": name, "AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def seed(server: IamServer) -> None:
    """The demo pipeline, plus what the demo lacks (a function, mappings, a state machine), so that
    every action of the discovery policy is called at least once."""
    from eda_cli.sandbox.demo_pipeline import seed_demo

    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = server.client(service)
        return cache[service]

    demo = seed_demo(client, region=REGION)
    fn = make_function(client, "notify", timeout=10)
    client("lambda").create_event_source_mapping(FunctionName="notify", EventSourceArn=demo.stream_arn,
                                                 StartingPosition="LATEST")
    # A pipe from the orders stream with a DLQ of its own: `dlq list` describes it (pipes:DescribePipe).
    client("pipes").create_pipe(
        Name="orders-changes", Source=demo.stream_arn, Target=demo.queue("eu-fulfilment").arn,
        RoleArn="arn:aws:iam::123456789012:role/pipe",
        SourceParameters={"DynamoDBStreamParameters": {
            "StartingPosition": "LATEST", "DeadLetterConfig": {"Arn": demo.queue("eu-fulfilment-dlq").arn}}})
    definition = {"StartAt": "Notify", "States": {"Notify": {"Type": "Task", "Resource": fn, "End": True}}}
    client("stepfunctions").create_state_machine(name="notify-flow", definition=json.dumps(definition),
                                                 roleArn="arn:aws:iam::123456789012:role/sfn")
    client("logs").create_log_group(logGroupName="/eda/test")
    # One of every kind in another region, for the (many) runs of the least-privilege test.
    small = build_account(lambda service: server.client(service, region=SMALL_REGION))
    # ... with a stream pipe, whose DLQ discovery reads with pipes:DescribePipe
    server.client("pipes", region=SMALL_REGION).create_pipe(
        Name="items-to-work", Source=small["stream"], Target=small["work"],
        RoleArn="arn:aws:iam::123456789012:role/pipe",
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST",
                                                       "DeadLetterConfig": {"Arn": small["dlq"]}}})
    # A saga execution for `saga status` and `saga history`: deployed by eda itself, as the admin.
    from eda_cli.app import run

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AWS_PROFILE", raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", server.admin["AccessKeyId"])
        mp.setenv("AWS_SECRET_ACCESS_KEY", server.admin["SecretAccessKey"])
        mp.setenv("AWS_REGION", REGION)
        assert run([f"--endpoint-url={server.url}", "-o", "json", "saga", "deploy", str(SAGA)]) == 0
    sfn = client("stepfunctions")
    machine = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "checkout")
    server.execution_arn = sfn.start_execution(stateMachineArn=machine, name=f"iam-{uuid.uuid4().hex[:8]}",
                                               input=json.dumps({"order_id": "o-1", "sku": "SKU-100",
                                                                 "amount": 1}))["executionArn"]


@pytest.fixture(scope="module")
def iam_server() -> Iterator[IamServer]:
    port = free_port()
    command = [sys.executable, "-c", SHIM, "-H", "127.0.0.1", "-p", str(port)]
    with moto_server_process("moto server", command, port, {"INITIAL_NO_AUTH_ACTION_COUNT": "3"}) as url:
        import boto3

        iam = boto3.client("iam", endpoint_url=url, region_name=REGION,
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        # The three unauthenticated calls INITIAL_NO_AUTH_ACTION_COUNT allows.
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        server = IamServer(url, {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]})
        seed(server)
        yield server


@pytest.fixture
def as_user(iam_server: IamServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            tmp_path: Path) -> Callable[..., Result]:
    """Run eda in-process with the keys of a user holding exactly `policy`."""
    from eda_cli.app import run

    monkeypatch.chdir(tmp_path)  # `eda init` writes ./eda.yaml

    def invoke(policy: dict[str, Any], *args: str) -> Result:
        keys = iam_server.user_with(policy)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        capsys.readouterr()
        args = tuple(a.replace("{execution}", iam_server.execution_arn) for a in args)
        code = run([f"--endpoint-url={iam_server.url}", *args])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return invoke


#: Every read-only command that calls AWS, as the IAM test runs it, and the exit codes that mean
#: "it worked" (audit exits 1: the sandbox has findings on purpose).
READ_ONLY_RUNS: list[tuple[str, list[str], set[int]]] = [
    ("dlq list", ["dlq", "list"], {0}),
    ("dlq inspect", ["dlq", "inspect"], {0}),
    ("dlq inspect", ["dlq", "inspect", "payments-dlq"], {0}),
    ("dlq peek", ["dlq", "peek", "payments-dlq", "--group-by", "error"], {0}),
    ("watch", ["watch", "--once"], {0}),
    ("topology", ["topology"], {0}),
    ("audit", ["audit"], {1}),
    ("audit", ["audit", "--sample-dlqs", "3"], {1}),
    ("init", ["init"], {0}),
    ("stream tail", ["stream", "tail", "orders", "--from", "trim-horizon", "--no-follow"], {0}),
    ("route test", ["route", "test", str(EVENTS / "order-created-eu.json"), "--bus", "orders-bus"], {0, 1}),
    ("trace", ["trace", "corr-0006", "--since", "2h"], {0, 1}),
    ("saga compile", ["saga", "compile", str(SAGA)], {0}),
    ("saga status", ["saga", "status", "{execution}"], {0}),
    ("saga history", ["saga", "history", "{execution}"], {0}),
    ("schema infer", ["schema", "infer", "--from-queue", "eu-fulfilment-dlq"], {0}),
    ("schema infer", ["schema", "infer", "--from-stream", "orders", "--count", "5"], {0}),
    ("schema check", ["schema", "check", "--queue", "eu-fulfilment-dlq", "--schema",
                      str(ROOT / "eda_cli" / "sandbox" / "schemas" / "order-created.json")], {1}),
]
#: Read-only commands the test cannot run on moto: ListMessageMoveTasks is not implemented there.
NOT_RUN_ON_MOTO = {"redrive status"}
#: Read-only commands of the EventBridge schemas API, which moto lacks (tests/test_schema_registry.py stubs it).
NOT_RUN_ON_MOTO |= {"schema diff", "schema pull"}


def _denied(result: Result) -> bool:
    text = result.stderr.lower()
    return "access denied" in text or "accessdenied" in text or "not authorized" in text


@pytest.mark.parametrize(("command", "args", "ok"), READ_ONLY_RUNS, ids=[" ".join(r[1][:3]) for r in READ_ONLY_RUNS])
def test_read_only_command_runs_under_exactly_its_policy(
    as_user: Callable[..., Result], command: str, args: list[str], ok: set[int]
) -> None:
    [policy] = policies_for(command, read_only=True)  # `schema infer` has a write entry too: --from-tail's
    result = as_user(policy_document([policy]), *args)
    assert result.code in ok, result.stdout[-2000:] + result.stderr[-2000:]
    assert not _denied(result), result.stderr


def test_every_discovery_action_is_needed(iam_server: IamServer) -> None:
    """Least privilege: drop any one action from the discovery policy (topology's, audit's, init's)
    and discovery reports what it could not read. Run through the core API on a region holding one
    resource of each kind (the CLI path is the parametrized test above)."""
    from eda_cli.core.pipeline import discover

    keys = iam_server.user_with({"Version": "2012-10-17", "Statement": []})
    user, iam = keys["UserName"], iam_server.client("iam")
    clients: dict[str, Any] = {}

    def factory(service: str) -> Any:
        if service not in clients:
            clients[service] = iam_server.client(service, keys, region=SMALL_REGION)
        return clients[service]

    full = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(DISCOVERY_ACTIONS),
                                                    "Resource": "*"}]}
    iam.put_user_policy(UserName=user, PolicyName="eda", PolicyDocument=json.dumps(full))
    assert discover(factory, SMALL_REGION).problems == ()
    for action in DISCOVERY_ACTIONS:
        reduced = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": [a for a in DISCOVERY_ACTIONS if a != action], "Resource": "*"}]}
        iam.put_user_policy(UserName=user, PolicyName="eda", PolicyDocument=json.dumps(reduced))
        problems = discover(factory, SMALL_REGION).problems
        assert any(action.split(":")[1] in p.error for p in problems), (action, problems)


@pytest.mark.parametrize("command", ["dlq list", "dlq inspect", "dlq peek"])
def test_every_dlq_action_is_needed(as_user: Callable[..., Result], command: str) -> None:
    [policy] = policies_for(command)
    runs = [args for name, args, _ in READ_ONLY_RUNS if name == command]
    for action in policy.actions:
        reduced = [a for a in policy.actions if a != action]
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": reduced, "Resource": "*"}]}
        codes = [as_user(document, *args).code for args in runs]
        assert any(code != 0 for code in codes), (command, action, codes)


def test_destructive_actions_are_denied_to_the_read_only_policy(iam_server: IamServer) -> None:
    from botocore.exceptions import ClientError

    document = policy_document(policies_for(read_only=True))
    keys = iam_server.user_with(document)
    sqs = iam_server.client("sqs", keys)
    url = sqs.get_queue_url(QueueName="inventory-dlq")["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"]
    for call in (
        lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"]),
        lambda: sqs.purge_queue(QueueUrl=url),
        lambda: sqs.send_message(QueueUrl=url, MessageBody="x"),
        lambda: iam_server.client("dynamodb", keys).delete_table(TableName="orders"),
        lambda: iam_server.client("events", keys).put_targets(Rule="eu-orders", EventBusName="orders-bus",
                                                              Targets=[{"Id": "x", "Arn": "arn:aws:sqs:::x"}]),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    depth = iam_server.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "2"


def test_a_write_command_is_refused_under_the_read_only_policy(as_user: Callable[..., Result]) -> None:
    document = policy_document(policies_for(read_only=True))
    result = as_user(document, "redrive", "replay", str(EVENTS / "order-created-eu.json"), "--to", "payments", "--yes")
    assert result.code != 0


def test_redrive_of_an_eventbridge_target_dlq_runs_under_exactly_its_policy(
    iam_server: IamServer, as_user: Callable[..., Result]
) -> None:
    """`redrive run`'s policy holds what an EventBridge target DLQ needs: ListTargetsByRule, and each target's
    API (SQS, SNS, Step Functions here; PutEvents with --to-bus)."""
    from tests.fixtures.eventbridge_dlq import add_target, dead_letter, dlq, event, queue, rule

    sqs, sns, events, sfn = (iam_server.client(s) for s in ("sqs", "sns", "events", "stepfunctions"))
    tag = uuid.uuid4().hex[:8]
    dlq_url, dlq_arn = dlq(sqs, f"iam-eb-{tag}-dlq")
    _, queue_arn = queue(sqs, f"iam-eb-{tag}-billing")
    topic = sns.create_topic(Name=f"iam-eb-{tag}-alerts")["TopicArn"]
    machine = sfn.create_state_machine(
        name=f"iam-eb-{tag}", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
    r = rule(events, f"iam-eb-{tag}", bus=f"iam-eb-{tag}")
    for target_id, arn in (("billing", queue_arn), ("alerts", topic), ("flow", machine)):
        add_target(events, r, target_id, arn, dlq_arn)
        dead_letter(sqs, dlq_url, event(1), r.arn, arn)
    [policy] = policies_for("redrive run")
    result = as_user(policy_document([policy]), "-o", "json", "redrive", f"iam-eb-{tag}-dlq", "--yes",
                     "--wait-seconds", "0")
    assert result.code == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert {d["api"]: d["moved"] for d in json.loads(result.stdout)["destinations"]} == {
        "SendMessageBatch": 1, "PublishBatch": 1, "StartExecution": 1}
    # moto delivers a put event only to SQS targets (others answer HTTP 500): they go before --to-bus
    events.remove_targets(Rule=r.name, EventBusName=r.bus, Ids=["alerts", "flow"])
    dead_letter(sqs, dlq_url, event(2), r.arn, queue_arn)
    to_bus = as_user(policy_document([policy]), "redrive", f"iam-eb-{tag}-dlq", "--to-bus", "--yes",
                     "--wait-seconds", "0")
    assert to_bus.code == 0 and not _denied(to_bus), to_bus.stderr[-2000:]


def test_redrive_of_an_sns_subscription_dlq_runs_under_exactly_its_policy(
    iam_server: IamServer, as_user: Callable[..., Result]
) -> None:
    """`redrive run`'s policy holds what finding a subscription's DLQ needs (ListSubscriptions,
    GetSubscriptionAttributes, ListFunctions, ListFunctionEventInvokeConfigs) and the endpoint's SendMessageBatch."""
    from eda_cli.sandbox.demo_pipeline.dead_letters import envelope_text, sns_envelope
    from tests.fixtures.eventbridge_dlq import drain, queue

    sqs, sns = iam_server.client("sqs"), iam_server.client("sns")
    tag = uuid.uuid4().hex[:8]
    dlq_url, dlq_arn = queue(sqs, f"iam-sub-{tag}-dlq")
    inbox_url, inbox_arn = queue(sqs, f"iam-sub-{tag}-inbox")
    topic = sns.create_topic(Name=f"iam-sub-{tag}")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, ReturnSubscriptionArn=True,
                                 Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})}
                                 )["SubscriptionArn"]
    body = envelope_text(sns_envelope(topic, subscription, '{"orderId": "o-1"}', {}, str(uuid.uuid4()), 0.0))
    sqs.send_message(QueueUrl=dlq_url, MessageBody=body)
    [policy] = policies_for("redrive run")
    result = as_user(policy_document([policy]), "-o", "json", "redrive", f"iam-sub-{tag}-dlq", "--yes",
                     "--wait-seconds", "0")
    assert result.code == 0 and not _denied(result), result.stdout[-2000:] + result.stderr[-2000:]
    assert [(d["route"], d["moved"]) for d in json.loads(result.stdout)["destinations"]] == [("sns subscription", 1)]
    assert [m["Body"] for m in drain(sqs, inbox_url)] == [body]


def test_redrive_of_a_stream_on_failure_dlq_runs_under_exactly_its_policy(
    iam_server: IamServer, as_user: Callable[..., Result], tmp_path: Path
) -> None:
    """`redrive run`'s policy holds what an event source mapping's DLQ needs: ListEventSourceMappings to find the
    mapping, and DynamoDB Streams' GetShardIterator and GetRecords to read the range back (here --to-file)."""
    from tests.fixtures.discovery import make_function
    from tests.fixtures.eventbridge_dlq import queue
    from tests.fixtures.stream_failures import on_failure_record, shard_records

    sqs, ddb = iam_server.client("sqs"), iam_server.client("dynamodb")
    tag = uuid.uuid4().hex[:8]
    dlq_url, dlq_arn = queue(sqs, f"iam-esm-{tag}-dlq")
    stream = ddb.create_table(
        TableName=f"iam-esm-{tag}", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=f"iam-esm-{tag}", Item={"id": {"S": "a"}})
    function = make_function(iam_server.client, f"iam-esm-{tag}")
    iam_server.client("lambda").create_event_source_mapping(
        FunctionName=f"iam-esm-{tag}", EventSourceArn=stream, StartingPosition="LATEST", Enabled=False,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}})
    shard, [record] = shard_records(iam_server.client("dynamodbstreams"), stream)
    number = record["dynamodb"]["SequenceNumber"]
    sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(on_failure_record(function, stream, shard, number,
                                                                                number, 1)))
    out = tmp_path / "records.jsonl"
    [policy] = policies_for("redrive run")
    result = as_user(policy_document([policy]), "-o", "json", "redrive", f"iam-esm-{tag}-dlq", "--to-file", str(out),
                     "--yes", "--wait-seconds", "0")
    assert result.code == 0 and not _denied(result), result.stdout[-2000:] + result.stderr[-2000:]
    assert [(d["route"], d["records"]) for d in json.loads(result.stdout)["destinations"]] == [
        ("event source mapping", 1)]
    assert [json.loads(line)["dynamodb"]["Keys"] for line in out.read_text().splitlines()] == [{"id": {"S": "a"}}]


# -- the policies themselves ------------------------------------------------------------------------


def test_read_only_policies_hold_no_write_action() -> None:
    for policy in POLICIES:
        writes = [a for a in policy.actions if is_write_action(a)]
        assert bool(writes) is (not policy.read_only), (policy.command, writes)
    statement_sids = [s["Sid"] for s in policy_document(policies_for(read_only=True))["Statement"]]
    assert statement_sids == ["EdaRead"]


def _leaf_commands() -> list[str]:
    import typer

    from eda_cli.app import app

    names: list[str] = []

    def walk(command: Any, prefix: str) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, f"{prefix} {name}".strip())
        else:
            names.append(prefix)

    walk(typer.main.get_command(app), "")
    return names


def test_every_command_has_a_policy() -> None:
    """A new command must say what it needs: add it to eda_cli/core/iam.py (and to READ_ONLY_RUNS
    above when it is read-only and calls AWS)."""
    missing = []
    for command in _leaf_commands():
        try:
            policies_for(command)
        except Exception:
            missing.append(command)
    assert not missing, f"commands without an IAM policy in eda_cli/core/iam.py: {missing}"
    runnable = {name for name, _, _ in READ_ONLY_RUNS} | NOT_RUN_ON_MOTO
    untested = [p.command for p in POLICIES if p.read_only and p.actions and p.command not in runnable]
    assert not untested, f"read-only commands not run under their policy here: {untested}"


def test_cli(eda: Callable[..., Result]) -> None:
    result = eda("iam-policy", "dlq", "inspect")
    assert result.code == 0
    document = json.loads(result.stdout)
    assert document["Version"] == "2012-10-17"
    assert document["Statement"][0]["Action"] == sorted(policies_for("dlq inspect")[0].actions)
    group = eda("-o", "json", "iam-policy", "dlq")
    assert set(group.json()["Statement"][0]["Action"]) >= {"sqs:ReceiveMessage", "cloudwatch:GetMetricData"}
    listing = eda("-o", "json", "iam-policy", "--list")
    assert {"command": "audit", "read_only": True} .items() <= listing.items()[5].items() or any(
        row["command"] == "audit" for row in listing.items())
    assert_one_line_error(eda("iam-policy", "nope"), 2)


@pytest.mark.parametrize("args", [["sandbox"], ["demo"], ["completion"], ["iam-policy"], ["saga", "validate"],
                                  ["-o", "json", "sandbox"]])
def test_a_command_that_calls_no_aws_api_gets_no_policy(cli: Callable[..., Result], args: list[str]) -> None:
    """Was `{"Version": ..., "Statement": []}` on stdout, which IAM rejects: now nothing on stdout, and
    one line on stderr that says why."""
    result = cli("iam-policy", *args)
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "calls no AWS API" in lines[0] and "no IAM policy" in lines[0], result.stderr
    with pytest.raises(ValueError):
        policy_document(policies_for(" ".join(a for a in args if a not in ("-o", "json"))))


def test_every_policy_printed_has_a_statement(cli: Callable[..., Result]) -> None:
    everything = cli("iam-policy")
    assert everything.code == 0 and len(json.loads(everything.stdout)["Statement"]) == 2
    assert {row["command"] for row in cli("-o", "json", "iam-policy", "--list").items()} >= {"sandbox", "demo"}
    read_only = cli("iam-policy", "--read-only", "saga")
    assert read_only.code == 0 and json.loads(read_only.stdout)["Statement"][0]["Sid"] == "EdaRead"
    # --read-only of a command that changes things leaves nothing: an error, not an empty policy
    refused = cli("iam-policy", "--read-only", "redrive", "replay")
    assert_one_line_error(refused, 2)
    assert refused.stdout == "" and "redrive replay" in refused.stderr


# -- commands that change things, run under exactly their policy ------------------------------------


def _taps(server: IamServer) -> list[str]:
    """Every eda-tap queue, rule and subscription on the server (as the admin)."""
    found = list(server.client("sqs").list_queues(QueueNamePrefix="eda-tap-").get("QueueUrls", []))
    found += [r["Name"] for r in server.client("events").list_rules(NamePrefix="eda-tap-",
                                                                     EventBusName="orders-bus")["Rules"]]
    found += [s["SubscriptionArn"] for s in server.client("sns").list_subscriptions()["Subscriptions"]
              if s.get("Endpoint", "").rsplit(":", 1)[-1].startswith("eda-tap-")]
    return found


@pytest.mark.parametrize(("command", "args"), [
    ("tail bus", ["tail", "bus", "orders-bus", "--timeout", "1"]),
    ("tail bus", ["tail", "bus", "orders-bus", "--rule", "eu-orders", "--timeout", "1"]),
    ("tail topic", ["tail", "topic", "orders", "--filter-policy", '{"type": ["order.created"]}', "--timeout", "1"]),
    ("tail queue", ["tail", "queue", "eu-fulfilment", "--timeout", "1"]),
    ("tail queue", ["tail", "queue", "payments", "--timeout", "1"]),
    ("probe", ["probe", "--bus", "orders-bus", "--event", f"@{EVENTS / 'order-created-eu.json'}", "--yes",
               "--settle", "0", "--timeout", "5"]),
    ("probe", ["probe", "--bus", "orders-bus", "--event", f"@{EVENTS / 'order-created-eu.json'}", "--yes",
               "--settle", "0", "--timeout", "1", "--expect", "fraud-review"]),
    ("probe", ["probe", "--topic", "orders", "--message", '{"orderId": "o-1"}', "--yes", "--settle", "0",
               "--timeout", "5"]),
], ids=["bus", "bus --rule", "topic", "queue (rule)", "queue (subscription)", "probe bus", "probe --expect",
        "probe topic"])
def test_tail_runs_under_exactly_its_policy(iam_server: IamServer, as_user: Callable[..., Result], command: str,
                                            args: list[str]) -> None:
    """A tail or a probe creates and removes its taps with nothing but the actions `eda iam-policy` prints for
    it (moto
    authorises CreateQueue and PutRule by their own action: sqs:TagQueue and events:TagResource, which
    AWS also requires for tags at creation, are in the policy but not proven here)."""
    [policy] = policies_for(command)
    result = as_user(policy_document([policy]), *args)
    assert result.code in ({0, 1} if command == "probe" else {0}), result.stderr  # the demo has broken routes
    assert not _denied(result), result.stderr
    assert "removed queue eda-tap-" in result.stderr
    assert _taps(iam_server) == []


def test_schema_infer_from_tail_runs_under_schema_infers_policies(iam_server: IamServer,
                                                                  as_user: Callable[..., Result]) -> None:
    """`iam-policy "schema infer"`: the read entry and --from-tail's write entry, enough to open, listen
    on and remove a tap (nothing is put on the bus: exit 5, no event)."""
    policies = policies_for("schema infer")
    assert [p.read_only for p in policies] == [True, False]
    result = as_user(policy_document(policies), "schema", "infer", "--from-tail", "bus", "orders-bus", "--count", "1",
                     "--timeout", "1")
    assert result.code == 5, result.stderr
    assert not _denied(result), result.stderr
    assert "removed queue eda-tap-" in result.stderr
    assert _taps(iam_server) == []


def test_tail_cleanup_runs_under_exactly_its_policy(iam_server: IamServer, as_user: Callable[..., Result]) -> None:
    from eda_cli.core.tap import Tap

    admin_sqs, events, sns = (iam_server.client(s) for s in ("sqs", "events", "sns"))
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":orders"))
    Tap(admin_sqs, events=events, name="eda-tap-killed-0000aaaa").open_bus("orders-bus", '{"source": ["x"]}')
    Tap(admin_sqs, sns=sns, name="eda-tap-killed-0000bbbb").open_topic(topic)
    assert len(_taps(iam_server)) == 4
    [policy] = policies_for("tail cleanup")
    result = as_user(policy_document([policy]), "-o", "json", "tail", "cleanup", "--older-than", "0s", "--yes")
    assert result.code == 0, result.stderr
    assert not _denied(result), result.stderr
    assert len(result.items()) == 4 and all(i["removed"] for i in result.items())
    assert _taps(iam_server) == []
