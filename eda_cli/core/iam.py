"""The least-privilege IAM policy each eda command needs.

Every command that talks to AWS is listed here with exactly the actions it calls (the action a
paginated List call needs once, not per page). Read-only commands list no action that changes or
deletes anything; `tests/test_iam_policy.py` runs each of them against moto with IAM enforced,
under exactly the policy printed here, and checks that a destructive action is denied.

Commands that never call AWS (the sandbox, the demo, completion, iam-policy itself) need nothing.
Resource is "*" throughout: eda discovers resources by listing them, and List actions do not
support resource-level permissions. Narrow Resource to your ARNs for the commands that name one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eda_cli.errors import UsageError

POLICY_VERSION = "2012-10-17"

#: What live discovery (core/pipeline/discovery.py) calls: one action per List/Describe it makes.
DISCOVERY_ACTIONS: tuple[str, ...] = (
    "sqs:ListQueues",
    "sqs:GetQueueAttributes",
    "sns:ListTopics",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptions",
    "sns:GetSubscriptionAttributes",
    "events:ListEventBuses",
    "events:ListRules",
    "events:ListTargetsByRule",
    "dynamodb:ListTables",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:ListTagsOfResource",
    "lambda:ListFunctions",
    "lambda:ListEventSourceMappings",
    "lambda:ListFunctionEventInvokeConfigs",
    "pipes:ListPipes",
    "pipes:DescribePipe",
    "states:ListStateMachines",
    "states:DescribeStateMachine",
    "cloudwatch:DescribeAlarms",
    "logs:DescribeLogGroups",
)

#: Actions that change or delete data: a read-only command's policy never holds one.
WRITE_ACTION_PREFIXES = ("Delete", "Purge", "Send", "Put", "Update", "Create", "Start", "Stop", "Cancel",
                         "Publish", "Set", "Tag", "Untag", "Invoke", "Redrive", "Remove", "Add", "Subscribe",
                         "Unsubscribe")


@dataclass(frozen=True)
class CommandPolicy:
    #: The command as typed after `eda`: "dlq inspect".
    command: str
    actions: tuple[str, ...]
    read_only: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"command": self.command, "read_only": self.read_only, "actions": list(self.actions),
                "note": self.note}


#: What finds the DLQs: the queues' RedrivePolicies, and what the configuration names as a DLQ
#: (eda_cli/core/dlq/origins.py).
_DLQ_READ = ("sqs:ListQueues", "sqs:GetQueueAttributes", "sns:ListSubscriptions", "sns:GetSubscriptionAttributes",
             "events:ListEventBuses", "events:ListRules", "events:ListTargetsByRule", "lambda:ListFunctions",
             "lambda:ListFunctionEventInvokeConfigs", "lambda:ListEventSourceMappings", "pipes:ListPipes",
             "pipes:DescribePipe")
_RESOLVE_QUEUE = ("sqs:GetQueueUrl",)
#: What every tail does with its temporary queue.
_TAP = ("sqs:ListQueues", "sqs:CreateQueue", "sqs:TagQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes",
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:DeleteQueue")
#: A tap's rule on a bus, and a tap's subscription to a topic.
_TAP_RULE = ("events:PutRule", "events:TagResource", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule")
_TAP_SUBSCRIPTION = ("sns:Subscribe", "sns:Unsubscribe")

POLICIES: tuple[CommandPolicy, ...] = (
    CommandPolicy("dlq list", _DLQ_READ, True),
    CommandPolicy(
        "dlq inspect",
        (*_DLQ_READ, *_RESOLVE_QUEUE, "sqs:ListDeadLetterSourceQueues", "cloudwatch:DescribeAlarms",
         "cloudwatch:GetMetricData"),
        True,
    ),
    CommandPolicy(
        "dlq peek",
        (*_RESOLVE_QUEUE, "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"),
        True,
        "never deletes: ChangeMessageVisibility only makes the messages it read visible again at once; "
        "--schema registry:... also needs schemas:DescribeSchema",
    ),
    CommandPolicy(
        "watch",
        (*_DLQ_READ, "states:ListStateMachines", "states:DescribeStateMachine", "states:ListExecutions",
         "cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms", "sqs:ListMessageMoveTasks",
         "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"),
        True,
        "reads only; the board's `p` peeks a DLQ as `dlq peek` does (ReceiveMessage, then ChangeMessageVisibility "
        "makes what it read visible again at once; nothing is deleted)",
    ),
    CommandPolicy(
        "schema infer",
        (*_RESOLVE_QUEUE, "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility",
         "dynamodb:DescribeTable", "dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"),
        True,
        "--from-queue peeks (ChangeMessageVisibility puts what it read back at once); --from-stream reads the "
        "table's stream; --from-file calls no AWS API; --from-tail also needs 'schema infer --from-tail'",
    ),
    CommandPolicy(
        "schema infer --from-tail",
        (*_TAP, *_TAP_RULE),
        False,
        "only for --from-tail: creates a temporary queue and a rule on the bus (eda-tap-*) and removes them when "
        "it has its events",
    ),
    CommandPolicy(
        "schema check",
        (*_RESOLVE_QUEUE, "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility",
         "schemas:DescribeSchema"),
        True,
        "--queue peeks without consuming; --schema registry:... reads the schema registry",
    ),
    CommandPolicy("schema diff", ("schemas:DescribeSchema",), True,
                  "reads the registry only for a registry:... schema; two files need no AWS API"),
    CommandPolicy("schema pull", ("schemas:ListSchemas", "schemas:DescribeSchema"), True),
    CommandPolicy("schema push", ("schemas:DescribeSchema", "schemas:CreateSchema", "schemas:UpdateSchema"), False,
                  "creates the schema in the registry, or adds a version when its content changed"),
    CommandPolicy(
        "redrive run",
        (*_RESOLVE_QUEUE, "sqs:GetQueueAttributes", "sqs:ListDeadLetterSourceQueues", "sqs:ReceiveMessage",
         "sqs:ChangeMessageVisibility", "sqs:SendMessage", "sqs:DeleteMessage", "sqs:StartMessageMoveTask",
         "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask", "events:ListTargetsByRule", "sns:Publish",
         "lambda:InvokeFunction", "states:StartExecution", "events:PutEvents", "kinesis:PutRecords",
         "firehose:PutRecordBatch", "sns:ListSubscriptions", "sns:GetSubscriptionAttributes", "lambda:ListFunctions",
         "lambda:ListFunctionEventInvokeConfigs", "lambda:ListEventSourceMappings", "dynamodb:GetShardIterator",
         "dynamodb:GetRecords", "kinesis:GetShardIterator", "kinesis:GetRecords"),
        False,
        "moves messages: sends them to their source and deletes them from the DLQ (or starts a native move task); "
        "an EventBridge target's DLQ: reads the rule's targets and delivers each event to its target (SQS, SNS, "
        "Lambda, Step Functions, another bus, Kinesis, Firehose) or, with --to-bus, puts it on the rule's bus; "
        "a DLQ nothing else names: finds the SNS subscription, Lambda function or event source mapping that names it "
        "and delivers to that subscription's endpoint (SQS, Lambda) or invokes that function again; a stream "
        "on-failure record's records are read back from the DynamoDB or Kinesis stream (also with --to-file)",
    ),
    CommandPolicy("redrive replay", (*_RESOLVE_QUEUE, "sqs:GetQueueAttributes", "sqs:SendMessage"), False,
                  "sends archived messages to a queue"),
    CommandPolicy("redrive status", (*_RESOLVE_QUEUE, "sqs:GetQueueAttributes", "sqs:ListMessageMoveTasks"), True),
    CommandPolicy("redrive cancel", (*_RESOLVE_QUEUE, "sqs:GetQueueAttributes", "sqs:ListMessageMoveTasks",
                                     "sqs:CancelMessageMoveTask"), False, "cancels a running message move task"),
    CommandPolicy(
        "route test",
        ("events:DescribeEventBus", "events:ListRules", "events:DescribeRule", "events:ListTargetsByRule",
         "sns:ListTopics", "sns:ListSubscriptionsByTopic", "sns:GetSubscriptionAttributes"),
        True,
        "with patterns given on the command line only, it calls no AWS API",
    ),
    CommandPolicy(
        "tail bus",
        (*_TAP, "events:DescribeRule", *_TAP_RULE),
        False,
        "creates a temporary queue and rule (eda-tap-*) and removes them when the tail ends",
    ),
    CommandPolicy(
        "tail topic",
        (*_TAP, "sns:ListTopics", *_TAP_SUBSCRIPTION),
        False,
        "creates a temporary queue (eda-tap-*) subscribed to the topic and removes both when the tail ends",
    ),
    CommandPolicy(
        "tail queue",
        (*_TAP, *_RESOLVE_QUEUE, "sqs:ListDeadLetterSourceQueues", "events:ListEventBuses",
         "events:ListRuleNamesByTarget", "events:DescribeRule", *_TAP_RULE, "sns:ListSubscriptions",
         "sns:GetSubscriptionAttributes", *_TAP_SUBSCRIPTION),
        False,
        "copies each rule and subscription that feeds the queue into a temporary queue (eda-tap-*), removed when "
        "the tail ends; never reads the queue itself",
    ),
    CommandPolicy(
        "probe",
        (*_TAP, *_RESOLVE_QUEUE, "events:DescribeEventBus", "events:ListRules", "events:ListTargetsByRule",
         *_TAP_RULE, "events:PutEvents", "sns:ListTopics", "sns:ListSubscriptionsByTopic",
         "sns:GetSubscriptionAttributes", *_TAP_SUBSCRIPTION, "sns:Publish"),
        False,
        "sends one event (PutEvents or Publish) and taps its routes with temporary queues, rules and "
        "subscriptions (eda-tap-*), removed when it ends",
    ),
    CommandPolicy(
        "tail cleanup",
        ("sqs:ListQueues", "sqs:GetQueueAttributes", "sqs:DeleteQueue", "events:ListEventBuses", "events:ListRules",
         "events:ListTargetsByRule", "events:RemoveTargets", "events:DeleteRule", "sns:ListSubscriptions",
         "sns:Unsubscribe"),
        False,
        "removes eda-tap-* queues, rules and subscriptions left by killed tails",
    ),
    CommandPolicy("stream tail", ("dynamodb:DescribeTable", "dynamodb:DescribeStream", "dynamodb:GetShardIterator",
                                  "dynamodb:GetRecords"), True),
    CommandPolicy("saga validate", (), True, "checks a saga file locally; calls no AWS API"),
    CommandPolicy("saga redrive", ("states:ListStateMachines", "states:DescribeStateMachine", "states:ListExecutions",
                                   "states:DescribeExecution", "states:RedriveExecution"), False,
                  "restarts failed executions from the state that failed (RedriveExecution)"),
    CommandPolicy("saga compile", ("sqs:GetQueueUrl", "sns:ListTopics"), True,
                  "resolves QueueName/TopicName in the saga file; prints the state machine definition"),
    CommandPolicy(
        "saga deploy",
        ("sqs:GetQueueUrl", "sns:ListTopics", "states:ListStateMachines", "states:DescribeStateMachine",
         "states:CreateStateMachine", "states:UpdateStateMachine", "iam:PassRole"),
        False,
        "creates or updates the state machine; iam:PassRole is for its execution role",
    ),
    CommandPolicy(
        "saga run",
        ("sqs:GetQueueUrl", "sns:ListTopics", "states:ListStateMachines", "states:DescribeStateMachine",
         "states:CreateStateMachine", "states:UpdateStateMachine", "iam:PassRole", "states:StartExecution",
         "states:DescribeExecution", "states:GetExecutionHistory", "dynamodb:DescribeTable",
         "dynamodb:DescribeTimeToLive", "dynamodb:BatchGetItem", "dynamodb:PutItem"),
        False,
        "the local engine also needs each step's own action (lambda:InvokeFunction, sqs:SendMessage, "
        "sns:Publish, events:PutEvents, dynamodb:PutItem ...), as named in the saga file",
    ),
    CommandPolicy("saga status", ("states:DescribeStateMachineForExecution", "states:DescribeExecution",
                                  "states:GetExecutionHistory"), True),
    CommandPolicy("saga history", ("states:DescribeStateMachineForExecution", "states:GetExecutionHistory"), True),
    CommandPolicy(
        "trace",
        (*(a for a in DISCOVERY_ACTIONS if not a.startswith("cloudwatch:")), "sqs:GetQueueUrl",
         "sqs:ListDeadLetterSourceQueues", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility",
         "logs:FilterLogEvents", "logs:StartQuery", "logs:GetQueryResults", "dynamodb:Scan", "dynamodb:GetItem",
         "dynamodb:BatchGetItem",
         "dynamodb:Query", "dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords",
         "states:ListExecutions", "states:DescribeExecution", "states:GetExecutionHistory"),
        True,
        "peeks DLQs without consuming them (ChangeMessageVisibility puts what it read back at once)",
    ),
    CommandPolicy("topology", DISCOVERY_ACTIONS, True),
    CommandPolicy(
        "audit",
        (*DISCOVERY_ACTIONS, "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"),
        True,
        "sqs:ReceiveMessage and sqs:ChangeMessageVisibility only for --sample-dlqs, which peeks rule targets' "
        "DLQs as `dlq peek` does (nothing deleted; what it read is made visible again at once)",
    ),
    CommandPolicy("init", DISCOVERY_ACTIONS, True, "writes eda.yaml locally; changes nothing in AWS"),
    CommandPolicy("iam-policy", (), True, "prints a policy; calls no AWS API"),
    CommandPolicy("demo", (), True, "runs on the embedded sandbox; calls no AWS API"),
    CommandPolicy("completion", (), True, "prints a shell completion script"),
    CommandPolicy("sandbox", (), True, "the embedded sandbox (moto) on 127.0.0.1; calls no AWS API"),
)


#: What running a read command in several scopes adds, for the credentials eda starts from (the caller: a CI
#: role, an on-call user): entering each account (`--accounts`), listing the organization's accounts
#: (`--accounts org`), and listing the enabled regions (`--regions all`, asked in each account, so the role
#: assumed there needs it too). The role in each account needs the command's own policy (`eda iam-policy
#: audit`), and a trust policy that lets the caller assume it (`trust_policy`).
SCOPE_ACTIONS: tuple[tuple[str, str], ...] = (
    ("sts:AssumeRole", "--accounts: assume --role-name in each account (narrow Resource to "
                       "arn:aws:iam::*:role/NAME)"),
    ("organizations:ListAccounts", "--accounts org: from the management account or a delegated administrator"),
    ("ec2:DescribeRegions", "--regions all: the regions enabled for each account (the assumed role needs it too)"),
)

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_PRINCIPAL_ARN = re.compile(r"^arn:aws[\w-]*:(iam|sts)::\d{12}:\S+$")


def scope_statement(role_name: str | None = None) -> dict[str, Any]:
    """The caller's statement for `--regions`/`--accounts`; with `role_name`, AssumeRole only of that role."""
    assume = {"Sid": "EdaScopesAssume", "Effect": "Allow", "Action": ["sts:AssumeRole"],
              "Resource": f"arn:aws:iam::*:role/{role_name.strip('/')}" if role_name else "*"}
    listing = {"Sid": "EdaScopesList", "Effect": "Allow",
               "Action": sorted(a for a, _ in SCOPE_ACTIONS if a != "sts:AssumeRole"), "Resource": "*"}
    return {"Version": POLICY_VERSION, "Statement": [assume, listing]}


def trust_policy(trusted: str) -> dict[str, Any]:
    """The trust policy of the role eda assumes in each account (`--role-name`): `trusted` (an account id, whose
    principals may then assume it as their own policies allow, or the ARN of one role or user) may assume it.
    Raises UsageError for anything else."""
    trusted = trusted.strip()
    if _ACCOUNT_ID.match(trusted):
        principal = f"arn:aws:iam::{trusted}:root"
    elif _PRINCIPAL_ARN.match(trusted):
        principal = trusted
    else:
        raise UsageError(f"--trust {trusted!r}: give the account id (12 digits) or the ARN of the role or user "
                         "eda runs as", hint="e.g. --trust 111111111111 or --trust arn:aws:iam::111111111111:role/ci")
    return {"Version": POLICY_VERSION, "Statement": [{
        "Sid": "EdaAssumeRole", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]}


def _key(command: str) -> str:
    return " ".join(command.split())


def known_commands() -> list[str]:
    return [p.command for p in POLICIES]


def policies_for(command: str | None = None, *, read_only: bool = False) -> list[CommandPolicy]:
    """The policies of `command` ("dlq inspect"; a group "dlq" means all its commands), or of every
    command when None. Raises UsageError for a command eda does not have."""
    chosen = list(POLICIES)
    if command:
        key = _key(command)
        chosen = [p for p in POLICIES if p.command == key or p.command.startswith(key + " ")
                  or key.startswith(p.command + " ")]
        if not chosen:
            raise UsageError(f"no such command: {command}",
                             hint="commands: " + ", ".join(known_commands()))
    if read_only:
        chosen = [p for p in chosen if p.read_only]
        if not chosen:  # else: no policy, and a note that it calls no AWS API, which is not so
            raise UsageError(f"--read-only: {command} changes things, so no read-only command is left",
                             hint="drop --read-only to print its policy")
    return chosen


def calls_aws(policies: Iterable[CommandPolicy]) -> bool:
    """Whether any of `policies` calls an AWS API. When none does there is no policy to print: IAM
    rejects a document without a statement."""
    return any(p.actions for p in policies)


#: Actions whose names look like writes but that only read (AWS's access level for logs:StartQuery
#: is Read), or that `dlq peek` and `trace` need to put back what they read.
NOT_WRITES = frozenset({"ChangeMessageVisibility", "StartQuery"})


def is_write_action(action: str) -> bool:
    name = action.split(":", 1)[-1]
    return name not in NOT_WRITES and name.startswith(WRITE_ACTION_PREFIXES)


def policy_document(policies: Iterable[CommandPolicy]) -> dict[str, Any]:
    """One IAM policy document granting what `policies` need: a read statement and, if any command
    changes things, a separate write statement (so it is easy to see, and to drop).

    Raises ValueError when they call no AWS API (see `calls_aws`): a policy with no statement is invalid.
    """
    read: set[str] = set()
    write: set[str] = set()
    for p in policies:
        for action in p.actions:
            (write if is_write_action(action) and not p.read_only else read).add(action)
    if not read and not write:
        raise ValueError("these commands call no AWS API: there is no policy to print")
    statements: list[dict[str, Any]] = []
    if read:
        statements.append({"Sid": "EdaRead", "Effect": "Allow", "Action": sorted(read), "Resource": "*"})
    if write:
        statements.append({"Sid": "EdaWrite", "Effect": "Allow", "Action": sorted(write), "Resource": "*"})
    return {"Version": POLICY_VERSION, "Statement": statements}
