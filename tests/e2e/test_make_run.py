"""`make run` from a fresh clone: the system becomes ready through Caddy, Ctrl-C leaves no
process behind, and a second start keeps the data.

The clone reuses this test run's virtualenv (`make run VENV=...`), so it costs no install.
A clone holds only committed work: the test is skipped while the repository has no commit.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from runtime.processes import free_port, port_is_free

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 120
SERVICES = ("congress", "documents", "signing")


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)


def _venv() -> Path:
    return Path(sys.prefix)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if _git("rev-parse", "--verify", "-q", "HEAD").returncode != 0:
        pytest.skip("the repository has no commit yet: a clone would be empty")
    if sys.prefix == sys.base_prefix:
        pytest.skip("not running inside a virtualenv the clone could reuse")
    committed = _git("show", "HEAD:pyproject.toml")
    if committed.returncode != 0:
        pytest.skip("pyproject.toml is not committed")
    digest = hashlib.sha256(committed.stdout.encode()).hexdigest()[:16]
    if not (_venv() / f".installed-{digest}").exists():
        # Otherwise `make run` in the clone would reinstall this virtualenv from the clone.
        pytest.skip("the committed pyproject.toml differs from the one this virtualenv was installed from")
    target = tmp_path_factory.mktemp("make-run") / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(target)], check=True)
    return target


def _start(clone: Path, data_dir: Path, ports: dict[str, int], log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_DATABASE_URL", "NATS_URL"))}
    env.update(
        DATA_DIR=str(data_dir),
        HOST="127.0.0.1",
        PORT=str(ports["http"]),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{ports['http']}",
        EMBEDDED_NATS_PORT=str(ports["nats"]),
        CONGRESS_PORT=str(ports["congress"]),
        DOCUMENTS_PORT=str(ports["documents"]),
        SIGNING_PORT=str(ports["signing"]),
        LOG_FORMAT="json",
    )
    with open(log, "ab") as out:
        return subprocess.Popen(
            ["make", "--no-print-directory", "run", f"VENV={_venv()}"],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )


def _wait_ready(make: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    pending = [f"{base}/{name}/readyz" for name in SERVICES]
    while pending:
        assert make.poll() is None, f"make run exited with {make.returncode}:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"not ready in {READY_TIMEOUT}s: {pending}\n{log.read_text()[-4000:]}"
        still = []
        for url in pending:
            try:
                if httpx.get(url, timeout=2).status_code != 200:
                    still.append(url)
            except httpx.HTTPError:
                still.append(url)
        pending = still
        time.sleep(0.5)


def _interrupt(make: subprocess.Popen[bytes]) -> None:
    os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    make.wait(timeout=60)


def _leftovers(root: Path) -> list[str]:
    """Processes whose command line or working directory is under `root`."""
    found = []
    pgrep = subprocess.run(["pgrep", "-af", str(root)], capture_output=True, text=True, check=False)
    found += [line for line in pgrep.stdout.splitlines() if line.strip()]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if cwd == str(root) or cwd.startswith(f"{root}/"):
            found.append(f"{proc.name} cwd={cwd}")
    return found


def _force_cleanup(make: subprocess.Popen[bytes] | None, root: Path) -> None:
    if make is not None and make.poll() is None:
        os.killpg(make.pid, signal.SIGKILL)
        make.wait(timeout=10)
    for line in _leftovers(root):
        pid = int(line.split()[0])
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_make_run_ready_stops_cleanly_and_keeps_data(clone: Path) -> None:
    root = clone.parent
    data_dir = root / "var"
    log = root / "make-run.log"
    ports = {"http": free_port(), "nats": free_port(), **{name: free_port() for name in SERVICES}}
    base = f"http://127.0.0.1:{ports['http']}"
    make = None
    try:
        # First start: a fresh DATA_DIR.
        make = _start(clone, data_dir, ports, log)
        _wait_ready(make, base, log)
        assert "Paperless congress is running" in log.read_text()
        _interrupt(make)

        assert all(port_is_free(port) for port in ports.values()), ports
        assert _leftovers(root) == []

        store = data_dir / "nats"
        databases = {name: data_dir / f"{name}.sqlite3" for name in SERVICES}
        assert store.is_dir() and any(store.iterdir()), "the NATS store is empty"
        for path in databases.values():
            assert path.is_file() and path.stat().st_size > 0, path
        inodes = {name: path.stat().st_ino for name, path in databases.items()}

        # Second start: same DATA_DIR, same files.
        make = _start(clone, data_dir, ports, log)
        _wait_ready(make, base, log)
        assert {name: path.stat().st_ino for name, path in databases.items()} == inodes
        assert any(store.iterdir())
        _interrupt(make)
        assert all(port_is_free(port) for port in ports.values()), ports
        assert _leftovers(root) == []
    finally:
        _force_cleanup(make, root)
