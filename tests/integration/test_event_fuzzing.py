"""Hostile events: malformed, oversized, wrong-version and unknown-type messages on every subject
every service consumes (read from the running services' /asyncapi documents) each end in the
dead-letter stream, once per consumer that handles them, with a reason; and every service keeps
consuming: a whole congress journey made after them through the real APIs (users, congress,
delegates, upload, signature, publication, check-ins, close, sealed record) is applied everywhere.

A system of its own (real nats-server, the three services as processes, Caddy): the poison must
not reach the shared test system.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest

from contracts.base import event_class_for
from contracts.streams import DEAD_LETTER, SERVICE_STREAMS, stream_for_subject
from runtime.deadletters import list_dead_letters
from tests.chaos.harness import all_routes
from tests.support.system import System, start_system
from tests.support.workload import Workload, consumers_behind

CONSUMER_TITLE = re.compile(r"^((?:congress|documents|signing)\.[a-z_.]+):([a-z0-9-]+)$")
NEAR_MAX_PAYLOAD = 1024 * 1024 - 600  # nats-server's default max_payload is 1 MiB


@pytest.fixture(scope="module")
def fuzz_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    system = start_system(tmp_path_factory.mktemp("event-fuzz"), extra_env={"MAX_DELIVERIES": "3"})
    try:
        yield system
    finally:
        system.stop()


def consumed(system: System) -> dict[str, set[str]]:
    """subject -> the durable consumers (of every service) that handle it, from the "receive"
    operations of each service's /asyncapi document (named `<subject>:<durable>`)."""
    found: dict[str, set[str]] = defaultdict(set)
    for name in system.services:
        document = httpx.get(f"{system.url}/{name}/asyncapi", timeout=30).raise_for_status().json()
        for key, operation in document.get("operations", {}).items():
            if operation.get("action") == "receive" and (m := CONSUMER_TITLE.match(key)):
                found[m.group(1)].add(m.group(2))
    return dict(found)


def durables_of_stream(by_subject: dict[str, set[str]], stream: str) -> set[str]:
    return {d for subject, ds in by_subject.items() if stream_for_subject(subject).name == stream for d in ds}


def valid_body(subject: str) -> dict:
    """A body that parses as the event (so only the one thing under test is wrong)."""
    cls = event_class_for(subject)
    assert cls is not None, subject
    fields: dict = {}
    for name, info in cls.model_fields.items():
        if not info.is_required():
            continue
        annotation = str(info.annotation)
        fields[name] = (str(uuid.uuid4()) if "UUID" in annotation else 1 if "int" in annotation
                        else "2026-03-08T08:00:00+07:00" if "datetime" in annotation
                        else [] if "list" in annotation else 0.5 if "float" in annotation
                        else True if "bool" in annotation else {} if "dict" in annotation else "x")
    return fields


def hostile_messages(by_subject: dict[str, set[str]]) -> list[tuple[str, bytes, dict[str, str], set[str], str]]:
    """(subject, data, headers, consumers expected to dead-letter it, what) for every kind of poison."""
    messages = []
    for subject, durables in sorted(by_subject.items()):
        def headers(**extra: str) -> dict[str, str]:
            return {"Nats-Msg-Id": str(uuid.uuid4()), "Event-Type": subject, "Event-Version": "1", **extra}

        body = valid_body(subject)
        messages += [
            (subject, b'{"event_id": "', headers(), durables, "malformed"),
            (subject, b"\xff\xfe\x00not json at all", headers(), durables, "malformed"),
            (subject, json.dumps({**body, "padding": "Đ" * 40_000}).encode(), headers(), durables, "oversized"),
            (subject, json.dumps(body).encode(), headers(**{"Event-Version": "99"}), durables, "wrong version"),
            (subject, json.dumps(body).encode(), headers(**{"Event-Version": "zero"}), durables, "wrong version"),
        ]
    for spec in SERVICE_STREAMS.values():
        durables = durables_of_stream(by_subject, spec.name)
        producer = spec.subjects[0].split(".", 1)[0]
        unknown = f"{producer}.nothing.happened"
        messages.append((unknown, b"{}", {"Nats-Msg-Id": str(uuid.uuid4())}, durables, "unknown type"))
        messages.append((unknown, b"{}", {"Nats-Msg-Id": str(uuid.uuid4()), "Event-Type": unknown,
                                          "Event-Version": "1"}, durables, "unknown type"))
        # as large as the server lets a producer publish: the dead letter adds its headers to it
        subject = next(s for s in sorted(by_subject) if stream_for_subject(s).name == spec.name)
        big = json.dumps({**valid_body(subject), "padding": "x" * NEAR_MAX_PAYLOAD}).encode()[:NEAR_MAX_PAYLOAD]
        messages.append((subject, big, {"Nats-Msg-Id": str(uuid.uuid4()), "Event-Type": subject,
                                        "Event-Version": "1"}, by_subject[subject], "oversized"))
    return messages


async def _publish_all(nats_url: str, messages: list) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream(timeout=10)
        positions = []
        for subject, data, headers, _, _ in messages:
            ack = await js.publish(subject, data, headers=headers)
            positions.append((ack.stream, ack.seq))
        return positions
    finally:
        await nc.close()


async def _dead_letters(nats_url: str) -> list:  # type: ignore[type-arg]
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream(timeout=10)
        if (await js.stream_info(DEAD_LETTER.name)).state.messages == 0:
            return []
        return await list_dead_letters(js)
    finally:
        await nc.close()


async def _behind(nats_url: str) -> dict:  # type: ignore[type-arg]
    nc = await nats.connect(nats_url)
    try:
        return await consumers_behind(nc.jetstream(timeout=10))
    finally:
        await nc.close()


def test_hostile_events_are_dead_lettered_with_a_reason_and_consuming_goes_on(fuzz_system: System) -> None:
    system = fuzz_system
    by_subject = consumed(system)
    # every service consumes something, and every stream is consumed
    assert {stream_for_subject(s).name for s in by_subject} == {s.name for s in SERVICE_STREAMS.values()}
    messages = hostile_messages(by_subject)
    positions = asyncio.run(_publish_all(system.nats_url, messages))
    expected = {(durable, stream, seq) for (stream, seq), (_, _, _, durables, _) in zip(positions, messages,
                                                                                        strict=True)
                for durable in durables}
    what = {(stream, seq): kind for (stream, seq), (*_, kind) in zip(positions, messages, strict=True)}

    deadline = time.monotonic() + 120
    letters: list = []
    while time.monotonic() < deadline:
        letters = asyncio.run(_dead_letters(system.nats_url))
        if len(letters) >= len(expected):
            break
        time.sleep(0.5)
    got = {(d.consumer, d.headers.get("Dead-Letter-Stream"), int(d.headers.get("Dead-Letter-Stream-Seq", 0)))
           for d in letters}
    missing = sorted(expected - got)
    assert not missing, f"{len(missing)} hostile messages not dead-lettered, e.g. " + ", ".join(
        f"{c} {s}#{q} ({what.get((s, q))})" for c, s, q in missing[:10])
    assert got == expected, f"unexpected dead letters: {sorted(got - expected)[:10]}"
    assert len(letters) == len(expected), "a hostile message was dead-lettered twice by one consumer"
    for letter in letters:
        kind = what[(letter.headers["Dead-Letter-Stream"], int(letter.headers["Dead-Letter-Stream-Seq"]))]
        assert letter.reason, letter.headers
        expected_reason = {"malformed": "invalid ", "oversized": "invalid ", "wrong version": "unsupported version",
                           "unknown type": "unknown event type"}[kind]
        assert letter.reason.startswith(expected_reason), (kind, letter.reason)
    truncated = [d for d in letters if d.headers.get("Dead-Letter-Truncated")]
    assert truncated, "the near-max-payload messages should be parked truncated (the original stays in its stream)"
    print(f"\nhostile messages: {len(messages)} on {len(by_subject)} consumed subjects; "
          f"dead letters: {len(letters)} (one per consumer handling each)")

    # every service keeps consuming: a whole journey made afterwards is applied everywhere
    for proc in system.services.values():
        assert proc.running, f"{proc.name} died: {proc.log_tail()}"
    workload = Workload(system.url, all_routes(system), system.admin_username, system.admin_password)
    workload.setup()
    workload.round(1)
    assert workload.expected_state_problems() == []
    deadline = time.monotonic() + 60
    while (behind := asyncio.run(_behind(system.nats_url))) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert behind == {}
    assert len(asyncio.run(_dead_letters(system.nats_url))) == len(expected), "a valid event was dead-lettered"
    assert workload.server_errors == []


def test_log_names_each_dead_letter(fuzz_system: System) -> None:
    """Operators see each parking in the service's log, with the consumer and the reason."""
    logs = "".join(Path(p.log_path).read_text(errors="replace") for p in fuzz_system.services.values())
    assert logs.count("consumer.dead_lettered") >= len(SERVICE_STREAMS)
