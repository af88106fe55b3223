"""The congress workload used by the cluster test: it lives in tests/support/workload.py, shared
with the crash and load tests."""

from tests.support.workload import (  # noqa: F401
    CHECKINS,
    CLOSES,
    CONGRESSES,
    DELEGATES,
    LOGIN,
    PUBLICATIONS,
    SCANS,
    SEALED,
    SIGNATURES,
    STAFF,
    STEPS,
    UPLOADS,
    USERS,
    Route,
    Step,
    Workload,
    pdf_bytes,
)
