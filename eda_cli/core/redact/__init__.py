"""Redaction: masking card numbers, emails, phone numbers, IBANs and chosen fields in what eda prints.

    redactor = Redactor.build(["detail.card.number", "$.items[*].price"], ["pci"])
    redactor.document({"detail": {"card": {"number": "4242 4242 4242 4242"}}})
    # {"detail": {"card": {"number": "<redacted>"}}}
    redactor.text("card 4242 4242 4242 4242 declined")   # "card <card ••••4242> declined"

Modules: `detect` (what the presets find in free text), `paths` (the path syntax), `redactor` (Redactor and
the Scope a result is masked in), `results` (masked copies of the results that carry message contents).
Archives are never masked: they exist to re-send the exact messages.
"""

from __future__ import annotations

from eda_cli.core.redact import results
from eda_cli.core.redact.detect import (
    EMAIL_MASK,
    IBAN_MASK,
    PCI,
    PHONE_MASK,
    PII,
    PRESETS,
    card_mask,
    iban_ok,
    is_card_number,
    luhn_ok,
    scrub,
)
from eda_cli.core.redact.paths import PathError, RedactPath, parse_path
from eda_cli.core.redact.redactor import REDACTED, Redactor, Scope, parse_presets

__all__ = [
    "EMAIL_MASK",
    "IBAN_MASK",
    "PCI",
    "PHONE_MASK",
    "PII",
    "PRESETS",
    "REDACTED",
    "PathError",
    "RedactPath",
    "Redactor",
    "Scope",
    "card_mask",
    "iban_ok",
    "is_card_number",
    "luhn_ok",
    "parse_path",
    "parse_presets",
    "results",
    "scrub",
]
