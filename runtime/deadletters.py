"""Dead letters: `python -m runtime.deadletters list | show <seq> | replay <seq>`.

A consumer that gives up on a message publishes it to `deadletter.<service>.<durable>` (stream
DEADLETTER) with the original body and headers plus `Dead-Letter-*` headers: the reason, the
consumer, the original subject, stream and sequence, the number of deliveries and the
original `Nats-Msg-Id`.

`replay` republishes the original body to the original subject once the cause is fixed. It
needs a new `Nats-Msg-Id` (`replay:<original id>:<dead-letter seq>`), or JetStream's duplicate
window would drop it; the `event_id` in the body is unchanged, so every consumer that applied
the event already skips it through its inbox, and only the one that gave up applies it. The
dead letter is deleted once the republish is acknowledged; replaying the same dead letter twice
in a row is stored once (same message id). The copy carries the event's first stream position
(`Original-Stream`, `Original-Stream-Seq`): copies of other services' entities order it there,
not after the events that followed it (runtime/projection.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

import nats
import nats.js.api as jsapi
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from rich.console import Console
from rich.table import Table

from contracts.streams import DEAD_LETTER
from runtime.projection import ORIGINAL_SEQ_HEADER, ORIGINAL_STREAM_HEADER

DEFAULT_NATS_URL = "nats://127.0.0.1:4333"  # the embedded system's server (runtime.launcher)
DEAD_LETTER_HEADER_PREFIX = "Dead-Letter-"


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    time: datetime | None
    consumer: str
    subject: str
    deliveries: int
    reason: str
    original_msg_id: str
    headers: dict[str, str]
    data: bytes

    @classmethod
    def from_message(cls, seq: int, time: datetime | None, headers: dict[str, str] | None, data: bytes) -> DeadLetter:
        h = dict(headers or {})
        return cls(
            seq=seq,
            time=time,
            consumer=h.get("Dead-Letter-Consumer", ""),
            subject=h.get("Dead-Letter-Subject", ""),
            deliveries=int(h.get("Dead-Letter-Deliveries", "0") or 0),
            reason=h.get("Dead-Letter-Reason", ""),
            original_msg_id=h.get("Dead-Letter-Msg-Id", ""),
            headers=h,
            data=data,
        )

    def original_headers(self) -> dict[str, str]:
        return {
            k: v for k, v in self.headers.items() if not k.startswith(DEAD_LETTER_HEADER_PREFIX) and k != "Nats-Msg-Id"
        }

    def replay_msg_id(self) -> str:
        return f"replay:{self.original_msg_id or 'unknown'}:{self.seq}"


async def list_dead_letters(js: JetStreamContext) -> list[DeadLetter]:
    last_seq = (await js.stream_info(DEAD_LETTER.name)).state.last_seq
    found: list[DeadLetter] = []
    if last_seq == 0:
        return found
    sub = await js.subscribe(
        DEAD_LETTER.subjects[0], stream=DEAD_LETTER.name, ordered_consumer=True, deliver_policy=jsapi.DeliverPolicy.ALL
    )
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=2)
            except (TimeoutError, nats.errors.TimeoutError):
                break  # the last ones were deleted (replayed)
            meta = msg.metadata
            found.append(DeadLetter.from_message(meta.sequence.stream, meta.timestamp, msg.headers, msg.data))
            if meta.sequence.stream >= last_seq:
                break
    finally:
        await sub.unsubscribe()
    return found


async def get_dead_letter(js: JetStreamContext, seq: int) -> DeadLetter:
    raw = await js.get_msg(DEAD_LETTER.name, seq)
    return DeadLetter.from_message(raw.seq or seq, raw.time, raw.headers, raw.data or b"")


async def replay_dead_letter(js: JetStreamContext, seq: int) -> tuple[DeadLetter, int]:
    """Republish dead letter `seq` to its original subject, then delete it; returns the new stream seq."""
    letter = await get_dead_letter(js, seq)
    if letter.headers.get("Dead-Letter-Truncated"):
        size = letter.headers["Dead-Letter-Truncated"]
        origin = f"{letter.headers.get('Dead-Letter-Stream')} #{letter.headers.get('Dead-Letter-Stream-Seq')}"
        raise ValueError(f"dead letter {seq} keeps only the beginning of a {size}-byte message; the original: {origin}")
    if not letter.subject:
        raise ValueError(f"dead letter {seq} does not name its original subject")
    headers = {**letter.original_headers(), "Nats-Msg-Id": letter.replay_msg_id()}
    if ORIGINAL_SEQ_HEADER not in headers and letter.headers.get("Dead-Letter-Stream-Seq"):
        # a letter of a replayed copy already names the first position; keep that one
        headers[ORIGINAL_STREAM_HEADER] = letter.headers.get("Dead-Letter-Stream", "")
        headers[ORIGINAL_SEQ_HEADER] = letter.headers["Dead-Letter-Stream-Seq"]
    ack = await js.publish(letter.subject, letter.data, headers=headers)
    await js.delete_msg(DEAD_LETTER.name, seq)
    return letter, ack.seq


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else "-"


def _body(data: bytes) -> str:
    try:
        return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    except ValueError:
        return data.decode("utf-8", "replace")


async def _run(args: argparse.Namespace, console: Console) -> int:
    servers = [u for u in (args.nats_url or "").split(",") if u] or [DEFAULT_NATS_URL]
    nc = await nats.connect(servers, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        if args.command == "list":
            letters = await list_dead_letters(js)
            table = Table(title=f"Dead letters ({len(letters)})")
            for column in ("seq", "time", "consumer", "subject", "deliveries", "reason"):
                table.add_column(column, justify="right" if column in ("seq", "deliveries") else "left")
            for letter in letters:
                table.add_row(str(letter.seq), _when(letter.time), letter.consumer, letter.subject,
                              str(letter.deliveries), letter.reason[:120])
            console.print(table)
            return 0
        try:
            if args.command == "show":
                letter = await get_dead_letter(js, args.seq)
                console.print(f"[bold]dead letter {letter.seq}[/bold]  {_when(letter.time)}")
                for key, value in letter.headers.items():
                    console.print(f"  {key}: {value}", markup=False, highlight=False)
                console.print(_body(letter.data), markup=False, highlight=False)
                return 0
            letter, new_seq = await replay_dead_letter(js, args.seq)
            console.print(f"replayed dead letter {letter.seq} to {letter.subject} (stream seq {new_seq}, "
                          f"Nats-Msg-Id {letter.replay_msg_id()}); dead letter deleted")
            return 0
        except NotFoundError:
            console.print(f"no dead letter with seq {args.seq}")
            return 1
        except ValueError as refused:
            console.print(str(refused), markup=False)
            return 1
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.deadletters", description=__doc__.splitlines()[0])
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL", ""),
                        help=f"NATS server(s), comma-separated (default: NATS_URL, else {DEFAULT_NATS_URL})")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every dead letter: seq, time, consumer, subject, deliveries, reason")
    for name, text in (("show", "headers and body of one dead letter"),
                       ("replay", "republish one dead letter to its original subject, then delete it")):
        commands.add_parser(name, help=text).add_argument("seq", type=int)
    args = parser.parse_args(argv)
    return asyncio.run(_run(args, Console(width=200)))


if __name__ == "__main__":
    sys.exit(main())
