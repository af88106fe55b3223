"""A test that cannot run here: skipped on a developer's machine, failed in CI.

CI (CI=true) installs and runs everything the suite needs (PostgreSQL, SoftHSM2, openssl):
there a missing piece is a broken set-up, and a skip would hide it.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def cannot_run(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason} (CI must provide it)")
    pytest.skip(reason)


def needs(condition: bool, reason: str) -> pytest.MarkDecorator:
    """`@needs(shutil.which("x"), "x is missing")`: skip outside CI, fail in CI."""
    return pytest.mark.skipif(not condition and not in_ci(), reason=reason)
