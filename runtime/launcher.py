"""The embedded system on one machine: `python -m runtime.launcher` (or `make run`).

Starts, in order: nats-server with JetStream (unless NATS_URL points to one), the three
services under uvicorn, Caddy on HOST:PORT as the single entry point. Waits until every
service answers `/<service>/readyz` through Caddy, then prints the URL phones use.

Ctrl-C or SIGTERM stops everything (services, then Caddy, then NATS) and leaves no process
behind. A child that dies on its own is restarted with exponential backoff. Data stays in
DATA_DIR (default `var/`), so a second start carries on where the first stopped; each
child's output goes to DATA_DIR/logs/<name>.log.

Environment (besides CommonSettings): EMBEDDED_NATS_PORT (default 4333) and
CONGRESS_PORT / DOCUMENTS_PORT / SIGNING_PORT (defaults 8101-8103); a taken port is
replaced by a free one. PORT is not: phones need the printed URL to stay the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import structlog

from runtime.processes import (
    REPO_ROOT,
    Aborted,
    Caddy,
    ManagedProcess,
    NatsServer,
    ProcessError,
    ServiceProcess,
    connect_host,
    port_is_free,
    port_or_free,
    stop_all,
    wait_http_ok,
)
from runtime.settings import (
    DEFAULT_EMBEDDED_NATS_PORT,
    DEFAULT_SERVICE_PORTS,
    PLACEHOLDER_SECRETS,
    SERVICES,
    CommonSettings,
)

log = structlog.get_logger()

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # a child up this long has its backoff reset
READY_TIMEOUT = 120.0


def installation_secret_key(configured: str, data_dir: Path) -> str:
    """SECRET_KEY of this installation: the configured one, else a random one made on the first
    start and kept in DATA_DIR/secret_key (owner-only). Delegates' check-in codes and personal
    links are derived from it: with the public placeholder, anyone who learnt a delegate's id
    could compute that delegate's link."""
    if configured not in PLACEHOLDER_SECRETS:
        return configured
    path = data_dir / "secret_key"
    if not path.exists() and (data_dir / "congress.sqlite3").exists():
        # made before this file existed: its keys and badges depend on the old value
        log.warning("secret_key.placeholder_in_use", hint="set SECRET_KEY, reissue badges, rotate keys")
        return configured
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class LauncherSettings(CommonSettings):
    embedded_nats_port: int = DEFAULT_EMBEDDED_NATS_PORT
    congress_port: int = DEFAULT_SERVICE_PORTS["congress"]
    documents_port: int = DEFAULT_SERVICE_PORTS["documents"]
    signing_port: int = DEFAULT_SERVICE_PORTS["signing"]

    def service_port(self, name: str) -> int:
        return int(getattr(self, f"{name}_port"))


@dataclass
class Supervised:
    proc: ManagedProcess
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    restarts: int = 0


class Launcher:
    def __init__(self, settings: LauncherSettings) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir.resolve()
        self.logs = self.data_dir / "logs"
        self.stopping = threading.Event()
        self.nats: NatsServer | None = None
        self.nats_url = settings.nats_url
        self.services: dict[str, ServiceProcess] = {}
        self.caddy: Caddy | None = None
        self.supervised: list[Supervised] = []

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        abort = self.stopping.is_set
        s = self.settings

        if not port_is_free(s.port, s.host):
            raise ProcessError(f"port {s.port} on {s.host} is taken; set PORT to a free one")

        if not self.nats_url:
            port = port_or_free(s.embedded_nats_port)
            if port != s.embedded_nats_port:
                log.warning("nats port taken, using another", wanted=s.embedded_nats_port, port=port)
            self.nats = NatsServer(self.data_dir / "nats", port=port, log_path=self.logs / "nats.log")
            log.info("starting nats", port=port, store=str(self.nats.store_dir))
            self.nats.start(abort=abort)
            self.nats_url = self.nats.url
            self.supervised.append(Supervised(self.nats))
        else:
            log.info("using external nats", url=self.nats_url)

        for name in SERVICES:
            wanted = s.service_port(name)
            port = port_or_free(wanted)
            if port != wanted:
                log.warning("service port taken, using another", service=name, wanted=wanted, port=port)
            env = {
                "NATS_URL": self.nats_url,
                "DATA_DIR": str(self.data_dir),
                "PUBLIC_BASE_URL": s.public_base_url,
                "SECRET_KEY": installation_secret_key(s.secret_key, self.data_dir),
            }
            self.services[name] = ServiceProcess(
                name, port=port, env=env, log_path=self.logs / f"{name}.log", cwd=REPO_ROOT
            )
        for name, proc in self.services.items():
            log.info("starting service", service=name, port=proc.port)
            proc.start(wait=False)
        for name, proc in self.services.items():
            proc.wait_ready(timeout=READY_TIMEOUT, abort=abort)
            log.info("service up", service=name, url=proc.url)
            self.supervised.append(Supervised(proc))

        self.caddy = Caddy(
            port=s.port,
            host=s.host,
            upstreams={name: f"127.0.0.1:{proc.port}" for name, proc in self.services.items()},
            blob_root=self.data_dir / "blobcache",
            state_dir=self.data_dir / "caddy",
            log_path=self.logs / "caddy.log",
        )
        log.info("starting caddy", listen=f"{s.host}:{s.port}")
        self.caddy.start(abort=abort)
        self.supervised.append(Supervised(self.caddy))

        base = self.local_url
        wait_http_ok(
            [f"{base}/{name}/readyz" for name in SERVICES],
            timeout=READY_TIMEOUT,
            abort=abort,
            progress=lambda pending: log.info("waiting for readiness", pending=pending),
        )

    @property
    def local_url(self) -> str:
        return f"http://{connect_host(self.settings.host)}:{self.settings.port}"

    def banner(self) -> str:
        s = self.settings
        password_hint = (
            "the password is the ADMIN_PASSWORD you set"
            if s.admin_password
            else f"the first start generates a password and prints it in {self.logs / 'congress.log'}"
        )
        lines = [
            "",
            "=" * 72,
            "  Paperless congress is running.",
            "",
            f"  Phones and other computers:  {s.public_base_url}/",
            f"  This computer:               {self.local_url}/",
            f"  Staff console:               {s.public_base_url}/console/",
            "",
            f"  Log in as '{s.admin_username}': {password_hint}.",
            f"  Data: {self.data_dir}    Logs: {self.logs}",
            "  Press Ctrl-C to stop.",
            "=" * 72,
            "",
        ]
        return "\n".join(lines)

    # ------------------------------------------------------------------ supervise
    def supervise(self) -> None:
        """Restart children that die on their own until asked to stop."""
        while not self.stopping.wait(0.5):
            now = time.monotonic()
            for item in self.supervised:
                proc = item.proc
                if proc.running:
                    if item.backoff > BACKOFF_FIRST and now - proc.started_at > STABLE_AFTER:
                        item.backoff = BACKOFF_FIRST
                    continue
                if item.restart_at is None:
                    item.restart_at = now + item.backoff
                    log.warning(
                        "process exited unexpectedly; restarting",
                        process=proc.name,
                        exit_code=proc.returncode,
                        restart_in_s=item.backoff,
                        log_file=str(proc.log_path),
                        log_tail=proc.log_tail(10),
                    )
                    continue
                if now < item.restart_at or self.stopping.is_set():
                    continue
                item.restart_at = None
                item.restarts += 1
                try:
                    proc.stop(timeout=1)  # reap, and clear anything left in its group
                    proc.start(timeout=READY_TIMEOUT, abort=self.stopping.is_set)
                    log.info("process restarted", process=proc.name, restarts=item.restarts, pid=proc.pid)
                except Aborted:
                    return
                except ProcessError as exc:
                    log.error("restart failed", process=proc.name, error=str(exc).splitlines()[0])
                item.backoff = min(item.backoff * 2, BACKOFF_MAX)

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        self.stopping.set()
        started = [proc for proc in self.services.values() if proc.proc is not None]
        for name, code in stop_all(started, timeout=10).items():
            log.info("service stopped", service=name, exit_code=code)
        if self.caddy is not None and self.caddy.proc is not None:
            self.caddy.stop(timeout=5)
            log.info("caddy stopped")
        if self.nats is not None and self.nats.proc is not None:
            self.nats.stop(timeout=10)
            log.info("nats stopped")


def _configure_logging(settings: CommonSettings) -> None:
    try:
        from runtime.logs import configure_logging

        configure_logging("launcher", settings.log_format, settings.log_level)
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    except Exception:  # noqa: BLE001 - logging must never prevent the start
        structlog.configure(
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="%H:%M:%S"),
                structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()),
            ]
        )


def main() -> int:
    settings = LauncherSettings()
    _configure_logging(settings)
    launcher = Launcher(settings)
    signals_seen = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen == 1:
            log.info("stopping", signal=signal.Signals(signum).name)
            launcher.stopping.set()
        else:  # impatient second Ctrl-C: kill at once
            log.warning("second signal: killing everything now")
            for proc in (*launcher.services.values(), launcher.caddy, launcher.nats):
                if proc is not None:
                    proc.kill()
            os._exit(130)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    code = 0
    try:
        launcher.start()
        print(launcher.banner(), flush=True)
        launcher.supervise()
    except Aborted:
        pass
    except ProcessError as exc:
        log.error("start failed", error=str(exc))
        code = 1
    except Exception:
        log.exception("launcher crashed")
        code = 1
    finally:
        with contextlib.suppress(Exception):
            launcher.stop()
    log.info("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
