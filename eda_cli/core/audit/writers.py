"""Reports for CI: JUnit XML (a testcase per rule and resource) and SARIF 2.1.0 (code scanning)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from eda_cli.core.audit.model import AuditReport, Check, rank


def _xml(text: str) -> str:
    from xml.sax.saxutils import escape

    cleaned = "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)
    return escape(cleaned, {'"': "&quot;"})


def to_junit(report: AuditReport, fail_on: str = "error") -> str:
    """JUnit XML: a testsuite per rule, a testcase per rule and resource.

    A finding at or above `fail_on` is a <failure>; below it, the testcase passes and carries the
    finding in <system-out> (so CI shows it without failing on it).
    """
    by_rule: dict[str, list[Check]] = {}
    for check in report.checks:
        by_rule.setdefault(check.rule, []).append(check)
    info = {r.id: r for r in report.rules}
    suites: list[str] = []
    total = failures = 0
    for rule in report.rules:
        checks = _merge(by_rule.get(rule.id, []))
        cases = []
        suite_failures = 0
        for check in checks:
            total += 1
            failing = [f for f in check.findings if rank(f.severity) >= rank(fail_on)]
            other = [f for f in check.findings if rank(f.severity) < rank(fail_on)]
            body = ""
            if failing:
                suite_failures += 1
                text = "\n".join(f"[{f.severity}] {f.message}\nfix: {f.fix}\nsource: {f.source} ({f.url})"
                                 for f in failing)
                body += (f'<failure message="{_xml(failing[0].message)}" type="{_xml(failing[0].severity)}">'
                         f"{_xml(text)}</failure>")
            if other:
                body += "<system-out>" + _xml("\n".join(f"[{f.severity}] {f.message} (fix: {f.fix})"
                                                         for f in other)) + "</system-out>"
            name = _xml(check.resource if check.scope is None else f"{check.resource} ({check.scope})")
            cases.append(f'    <testcase classname="eda.audit.{_xml(rule.id)}" name="{name}">{body}</testcase>'
                         if body else f'    <testcase classname="eda.audit.{_xml(rule.id)}" name="{name}"/>')
        failures += suite_failures
        title = _xml(info[rule.id].title)
        suites.append(f'  <testsuite name="{_xml(rule.id)}" tests="{len(checks)}" failures="{suite_failures}" '
                      f'errors="0" skipped="0">\n    <properties><property name="title" value="{title}"/>'
                      f'<property name="severity" value="{rule.severity}"/></properties>\n'
                      + "\n".join(cases) + ("\n" if cases else "") + "  </testsuite>")
    errors = len(report.problems)
    problems = ""
    if report.problems:
        lines = "\n".join(str(p) for p in report.problems)
        problems = (f'  <testsuite name="eda-discovery" tests="1" failures="0" errors="1" skipped="0">\n'
                    f'    <testcase classname="eda.audit.discovery" name="discovery">'
                    f'<error message="discovery was partial">{_xml(lines)}</error></testcase>\n  </testsuite>\n')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuites name="eda audit" tests="{total + (1 if errors else 0)}" failures="{failures}" '
            f'errors="{1 if errors else 0}">\n' + "\n".join(suites) + ("\n" if suites else "") + problems
            + "</testsuites>\n")


def _merge(checks: list[Check]) -> list[Check]:
    """One check per (rule, resource): a rule may look at a resource more than once."""
    merged: dict[tuple[str, str, str | None], Check] = {}
    for c in checks:
        key = (c.resource, c.arn, c.scope)
        if key in merged:
            merged[key] = Check(c.rule, c.resource, c.arn, merged[key].findings + c.findings, c.account, c.region)
        else:
            merged[key] = c
    return list(merged.values())


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def to_sarif(report: AuditReport, tool_version: str) -> dict[str, Any]:
    """SARIF 2.1.0: one run, the rules as reportingDescriptors, a result per finding.

    Each result names the resource as a logical location (its ARN); when a pipeline file was read,
    it also points at the file and the line naming the resource, so code-scanning UIs can anchor it.
    In a multi-scope audit, the location names the scope too (a `namespace` logical location, the
    second logical location: `eu-west-1/111111111111`), and so do the message and the properties.
    """
    rule_index = {r.id: i for i, r in enumerate(report.rules)}
    results = []
    for f in report.findings:
        resource: dict[str, Any] = {"name": f.resource, "fullyQualifiedName": f.arn or f.resource, "kind": "resource"}
        logical = [resource]
        if f.scope is not None:
            if not f.arn:
                resource["fullyQualifiedName"] = f"{f.scope}/{f.resource}"
            logical.append({"name": f.scope, "fullyQualifiedName": f.scope, "kind": "namespace"})
        location: dict[str, Any] = {"logicalLocations": logical}
        if report.config_path:
            location["physicalLocation"] = {
                "artifactLocation": {"uri": report.config_path.replace("\\", "/")},
                "region": {"startLine": f.line or 1},
            }
        results.append({
            "ruleId": f.rule,
            "ruleIndex": rule_index[f.rule],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.resource}{f' ({f.scope})' if f.scope else ''}: {f.message}. Fix: {f.fix}"},
            "locations": [location],
            "partialFingerprints": {"edaFinding/v1": hashlib.sha256(
                (f"{f.rule}|{f.arn}|{f.resource}|{f.message}" + (f"|{f.scope}" if f.scope else "")).encode()
            ).hexdigest()},
            "properties": {"resource": f.resource, "arn": f.arn, "fix": f.fix, "source": f.source,
                           **({"account": f.account, "region": f.region} if f.scope else {})},
        })
    notifications = [{"level": "error", "message": {"text": str(p)}} for p in report.problems]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "eda",
            "version": tool_version,
            "informationUri": "https://github.com/eda-cli/eda",
            "rules": [{
                "id": r.id,
                "name": "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]+", r.id)),
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": f"{r.title}. Source: {r.source}."},
                "helpUri": r.url,
                "help": {"text": f"{r.source}. See {r.url}"},
                "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
            } for r in report.rules],
        }},
        "results": results,
        "invocations": [{"executionSuccessful": not report.problems,
                         "toolExecutionNotifications": notifications}],
    }
    if report.config_path:
        run["artifacts"] = [{"location": {"uri": report.config_path.replace("\\", "/")}}]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
