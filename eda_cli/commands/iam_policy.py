"""`eda iam-policy`: the least-privilege IAM policy each eda command needs."""

from __future__ import annotations

import typer

from eda_cli.commands._common import ctx_of
from eda_cli.render import TableView


def iam_policy(
    ctx: typer.Context,
    command: list[str] = typer.Argument(None, metavar="COMMAND", help="The command, e.g. 'dlq inspect' or "
                                        "'audit'. A group ('dlq') means all its commands. Default: every command."),
    read_only: bool = typer.Option(False, "--read-only", help="Only the read-only commands (no write action)."),
    list_: bool = typer.Option(False, "--list", help="List each command, whether it is read-only, and its actions."),
    trust: str | None = typer.Option(
        None, "--trust", metavar="ACCOUNT|ARN",
        help="Print the trust policy of the role --accounts assumes in each account (--role-name), letting this "
             "account (or this role or user) assume it. Example: eda iam-policy --trust 111111111111",
    ),
    scopes: bool = typer.Option(
        False, "--scopes", help="Print what the credentials eda starts from need to run in several scopes "
                                "(--accounts, --regions all): sts:AssumeRole, organizations:ListAccounts, "
                                "ec2:DescribeRegions. Example: eda iam-policy --scopes",
    ),
) -> None:
    """Print the least-privilege IAM policy (JSON) for an eda command, or for all of them.

    Read-only commands need no action that changes or deletes anything. Resource is "*" because
    eda discovers resources by listing them; narrow it to your ARNs if you name them. A command that
    calls no AWS API (sandbox, demo, completion ...) needs no policy: it says so on stderr.

    For --accounts: the role in each account gets the command's policy (eda iam-policy audit) and the
    trust policy of --trust; the credentials eda starts from get the --scopes policy.

    Example: eda iam-policy audit > eda-audit-policy.json
    """
    from eda_cli.core.iam import calls_aws, policies_for, policy_document, scope_statement, trust_policy
    from eda_cli.errors import UsageError

    app_ = ctx_of(ctx)
    if trust is not None or scopes:
        if command or list_ or read_only or (trust is not None and scopes):
            raise UsageError("--trust and --scopes each print one policy of their own: give them alone",
                             hint="eda iam-policy --trust 111111111111; eda iam-policy --scopes; eda iam-policy audit")
        app_.renderer.document(trust_policy(trust) if trust is not None else scope_statement())
        return
    wanted = " ".join(command) if command else None
    policies = policies_for(wanted, read_only=read_only)
    if list_:
        app_.renderer.emit([p.to_dict() for p in policies], TableView(
            columns=["Command", "Read-only", "Actions", "Note"],
            rows=[[p.command, p.read_only, len(p.actions) or "none", p.note or ""] for p in policies],
        ))
        return
    if not calls_aws(policies):
        # No policy at all, rather than one with no statement (which IAM rejects): one line says why.
        app_.renderer.note(f"{'eda ' + wanted if wanted else 'these commands'}: calls no AWS API, "
                           "so it needs no IAM policy")
        return
    document = policy_document(policies)
    for p in policies:
        if p.note and (wanted is not None or not p.actions):
            app_.renderer.note(f"{p.command}: {p.note}")
    # The policy is what people paste into IAM: as it is (no envelope), and as JSON even in table mode.
    app_.renderer.document(document)
