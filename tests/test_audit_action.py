"""The GitHub Action (action.yml) and its shell step (scripts/audit-action.sh), run against the backend as a CI
job runs it: the SARIF written, the outputs for the next steps, the job's exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.fixtures.scopes import ROLE, clients_in, fresh_accounts

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "audit-action.sh"


def run_script(endpoint: str, tmp_path: Path, **env: str) -> tuple[int, str, dict[str, str]]:
    """The script in bash with `env` (and eda pointed at `endpoint`); exit code, stderr, $GITHUB_OUTPUT."""
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    process = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                             env={**os.environ, "EDA_ENDPOINT_URL": endpoint, "GITHUB_OUTPUT": str(outputs),
                                  "EDA_COMMAND": f"{sys.executable} -m eda_cli", **env})
    pairs = (line.split("=", 1) for line in outputs.read_text().splitlines())
    return process.returncode, process.stderr, dict(pairs)


def test_the_script_audits_two_accounts_into_one_sarif_and_exits_by_the_finding(endpoint: str, tmp_path: Path) -> None:
    accounts = fresh_accounts()
    clients_in(endpoint, accounts[1], "us-east-1")("sqs").create_queue(QueueName="orders")
    scopes = {"EDA_ACCOUNTS": ",".join(accounts), "EDA_ROLE_NAME": ROLE, "EDA_REGIONS": ""}
    code, stderr, outputs = run_script(endpoint, tmp_path, **scopes)
    assert code == 1, stderr  # sqs-redrive-policy (an error) in the second account
    assert outputs == {"exit-code": "1", "sarif-file": "eda-audit.sarif", "sarif-written": "true"}
    assert "a finding at or above 'error'" in stderr
    [run] = json.loads((tmp_path / "eda-audit.sarif").read_text())["runs"]
    assert [(r["ruleId"], r["properties"]["account"]) for r in run["results"]] == [
        ("sqs-redrive-policy", accounts[1])]
    assert run["results"][0]["locations"][0]["logicalLocations"][1]["name"] == f"us-east-1/{accounts[1]}"


def test_bad_inputs_write_no_sarif_and_exit_2(endpoint: str, tmp_path: Path) -> None:
    accounts = fresh_accounts()
    code, stderr, outputs = run_script(endpoint, tmp_path, EDA_ACCOUNTS=accounts[0])  # no role name
    assert code == 2 and "--accounts needs --role-name" in stderr
    assert outputs["sarif-written"] == "false" and not (tmp_path / "eda-audit.sarif").exists()
    # as the action runs it: exit 0 now, the code in the outputs for the step that fails the job
    deferred, _, outputs = run_script(endpoint, tmp_path, EDA_ACCOUNTS=accounts[0], EDA_DEFER_EXIT="true")
    assert deferred == 0 and outputs["exit-code"] == "2"


def test_the_action_runs_the_script_with_every_input() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    [audit] = [s for s in steps if s.get("id") == "audit"]
    assert "scripts/audit-action.sh" in audit["run"]
    for name in ("regions", "accounts", "role-name", "config", "fail-on", "allow-empty"):
        assert f"inputs.{name} }}}}" in " ".join(audit["env"].values()), name
    assert audit["env"]["EDA_DEFER_EXIT"] == "true"
    [upload] = [s for s in steps if "upload-sarif" in s.get("uses", "")]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert steps[-1]["run"].startswith("exit ") and "exit-code" in steps[-1]["env"]["CODE"]
    # the scope variables are the ones eda reads
    from eda_cli.app import command

    envvars = {p.name: p.envvar for p in command().params}
    assert (envvars["regions"], envvars["accounts"], envvars["role_name"]) == (
        "EDA_REGIONS", "EDA_ACCOUNTS", "EDA_ROLE_NAME")
