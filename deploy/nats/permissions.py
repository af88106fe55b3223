"""Writes deploy/nats/accounts.conf: one NATS user per service, allowed exactly what it uses.

    python -m deploy.nats.permissions            # rewrite accounts.conf from the code
    python -m deploy.nats.permissions --check    # exit 1 when accounts.conf is out of date

The rules come from the code, so they cannot drift from it: event streams from
contracts/streams.py, durable consumers from each service's `main.bootstrap()`.
tests/integration/test_nats_permissions.py fails when the file is stale, and proves on a real
nats-server that the rules are enough for each service to start and that documents cannot
publish on `signing.>`.

What a service may do (with nats-py's subjects; `<S>` is its name, `<STREAM>` any stream):

- publish its own events (`<S>.>`) and its dead letters (`deadletter.<S>.>`);
- ask stream info of any stream, and create any stream or bucket that is missing (every
  service creates what it needs at start, so none waits for another); update only its own
  stream and the dead-letter stream (runtime.broker.ensure_jetstream with `owner`);
- create, read, pull from and ack only its own durable consumers
  (`$JS.API.CONSUMER.DURABLE.CREATE|CREATE|INFO|MSG.NEXT.<STREAM>.<durable>`,
  `$JS.ACK.<STREAM>.<durable>.>`): pull consumers deliver to the caller's inbox, so the
  consumer API is what is gated, not the stream subjects;
- create ephemeral consumers (`$JS.API.CONSUMER.CREATE.<STREAM>`, which the server refuses
  for a durable), read their info (`$JS.API.CONSUMER.INFO.<STREAM>.*`: their names are
  random) and answer their flow control (`$JS.FC.<STREAM>.>`): KV watches, Object Store
  reads, live updates; they deliver to its own inbox only;
- read the KV buckets and the Object Store (direct get, message get); write rate-limit
  counters; write `shared` KV keys, except `auth.>` (token keys and revocations: congress
  alone, which also purges the delete markers of the revocations it swept); write blobs (and
  purge the chunks a failed or repeated put leaves, which is what nats-py's Object Store does)
  only when it is a blob writer;
- receive replies and deliveries only on its own inbox prefix `_INBOX_<S>.>` (the services
  connect with it: NATS_INBOX_PREFIX, default `_INBOX_<service>`).

The `admin` user (operators: backups, the nats CLI) may do everything.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from contracts.streams import (
    BLOB_BUCKET,
    DEAD_LETTER,
    RATE_LIMIT_KV_BUCKET,
    SERVICE_STREAMS,
    SHARED_KV_BUCKET,
)
from runtime.settings import SERVICES

ACCOUNTS_CONF = Path(__file__).with_name("accounts.conf")
ACCOUNT = "APP"

BLOB_WRITERS = ("documents", "signing")
"""Services that store bytes in the Object Store (uploads, signed revisions, packages)."""

AUTH_KV_WRITERS = ("congress",)
"""Services that may write `auth.>` keys of the shared KV bucket (token keys, revocations)."""

BLOB_STREAM = f"OBJ_{BLOB_BUCKET}"
KV_STREAMS = (f"KV_{SHARED_KV_BUCKET}", f"KV_{RATE_LIMIT_KV_BUCKET}")
EVENT_STREAMS = tuple(spec.name for spec in SERVICE_STREAMS.values())
ALL_STREAMS = (*EVENT_STREAMS, DEAD_LETTER.name, BLOB_STREAM, *KV_STREAMS)


def password_variable(service: str) -> str:
    """The nats-server environment variable holding `service`'s password."""
    return f"{service.upper()}_NATS_PASSWORD"


def inbox_prefix(service: str) -> str:
    return f"_INBOX_{service}"


def durables(service: str) -> list[tuple[str, str]]:
    """(stream, durable) of every durable consumer the service creates, as its `bootstrap()`
    wires them (constructing the runtime does no I/O)."""
    runtime = importlib.import_module(f"{service}.main").bootstrap()
    return sorted({(consumer.subscription.stream.name, consumer.durable) for consumer in runtime.consumers})


def publish_allow(service: str) -> list[str]:
    own_stream = SERVICE_STREAMS[service].name
    api = "$JS.API"
    allow = [
        f"{service}.>",
        f"deadletter.{service}.>",
        f"{api}.INFO",
        f"{api}.STREAM.NAMES",
        *(f"{api}.STREAM.INFO.{stream}" for stream in ALL_STREAMS),
        *(f"{api}.STREAM.CREATE.{stream}" for stream in ALL_STREAMS),
        f"{api}.STREAM.UPDATE.{own_stream}",
        f"{api}.STREAM.UPDATE.{DEAD_LETTER.name}",
    ]
    for stream, durable in durables(service):
        allow += [
            f"{api}.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
            f"{api}.CONSUMER.CREATE.{stream}.{durable}",
            f"{api}.CONSUMER.CREATE.{stream}.{durable}.>",
            f"{api}.CONSUMER.INFO.{stream}.{durable}",
            f"{api}.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
        ]
    for stream in (*EVENT_STREAMS, BLOB_STREAM, *KV_STREAMS):
        # Ephemeral consumers have random names: their info (read-only) cannot be narrowed.
        allow += [f"{api}.CONSUMER.CREATE.{stream}", f"{api}.CONSUMER.INFO.{stream}.*", f"$JS.FC.{stream}.>"]
    for stream in (BLOB_STREAM, *KV_STREAMS):
        allow += [f"{api}.DIRECT.GET.{stream}", f"{api}.DIRECT.GET.{stream}.>", f"{api}.STREAM.MSG.GET.{stream}"]
    allow += [f"$KV.{RATE_LIMIT_KV_BUCKET}.>", f"$KV.{SHARED_KV_BUCKET}.>"]
    if service in BLOB_WRITERS:
        allow += [f"$O.{BLOB_BUCKET}.>", f"{api}.STREAM.PURGE.{BLOB_STREAM}"]
    if service in AUTH_KV_WRITERS:
        allow += [f"{api}.STREAM.PURGE.KV_{SHARED_KV_BUCKET}"]
    return allow


def publish_deny(service: str) -> list[str]:
    return [] if service in AUTH_KV_WRITERS else [f"$KV.{SHARED_KV_BUCKET}.auth.>"]


def _user(service: str) -> list[str]:
    lines = [
        "{",
        f"  # {service}: its own events, consumers and inbox",
        f"  user: {service}",
        f"  password: ${password_variable(service)}",
        "  permissions: {",
        "    publish: {",
        "      allow: [",
        *(f'        "{subject}"' for subject in publish_allow(service)),
        "      ]",
    ]
    if deny := publish_deny(service):
        lines += ["      deny: [", *(f'        "{subject}"' for subject in deny), "      ]"]
    lines += [
        "    }",
        f'    subscribe: {{ allow: ["{inbox_prefix(service)}.>"] }}',
        "  }",
        "}",
    ]
    return lines


ADMIN_USER = [
    "{",
    "  # operators: backups and restores, the nats CLI (everything)",
    "  user: admin",
    "  password: $NATS_ADMIN_PASSWORD",
    "}",
]


def render() -> str:
    variables = [f"${password_variable(s)}" for s in SERVICES] + ["$NATS_ADMIN_PASSWORD"]
    users = [line for service in SERVICES for line in _user(service)] + ADMIN_USER
    body = "\n".join(f"      {line}" for line in users)
    return (
        "# NATS accounts and per-service permissions, included by every node's config.\n"
        "# GENERATED by `python -m deploy.nats.permissions` from contracts/streams.py and the\n"
        "# consumers each service's bootstrap() wires: do not edit by hand (the module says why).\n"
        "#\n"
        "# Passwords come from nats-server's environment (a missing one stops the server):\n"
        f"# {', '.join(variables)}\n"
        f"accounts {{\n  {ACCOUNT} {{\n    jetstream: enabled\n    users: [\n{body}\n    ]\n  }}\n}}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when accounts.conf is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = ACCOUNTS_CONF.read_text(encoding="utf-8") if ACCOUNTS_CONF.exists() else ""
        if current != text:
            print(f"{ACCOUNTS_CONF} is out of date: run python -m deploy.nats.permissions", file=sys.stderr)
            return 1
        return 0
    ACCOUNTS_CONF.write_text(text, encoding="utf-8")
    print(f"wrote {ACCOUNTS_CONF}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
