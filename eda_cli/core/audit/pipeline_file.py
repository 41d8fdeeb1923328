"""The pipeline file's own rule: every resource it names exists."""

from __future__ import annotations

from eda_cli.core.audit.base import RuleContext, rule


@rule("pipeline-file-resources", "error", "Every resource the pipeline file names exists",
      "eda: the pipeline file is the team's inventory; a missing resource was deleted or renamed",
      "https://github.com/eda-cli/eda/blob/main/docs/pipeline-file.md")
def _file_resources(ctx: RuleContext) -> None:
    if not ctx.spec.path or not ctx.spec.names_resources:  # a file naming nothing: nothing to check
        return
    if not ctx.missing:
        ctx.check(ctx.spec.path, "")
    for kind, name, line in ctx.missing:
        ctx.check(name, "", (f"the pipeline file names {kind.replace('_', ' ')} {name}, which does not exist in "
                             f"{ctx.pipeline.region}",
                             "create it, fix the name, or remove it from the pipeline file"), line=line or None)


RULES = (_file_resources,)
