"""Token verification cost: requests/s of a handler with the staff token check (ES256 JWT,
revocation lookups) against the same handler without it, same process, same run (interleaved,
median of rounds). Goal: overhead under 10 %.

Measured twice: on a handler that returns a constant (nothing but the framework and the
check) and on a handler that reads one row from SQLite, as a staff endpoint does at the least.
The routes are StaffRoute routes, as in the services: the caller is resolved without FastAPI's
dependency injection, which alone would cost about 10 us a request, more than the verification
itself. Each authenticated route is declared after its plain twin, so it also pays for one more
route match (about 1 us)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from congress import model
from congress.tokens import Signer, generate_key
from bench.harness import Figure, Load, median_of, wrk
from runtime.db import utcnow
from runtime.processes import REPO_ROOT, ServiceProcess

ROUNDS = 5  # a 3 s run varies by +-5% here: the median of five, interleaved
DURATION = 3.0
CONNECTIONS = 32
THREADS = 1
MAX_OVERHEAD = 0.10
SECRET = "bench-secret-key-" + uuid.uuid4().hex


def run() -> list[Figure]:
    key = generate_key(SECRET)


    now = utcnow()
    subject = model.TokenSubject(str(uuid.uuid4()), "thu.ky", "Nguyễn Thị Thư Ký", ["secretary"])
    token = Signer(SECRET).sign(model.access_claims(subject, str(uuid.uuid4()), now, now), key.kid,
                                key.private_key_encrypted)
    keys = json.dumps({"keys": [{"kid": key.kid, "public_pem": key.public_pem}]})
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as tmp:
        app = ServiceProcess("bench-auth", app="bench.auth_app:app", cwd=REPO_ROOT,
                             env={"BENCH_AUTH_KEYS": keys, "BENCH_AUTH_DB": str(Path(tmp) / "bench.sqlite3")},
                             log_path=Path(tmp) / "app.log").start()
        try:
            return measure(app.url, token)
        finally:
            app.stop()


def measure(base: str, token: str) -> list[Figure]:
    return compare(base, token, "", "constant handler") + compare(base, token, "-db", "one-row read")


def compare(base: str, token: str, suffix: str, label: str) -> list[Figure]:
    def load(path: str, headers: dict[str, str] | None = None) -> Load:
        return wrk(base + path, duration=DURATION, threads=THREADS, connections=CONNECTIONS, headers=headers)

    bearer = {"Authorization": f"Bearer {token}"}
    load("/plain" + suffix)
    load("/authenticated" + suffix, bearer)
    plain_runs, auth_runs = [], []
    for _ in range(ROUNDS):
        plain_runs.append(load("/plain" + suffix))
        auth_runs.append(load("/authenticated" + suffix, bearer))
        time.sleep(0.2)
    print(f"{label}: rounds without / with the check (req/s): {[round(r.requests_per_s) for r in plain_runs]} / "
          f"{[round(r.requests_per_s) for r in auth_runs]}", file=sys.stderr)
    plain = median_of(ROUNDS, iter(r.requests_per_s for r in plain_runs).__next__)
    authed = median_of(ROUNDS, iter(r.requests_per_s for r in auth_runs).__next__)
    errors = sum(r.errors for r in plain_runs + auth_runs)
    overhead = 1 - authed / plain if plain else 1.0
    return [
        Figure(f"{label} without auth", "reference", plain, None, errors == 0, "req/s"),
        Figure(f"{label} with token check", "reference", authed, None, errors == 0, "req/s"),
        Figure(f"token check overhead, {label}", f"< {MAX_OVERHEAD:.0%}", f"{overhead:.1%}", None,
               overhead < MAX_OVERHEAD and errors == 0),
    ]
