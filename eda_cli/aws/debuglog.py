"""What `--debug` may print: botocore's debug log with every credential taken out.

botocore logs, at DEBUG, each request's canonical form (with the `x-amz-security-token` header), its
signature, and the prepared request's headers (`Authorization: ... Credential=AKIA.../...`,
`X-Amz-Security-Token`). `SecretFilter`, on every handler of the root logger, rewrites each record before
it is written: those headers and fields, presigned URLs' credentials, and the very values of the
credentials the session uses (whatever logger or format carries them) become `<redacted>`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

REDACTED = "<redacted>"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # headers as a dict or a canonical request: 'Authorization': b'AWS4-HMAC-SHA256 ...', x-amz-security-token:...
    (re.compile(r"""((?:authorization|x-amz-security-token|x-amz-credential|x-amz-signature)['"]?\s*[:=]\s*b?['"]?)"""
                r"""[^'"\n,}&]+""", re.IGNORECASE), r"\1" + REDACTED),
    # query strings of presigned URLs
    (re.compile(r"((?:X-Amz-Credential|X-Amz-Signature|X-Amz-Security-Token|AWSAccessKeyId|Signature)=)[^&\s'\"]+"),
     r"\1" + REDACTED),
    # Credential=AKIA.../date/region/service/aws4_request
    (re.compile(r"(Credential=)[^,\s'\"]+"), r"\1" + REDACTED),
    # botocore.auth's "Signature:\n<hex>"
    (re.compile(r"(Signature:\s*)[0-9a-fA-F]{32,}"), r"\1" + REDACTED),
    # credentials in a response (STS AssumeRole's XML or JSON) or in a config dump
    (re.compile(r"(<(?:SecretAccessKey|SessionToken|AccessKeyId)>)[^<]*"), r"\1" + REDACTED),
    (re.compile(r"""((?:secret_?access_?key|session_?token|access_?key_?id|aws_secret_access_key|"""
                r"""aws_session_token|aws_access_key_id)['"]?\s*[:=]\s*['"]?)[^'"\s,}]+""", re.IGNORECASE),
     r"\1" + REDACTED),
)


class SecretFilter(logging.Filter):
    """Rewrites each record's message without credentials (see the module's docstring); never drops one."""

    def __init__(self) -> None:
        super().__init__("eda-secrets")
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()

    def remember(self, values: Iterable[str | None]) -> None:
        """Credential values to take out of every record, wherever they appear."""
        with self._lock:
            known = set(self._values) | {v for v in values if v and len(v) >= 8}
            self._values = tuple(sorted(known, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted: leave it to the handler to report
            return True
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


_FILTER = SecretFilter()


def secret_filter() -> SecretFilter:
    """The process's filter (one, shared by every handler it guards)."""
    return _FILTER


def guard_logging(values: Iterable[str | None] = ()) -> None:
    """Put the filter on every handler of the root logger (once each) and remember `values` (credentials in
    use). Called when a session is built, so that whatever --debug set up is guarded before any AWS call."""
    _FILTER.remember(values)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
