"""A schema diff as SARIF 2.1.0, for code-scanning in CI: one rule per kind of change, a result per
change (breaking: error; compatible: note), located in the new schema's file."""

from __future__ import annotations

from typing import Any

from eda_cli.core.schemas.diff import KINDS, DiffResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def to_sarif(result: DiffResult, version: str, new_uri: str) -> dict[str, Any]:
    kinds = sorted({c.kind for c in result.changes})
    rules = [{"id": kind, "name": kind, "shortDescription": {"text": KINDS[kind][1]},
              "defaultConfiguration": {"level": "error" if KINDS[kind][0] else "note"}} for kind in kinds]
    results = [{
        "ruleId": change.kind,
        "ruleIndex": kinds.index(change.kind),
        "level": "error" if change.breaking else "note",
        "message": {"text": f"{change.text}: {change.meaning}"},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": new_uri}},
            "logicalLocations": [{"fullyQualifiedName": change.path, "kind": "member"}],
        }],
    } for change in result.changes]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "eda", "version": version, "informationUri": "https://github.com/eda-cli/eda",
                            "rules": rules}},
        "results": results,
    }]}
