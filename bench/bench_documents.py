"""Documents figures, each against a baseline measured in the same run:

- a 5 MB PDF downloaded by 50 concurrent clients through Caddy (the service checks the token and
  access, Caddy sends the bytes from the blob cache) vs Caddy serving the same file from disk:
  at least 50 % of its throughput;
- a 10-page agenda drawn with Noto Sans (glyph check included) vs the same lines with reportlab's
  built-in Helvetica: at most 2x its time;
- uploading a 20 MB PDF: the service's peak memory grows by less than the file's size.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.harness import Figure, Load, LoadToolMissing, median_of, parse_wrk
from runtime.processes import Caddy, ManagedProcess, NatsServer, ServiceProcess, find_binary, free_port, wait_http_ok

CONNECTIONS = 50
THREADS = 2
DURATION = 4.0
ROUNDS = 3
MIN_DOWNLOAD_RATIO = 0.5
MAX_RENDER_RATIO = 2.0
MB = 1024 * 1024


def noise_pdf(size: int, title: str) -> bytes:
    """A PDF of about `size` bytes: a page of Vietnamese text and an incompressible image (a scan)."""
    import reportlab.rl_config
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from runtime.pdf import register_fonts

    reportlab.rl_config.useA85 = 0  # binary image data: the file's size is the image's size
    side = int((size / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.setFont(register_fonts(), 14)
    page.drawString(60, 780, title)
    page.drawImage(ImageReader(image), 60, 200, 480, 480)
    page.showPage()
    page.save()
    return out.getvalue()


def wrk_with_headers(url: str, headers: dict[str, str]) -> Load:
    binary = shutil.which("wrk")
    if not binary:
        raise LoadToolMissing("wrk is not installed (Debian: apt-get install wrk; `make bench` does it)")
    argv = [binary, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{round(DURATION)}s", "--timeout=10s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    done = subprocess.run([*argv, url], capture_output=True, text=True, timeout=DURATION + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


class StaticCaddy(ManagedProcess):
    """Caddy serving a directory as plain files: the download baseline."""

    def __init__(self, root: Path, port: int, log_path: Path) -> None:
        config = root.parent / "static.Caddyfile"
        config.write_text(f"{{\n\tadmin off\n\tauto_https off\n}}\n:{port} {{\n\tbind 127.0.0.1\n\troot * {root}\n"
                          "\tfile_server\n}\n")
        self.port = port
        super().__init__([find_binary("caddy"), "run", "--config", str(config), "--adapter", "caddyfile"],
                         name="caddy-static", log_path=log_path, env={"HOME": str(root.parent)}, inherit_env=False)

    def is_ready(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/missing", timeout=1).status_code == 404
        except httpx.HTTPError:
            return False


def run() -> list[Figure]:
    return [*measure_downloads_and_upload_memory(), measure_render()]


def measure_downloads_and_upload_memory() -> list[Figure]:
    from tests.support.documents import TokenMinter, congress_events, send, user_events

    with tempfile.TemporaryDirectory(prefix="bench-documents-") as tmp:
        data_dir = Path(tmp) / "var"
        logs = data_dir / "logs"
        started: list[ManagedProcess] = []
        try:
            nats = NatsServer(data_dir / "nats", log_path=logs / "nats.log").start()
            started.append(nats)
            documents = ServiceProcess(
                "documents",
                env={"NATS_URL": nats.url, "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"},
                log_path=logs / "documents.log",
            ).start()
            started.append(documents)
            caddy = Caddy(
                port=free_port(),
                upstreams={"congress": "127.0.0.1:9", "documents": f"127.0.0.1:{documents.port}", "signing": "127.0.0.1:9"},
                blob_root=data_dir / "blobcache", state_dir=data_dir / "caddy", log_path=logs / "caddy.log",
            ).start()
            started.append(caddy)
            wait_http_ok([f"{documents.url}/readyz"], timeout=60)

            minter = TokenMinter(nats.url)
            minter.publish_key()
            secretary = minter.staff("thuky", ["secretary"])
            congress_id = uuid.uuid4()
            send(nats.url, [*user_events(secretary), *congress_events(congress_id, "Đại hội", [secretary])])
            auth = secretary.headers
            deadline = time.monotonic() + 30
            while httpx.get(f"{documents.url}/api/documents", params={"congress_id": str(congress_id)},
                            headers=auth).status_code != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError("the documents service never learnt about the bench congress")
                time.sleep(0.1)

            def upload(data: bytes) -> dict:
                r = httpx.post(f"{documents.url}/api/documents", headers=auth, timeout=120,
                               data={"congress_id": str(congress_id), "title": "Báo cáo", "kind": "report"},
                               files={"file": ("bao-cao.pdf", data)})
                r.raise_for_status()
                return r.json()

            # -- memory: warm up (imports, pools), then one 20 MB upload
            upload(noise_pdf(200 * 1024, "Khởi động"))
            big = noise_pdf(20 * MB, "Tài liệu 20 MB")
            before = peak_rss(documents.pid)
            stored = upload(big)
            growth = peak_rss(documents.pid) - before
            assert stored["sha256"] == hashlib.sha256(big).hexdigest()
            memory = Figure("upload 20 MB PDF: service peak RSS growth", f"< {len(big) / MB:.0f} MB",
                            growth / MB, len(big) / MB, growth < len(big), "MB")

            # -- downloads: 5 MB through the service + Caddy vs Caddy from disk
            five = upload(noise_pdf(5 * MB, "Tài liệu 5 MB"))
            static_root = Path(tmp) / "static"
            static_root.mkdir()
            shutil.copy(data_dir / "blobcache" / five["sha256"], static_root / "file.pdf")
            static = StaticCaddy(static_root, free_port(), logs / "caddy-static.log").start()
            started.append(static)
            through = f"{caddy.url}/api/documents/{five['id']}/file?version=1"
            direct = f"http://127.0.0.1:{static.port}/file.pdf"
            check = httpx.get(through, headers=auth, timeout=30)
            assert check.status_code == 200 and hashlib.sha256(check.content).hexdigest() == five["sha256"]
            wrk_with_headers(through, auth)  # warm-up
            wrk_with_headers(direct, {})
            via_service: list[Load] = []
            from_disk: list[Load] = []
            for _ in range(ROUNDS):  # interleaved, so drift hits both sides alike
                via_service.append(wrk_with_headers(through, auth))
                from_disk.append(wrk_with_headers(direct, {}))
            service_rps = median_of(ROUNDS, iter(r.requests_per_s for r in via_service).__next__)
            disk_rps = median_of(ROUNDS, iter(r.requests_per_s for r in from_disk).__next__)
            errors = sum(r.errors for r in via_service + from_disk)
            ratio = service_rps / disk_rps if disk_rps else 0.0
            return [
                Figure("5 MB PDF, 50 clients: Caddy from disk", "reference", disk_rps, None, errors == 0, "req/s"),
                Figure("5 MB PDF, 50 clients: documents + Caddy", "reference", service_rps, None, errors == 0, "req/s"),
                Figure("  download throughput vs Caddy from disk", f">= {MIN_DOWNLOAD_RATIO:.0%}", f"{ratio:.0%}",
                       "100%", ratio >= MIN_DOWNLOAD_RATIO and errors == 0),
                memory,
            ]
        finally:
            for proc in reversed(started):
                proc.stop()


def measure_render() -> Figure:
    from documents.render import AgendaLine, CongressSheet, render_agenda

    congress = CongressSheet("Đại hội đại biểu Phụ nữ phường Bến Nghé lần thứ XV", "Hội Liên hiệp Phụ nữ Việt Nam",
                             "Phường Bến Nghé", "Hội trường Ủy ban nhân dân phường")
    items = [AgendaLine(i, f"Thảo luận tổ {i}: góp ý dự thảo Báo cáo chính trị và Nghị quyết Đại hội",
                        "Chủ trì: Nguyễn Thị Nguyên, Phạm Thị Thuý Hải; thư ký: Đặng Thị Quyên") for i in range(1, 215)]

    def timed(font: str, check: bool) -> float:
        started = time.perf_counter()
        render_agenda(congress, items, font=font, check_glyphs=check)
        return time.perf_counter() - started

    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(render_agenda(congress, items))).pages)
    timed("NotoSans", True)  # warm-up: font parsing happens once per process
    timed("Helvetica", False)
    noto = median_of(7, lambda: timed("NotoSans", True))
    helvetica = median_of(7, lambda: timed("Helvetica", False))
    ratio = noto / helvetica
    return Figure(f"{pages}-page agenda: Noto Sans vs Helvetica time", f"<= {MAX_RENDER_RATIO:.0f}x",
                  f"{ratio:.2f}x ({noto * 1000:.0f} ms)", f"{helvetica * 1000:.0f} ms", ratio <= MAX_RENDER_RATIO)
