"""Removing the upload spool files a crash left behind in <DATA_DIR>/tmp.

Uploads spool to <DATA_DIR>/tmp while they stream in, and every request discards its file
however it ends; only a crash or a kill mid-upload leaves one behind. At start the service
removes the files there older than STALE_UPLOAD_SECONDS (an hour by default). Age is the file's
modification time, which every arriving chunk refreshes, so an upload another replica sharing
the directory is still receiving keeps its file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def remove_stale_uploads(tmp_dir: Path, max_age_seconds: float, now: float | None = None) -> list[Path]:
    """Delete the files (not directories) in `tmp_dir` last modified `max_age_seconds` or more
    before `now`; returns what was removed. A missing directory holds nothing."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(tmp_dir))
    except FileNotFoundError:
        return removed
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < max_age_seconds:
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue  # gone meanwhile: its upload ended, or another replica removed it
        removed.append(Path(entry.path))
    return removed
