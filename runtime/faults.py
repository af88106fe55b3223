"""Named fault points: the process SIGKILLs itself at an exact point, so tests can prove recovery.

Set `FAULT_POINTS=outbox.after_publish` (comma-separated; `name@N` fires on the N-th pass)
in a service's environment. Unset in production, a fault point costs one dict lookup.
"""

from __future__ import annotations

import os
import signal
import sys

_armed: dict[str, int] = {}
_seen: dict[str, int] = {}


def _parse(spec: str) -> dict[str, int]:
    armed: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, nth = part.partition("@")
        armed[name] = int(nth or 1)
    return armed


_armed.update(_parse(os.environ.get("FAULT_POINTS", "")))

KNOWN_FAULT_POINTS = {
    "outbox.after_publish": "the broker accepted the message; the outbox row is not yet marked sent",
    "inbox.after_commit": "the consumer committed its effect; the message is not yet acked",
    "signing.after_sign": "a signed revision exists in memory; nothing is committed yet",
    "documents.after_blob_put": "the blob is in the Object Store; the document row is not committed",
    "archive.after_package": "the archive package is stored; the record is not yet committed",
}


def fault_point(name: str) -> None:
    if not _armed or name not in _armed:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == _armed[name]:
        sys.stderr.write(f"fault point {name} reached: killing process {os.getpid()}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
