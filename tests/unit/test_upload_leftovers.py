"""Upload spool files a crash left in <DATA_DIR>/tmp are removed at start once older than the limit."""

from __future__ import annotations

import os
import time
from pathlib import Path

from documents.upload_leftovers import remove_stale_uploads

HOUR = 3600.0


def _file(directory: Path, name: str, age_seconds: float, now: float) -> Path:
    path = directory / name
    path.write_bytes(b"%PDF-1.7 half an upload")
    os.utime(path, (now - age_seconds, now - age_seconds))
    return path


def test_only_files_older_than_the_limit_are_removed(tmp_path: Path) -> None:
    now = time.time()
    old = _file(tmp_path, "upload-crashed", 2 * HOUR, now)
    just_over = _file(tmp_path, "upload-also-crashed", HOUR + 1, now)
    receiving = _file(tmp_path, "upload-in-progress", 5, now)  # another replica is still writing it
    young = _file(tmp_path, "upload-recent", HOUR - 60, now)
    folder = tmp_path / "kept-folder"
    folder.mkdir()
    os.utime(folder, (now - 3 * HOUR, now - 3 * HOUR))

    removed = remove_stale_uploads(tmp_path, HOUR, now=now)

    assert sorted(removed) == sorted([old, just_over])
    assert not old.exists() and not just_over.exists()
    assert receiving.exists() and young.exists() and folder.is_dir()


def test_a_missing_directory_holds_nothing(tmp_path: Path) -> None:
    assert remove_stale_uploads(tmp_path / "never-made", HOUR) == []
