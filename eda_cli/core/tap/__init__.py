"""Ephemeral taps: a temporary SQS queue fed by a temporary EventBridge rule or SNS subscription.

`Tap` creates them, receives what arrives, and removes everything it created (`close`, on every exit
path); `find_stale` and `remove` clean up after a tap that was killed before it could.
"""

from __future__ import annotations

from eda_cli.core.tap.naming import EPHEMERAL_TAG, EXPIRES_TAG, MATCH_ALL, PREFIX, tap_name, user_label
from eda_cli.core.tap.stale import StaleResource, count_taps, find_stale, remove
from eda_cli.core.tap.tap import Delivery, Tap, TapError, TapResource, close_all

__all__ = [
    "EPHEMERAL_TAG", "EXPIRES_TAG", "MATCH_ALL", "PREFIX", "Delivery", "StaleResource", "Tap", "TapError",
    "TapResource",
    "close_all", "count_taps", "find_stale", "remove", "tap_name", "user_label",
]
