"""How a tap's resources are named and tagged, so that a later run can recognise them."""

from __future__ import annotations

import os
import re
import secrets

#: Every tap resource's name starts with this: queue, rule (same name) and, through its queue, subscription.
PREFIX = "eda-tap-"
EPHEMERAL_TAG = "eda:ephemeral"
EXPIRES_TAG = "eda:expires"
#: The pattern of a tap without --pattern or --rule: every event on the bus (a prefix of "" matches any
#: source; EventBridge, moto and LocalStack accept it).
MATCH_ALL = '{"source": [{"prefix": ""}]}'
_USER_MAX = 20


def user_label(user: str | None = None) -> str:
    """Who runs the tap, as a name part: [a-z0-9-], at most 20 characters ("user" when unknown)."""
    if user is None:
        try:
            import getpass

            user = getpass.getuser()
        except Exception:  # no login name (a container without passwd entry): only a label
            user = os.environ.get("USER", "")
    label = re.sub(r"[^a-z0-9-]+", "-", user.lower()).strip("-")[:_USER_MAX].strip("-")
    return label or "user"


def tap_name(user: str | None = None, token: str | None = None) -> str:
    """`eda-tap-<user>-<8 hex>`: at most 37 characters, valid for a queue (80) and a rule (64)."""
    return f"{PREFIX}{user_label(user)}-{token or secrets.token_hex(4)}"
