"""Operator commands of the signing service.

    python -m signing.cli import-ca FILE [--password-env VAR] [--replace]
        Use an issuing CA (PEM: key + certificate + parents, or PKCS#12) instead of the generated root.
    python -m signing.cli enroll-token USERNAME --token-label L --key-label K
        Issue USERNAME's certificate for a key on a PKCS#11 token (PKCS11_MODULE, PKCS11_PIN).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from runtime.errors import ApiError
from runtime.migrations import upgrade
from signing import pki
from signing.config import Settings
from signing.db import make_database
from signing.handlers import Deps
from signing.handlers.authority import enroll_token_key, install_imported_ca
from signing.signer import Pkcs11KeyRef, token_public_key


def _deps(settings: Settings) -> Deps:
    upgrade(Path(__file__).parent / "migrations", settings.resolved_database_url())
    return Deps(settings=settings, db=make_database(settings.resolved_database_url()),
                protector=pki.KeyProtector(settings.secret_key), js_of=lambda: None,
                cache_dir=settings.data_dir / "blobcache")


async def _import_ca(args: argparse.Namespace) -> None:
    password = os.environ.get(args.password_env, "").encode() if args.password_env else None
    imported = pki.import_ca(Path(args.file).read_bytes(), password or None)
    deps = _deps(Settings())
    try:
        fingerprint = await install_imported_ca(deps, imported, args.replace)
    finally:
        await deps.db.dispose()
    print(f"imported CA {pki.common_name(imported.cert)} (SHA-256 {fingerprint})")


async def _enroll(args: argparse.Namespace) -> None:
    settings = Settings()
    ref = Pkcs11KeyRef(args.token_label, args.key_label)
    public = token_public_key(settings.pkcs11_module, ref, settings.pkcs11_pin)
    deps = _deps(settings)
    try:
        fingerprint = await enroll_token_key(deps, args.username, ref, public)
    finally:
        await deps.db.dispose()
    print(f"certificate issued for {args.username} on {ref.uri()} (SHA-256 {fingerprint})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m signing.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import-ca", help="use an issuing CA from PEM or PKCS#12")
    imp.add_argument("file")
    imp.add_argument("--password-env", default="", help="environment variable holding the file's password")
    imp.add_argument("--replace", action="store_true", help="replace an existing CA")
    enroll = commands.add_parser("enroll-token", help="certificate for a key on a PKCS#11 token")
    enroll.add_argument("username")
    enroll.add_argument("--token-label", required=True)
    enroll.add_argument("--key-label", required=True)
    args = parser.parse_args(argv)
    try:
        asyncio.run(_import_ca(args) if args.command == "import-ca" else _enroll(args))
    except (pki.ImportError_, ValueError, OSError, ApiError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
