"""Sagas: one spec, two engines (local and Step Functions), the same outcome on both.

- `spec`: the saga file (YAML), validated with file:line errors;
- `template`: `${input...}` / `${steps.NAME.result...}` parameters, rendered or compiled to ASL;
- `integrations`: the service integrations both engines run, shaped as Step Functions shapes them;
- `model`: the events a run produces and the result they fold into (shared by both engines);
- `prepare`: a run's input parsed and checked, queue and topic names resolved, `${account}` filled in;
- `local`: the local engine (with the idempotency store for resumable runs);
- `asl`: the compiler to Amazon States Language;
- `stepfunctions`: deploy, start, follow the history, status and history of executions.

Nothing here prints or imports typer, rich or (at import time) boto3.
"""

from __future__ import annotations

from eda_cli.core.saga.model import SagaEvent, SagaResult
from eda_cli.core.saga.spec import Saga, SagaFileError, parse_saga, read_saga

__all__ = ["Saga", "SagaEvent", "SagaFileError", "SagaResult", "parse_saga", "read_saga"]
