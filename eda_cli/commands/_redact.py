"""The redaction options every command that prints message or record contents takes, and the Redactor they
make with the pipeline file's `redact:` (./eda.yaml, or the command's --config).

    def peek_cmd(..., redact: list[str] = redact_option(), redact_preset: list[str] = redact_preset_option(),
                 no_redact: bool = no_redact_option()) -> None:
        masker = redactor(app_, redact, redact_preset, no_redact)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from eda_cli.context import AppContext
    from eda_cli.core.redact import Redactor

REDACT_HELP = ("Mask this field of message contents, whatever it holds (repeatable): detail.card.number, "
               "customer.email, $.items[*].price.")
PRESET_HELP = ("Mask card numbers (pci: 13-19 digits passing the Luhn check) or emails, phone numbers and IBANs "
               "(pii) wherever they appear in message contents (repeatable, or pci,pii).")
NO_REDACT_HELP = "Mask nothing, whatever the pipeline file's redact: says (said on stderr)."


def redact_option() -> Any:
    """`--redact PATH` (repeatable)."""
    return typer.Option(None, "--redact", metavar="PATH", help=REDACT_HELP)


def redact_preset_option() -> Any:
    """`--redact-preset pci|pii` (repeatable or comma-separated)."""
    return typer.Option(None, "--redact-preset", metavar="pci|pii", help=PRESET_HELP)


def no_redact_option() -> Any:
    """`--no-redact`: overrides the pipeline file."""
    return typer.Option(False, "--no-redact", help=NO_REDACT_HELP)


def redactor(app_: AppContext, paths: list[str] | None, presets: list[str] | None, no_redact: bool,
             config: str | None = None) -> Redactor:
    """The options and the pipeline file's `redact:` (`config`, else ./eda.yaml when it exists), merged; bad
    paths or presets are exit 2 before any AWS call. --no-redact masks nothing and says so on stderr."""
    import os

    from eda_cli.commands._pipeline import config_errors
    from eda_cli.core.redact import Redactor
    from eda_cli.errors import UsageError

    flags = Redactor.build(paths or (), presets or ())
    if no_redact:
        if flags.active:
            raise UsageError("--no-redact masks nothing: it cannot be given with --redact or --redact-preset")
        app_.renderer.note("--no-redact: message contents are shown unmasked (the pipeline file's redact: is "
                           "ignored); mind where you paste them")
        return Redactor()
    if config is None and not os.path.lexists("eda.yaml"):
        return flags
    from eda_cli.core.pipeline.spec import find_pipeline_file, load_pipeline_file

    with config_errors():
        path = find_pipeline_file(config)
        spec = load_pipeline_file(path) if path is not None else None
    if spec is None or not (spec.redact_paths or spec.redact_presets):
        return flags
    merged = Redactor.build((*spec.redact_paths, *(str(p) for p in flags.paths)),
                            (*spec.redact_presets, *flags.presets))
    said = Redactor.build(spec.redact_paths, spec.redact_presets).describe()
    app_.renderer.note(f"masking message contents as {spec.path} says: {said} (--no-redact shows them)")
    return merged
