"""Operator commands of the congress service: `python -m congress.cli rotate-keys`."""

from __future__ import annotations

import argparse
import asyncio
import sys

import nats

from congress.config import Settings
from congress.db import make_database
from congress.handlers.keys import rotate_keys
from contracts.streams import SHARED_KV_BUCKET
from runtime.migrations import upgrade
from runtime.settings import DEFAULT_EMBEDDED_NATS_PORT


async def _rotate(settings: Settings) -> str:
    from pathlib import Path

    await asyncio.to_thread(upgrade, Path(__file__).parent / "migrations", settings.resolved_database_url())
    db = make_database(settings.resolved_database_url())
    nc = await nats.connect(settings.nats_servers or [f"nats://127.0.0.1:{DEFAULT_EMBEDDED_NATS_PORT}"])
    try:
        kv = await nc.jetstream().key_value(SHARED_KV_BUCKET)
        return await rotate_keys(db, kv, settings.secret_key)
    finally:
        await nc.close()
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m congress.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("rotate-keys", help="new token signing key; tokens already issued stay valid until they expire")
    args = parser.parse_args(argv)
    if args.command == "rotate-keys":
        kid = asyncio.run(_rotate(Settings()))
        print(f"new signing key: {kid}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
