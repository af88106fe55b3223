"""Write each service's AsyncAPI document to `docs/asyncapi/<service>.json`: `python -m runtime.asyncapi_export`.

The files are committed, so a change to the events a service publishes or consumes shows in
review; `tests/unit/test_asyncapi_export.py` fails when they differ from what the code
generates. `--check` only compares (exit 1 on drift).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from runtime.asyncapi import asyncapi_document
from runtime.replay import service_subscriptions
from runtime.settings import SERVICES

REPO_ROOT = Path(__file__).resolve().parents[1]
EXPORT_DIR = REPO_ROOT / "docs" / "asyncapi"
EXPORT_COMMAND = "python -m runtime.asyncapi_export"
DOCUMENT_VERSION = "0.1.0"  # the version create_app serves at /<service>/asyncapi


def render(service: str) -> str:
    """The exported text of one service's document (stable: same code, same bytes)."""
    publishes = importlib.import_module(f"contracts.{service}")
    subscriptions = service_subscriptions(service)
    document = asyncapi_document(service, DOCUMENT_VERSION, publishes, subscriptions)
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def export_path(service: str, directory: Path = EXPORT_DIR) -> Path:
    return directory / f"{service}.json"


def drifted(directory: Path = EXPORT_DIR) -> list[str]:
    """Services whose committed export differs from the code (or is missing)."""
    stale = []
    for service in SERVICES:
        path = export_path(service, directory)
        if not path.is_file() or path.read_text(encoding="utf-8") != render(service):
            stale.append(service)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=EXPORT_COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when an export is stale")
    parser.add_argument("--out", type=Path, default=EXPORT_DIR, help="directory (default: docs/asyncapi)")
    args = parser.parse_args(argv)
    if args.check:
        stale = drifted(args.out)
        for service in stale:
            print(f"{export_path(service, args.out)} is stale: run `{EXPORT_COMMAND}`", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        path = export_path(service, args.out)
        path.write_text(render(service), encoding="utf-8")
        print(f"wrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
