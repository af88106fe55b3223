"""deploy/Caddyfile against stand-in upstreams: routing, forwarded headers, X-Accel-Redirect
downloads (headers, ETag, Range, conditional requests), the internal /_blobs/ path, and token
redaction in the access log. Real Caddy and uvicorn; the upstreams are a tiny ASGI app."""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runtime.processes import Caddy, ServiceProcess, free_port

STANDIN = textwrap.dedent(
    '''
    import json, os

    NAME = os.environ["STANDIN_NAME"]

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/healthz":
            await _send(send, 200, b"ok", [(b"content-type", b"text/plain")])
            return
        if "/blob/" in path:  # .../blob/<sha256>: let the proxy serve the bytes
            sha = path.rsplit("/", 1)[1]
            await _send(send, 200, b"body the client must not see", [
                (b"x-accel-redirect", f"/_blobs/{sha}".encode()),
                (b"content-type", b"application/pdf"),
                (b"content-disposition", b'inline; filename="bien-ban.pdf"'),
                (b"cache-control", b"no-cache"),
                (b"etag", f'"{sha}"'.encode()),
                (b"x-internal", b"not-copied"),
            ])
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        body = json.dumps({
            "service": NAME, "path": path, "headers": headers,
            "client": scope["client"][0], "scheme": scope["scheme"],
        }).encode()
        await _send(send, 200, body, [(b"content-type", b"application/json")])

    async def _send(send, status, body, headers):
        await send({"type": "http.response.start", "status": status,
                    "headers": headers + [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    '''
)

BLOB = ("Biên bản đại hội — nội dung PDF giả lập. " * 200).encode()
SHA = hashlib.sha256(BLOB).hexdigest()
SERVICES = ("congress", "documents", "signing")


@dataclass
class Proxy:
    url: str
    caddy: Caddy
    data_dir: Path


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    root = tmp_path_factory.mktemp("caddy-accel")
    (root / "app").mkdir()
    (root / "app" / "standin.py").write_text(STANDIN)
    data_dir = root / "var"
    (data_dir / "blobcache").mkdir(parents=True)
    (data_dir / "blobcache" / SHA).write_bytes(BLOB)
    started: list = []
    try:
        upstreams = {}
        for name in SERVICES:
            proc = ServiceProcess(
                name,
                app="standin:app",
                cwd=root / "app",
                env={"STANDIN_NAME": name},
                log_path=data_dir / "logs" / f"{name}.log",
            )
            started.append(proc.start(wait=False))
            upstreams[name] = f"127.0.0.1:{proc.port}"
        for proc in started:
            proc.wait_ready()
        caddy = Caddy(
            port=free_port(),
            upstreams=upstreams,
            blob_root=data_dir / "blobcache",
            state_dir=data_dir / "caddy",
            log_path=data_dir / "logs" / "caddy.log",
        )
        started.append(caddy.start())
        yield Proxy(url=caddy.url, caddy=caddy, data_dir=data_dir)
    finally:
        for proc in reversed(started):
            proc.stop()


@pytest.fixture
def client(proxy: Proxy) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy.url, timeout=10) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "service", "upstream_path"),
    [
        ("/", "congress", "/"),
        ("/api/auth/login", "congress", "/api/auth/login"),
        ("/api/users", "congress", "/api/users"),
        ("/api/users/42", "congress", "/api/users/42"),
        ("/api/congresses/1/agenda", "congress", "/api/congresses/1/agenda"),
        ("/api/audit", "congress", "/api/audit"),
        ("/q/tok", "congress", "/q/tok"),
        ("/d/tok", "congress", "/d/tok"),
        ("/c/code", "congress", "/c/code"),
        ("/console/", "congress", "/console/"),
        ("/static/congress/app.css", "congress", "/static/congress/app.css"),
        ("/api/documents", "documents", "/api/documents"),
        ("/api/documents/1/versions", "documents", "/api/documents/1/versions"),
        ("/api/archive/search", "documents", "/api/archive/search"),
        ("/archive/", "documents", "/archive/"),
        ("/api/signing/requests", "signing", "/api/signing/requests"),
        ("/api/signing/ca.pem", "signing", "/api/signing/ca.pem"),
        ("/sign/abc", "signing", "/sign/abc"),
        ("/verify/CODE1", "signing", "/verify/CODE1"),
        ("/congress/readyz", "congress", "/readyz"),
        ("/documents/metrics", "documents", "/metrics"),
        ("/signing/openapi.json", "signing", "/openapi.json"),
        ("/signing/asyncapi", "signing", "/asyncapi"),
    ],
)
def test_routing(client: httpx.Client, path: str, service: str, upstream_path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text
    seen = r.json()
    assert (seen["service"], seen["path"]) == (service, upstream_path)


def test_forwarded_headers_come_from_caddy_only(client: httpx.Client, proxy: Proxy) -> None:
    r = client.get("/api/users", headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"})
    seen = r.json()
    host = proxy.url.removeprefix("http://")
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"  # the spoofed value is dropped
    assert seen["headers"]["x-forwarded-proto"] == "http"
    assert seen["headers"]["x-forwarded-host"] == host
    # uvicorn --proxy-headers trusts 127.0.0.1 (Caddy): the client address is the real one.
    assert seen["client"] == "127.0.0.1"
    assert seen["scheme"] == "http"


@pytest.mark.parametrize("path", [f"/api/documents/7/blob/{SHA}", f"/q/tok/blob/{SHA}"])
def test_accel_redirect_serves_blob_with_upstream_headers(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.content == BLOB
    assert r.headers["etag"] == f'"{SHA}"'
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'inline; filename="bien-ban.pdf"'
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["content-length"] == str(len(BLOB))
    assert r.headers["accept-ranges"] == "bytes"
    assert "x-accel-redirect" not in r.headers
    assert "x-internal" not in r.headers


def test_accel_head(client: httpx.Client) -> None:
    r = client.head(f"/api/documents/7/blob/{SHA}")
    assert r.status_code == 200
    assert r.headers["etag"] == f'"{SHA}"'
    assert r.headers["content-length"] == str(len(BLOB))
    assert r.content == b""


def test_accel_range(client: httpx.Client) -> None:
    r = client.get(f"/q/tok/blob/{SHA}", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206
    assert r.content == BLOB[100:200]
    assert r.headers["content-range"] == f"bytes 100-199/{len(BLOB)}"
    assert r.headers["etag"] == f'"{SHA}"'
    tail = client.get(f"/q/tok/blob/{SHA}", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == BLOB[-10:]


def test_accel_conditional_requests(client: httpx.Client) -> None:
    path = f"/q/tok/blob/{SHA}"
    not_modified = client.get(path, headers={"If-None-Match": f'"{SHA}"'})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == f'"{SHA}"'
    assert not_modified.headers["cache-control"] == "no-cache"
    changed = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.content == BLOB
    # If-Range with the upstream ETag: the range is served; with another: the whole file.
    same = client.get(path, headers={"Range": "bytes=0-9", "If-Range": f'"{SHA}"'})
    assert same.status_code == 206 and same.content == BLOB[:10]
    other = client.get(path, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert other.status_code == 200 and other.content == BLOB


def test_accel_missing_blob_is_404(client: httpx.Client) -> None:
    assert client.get(f"/api/documents/7/blob/{'0' * 64}").status_code == 404


@pytest.mark.parametrize(
    "path",
    [f"/_blobs/{SHA}", "/_blobs/", "/_blobs", f"/_blobs/../_blobs/{SHA}", f"/_blobs%2F{SHA}"],
)
def test_blobs_not_reachable_from_outside(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert BLOB[:50] not in r.content


def test_signing_gets_no_accel_handling(client: httpx.Client) -> None:
    # Only congress and documents may hand downloads to the proxy.
    r = client.get(f"/api/signing/blob/{SHA}")
    assert r.content != BLOB


def test_access_log_is_json_and_redacts_tokens(client: httpx.Client, proxy: Proxy) -> None:
    secrets_ = ["QSECRETTOKEN123", "DSECRETTOKEN456", "CSECRETCODE789"]
    client.get(f"/q/{secrets_[0]}/blob/{SHA}", headers={"Referer": f"{proxy.url}/q/{secrets_[0]}"})
    client.get(f"/d/{secrets_[1]}")
    client.get(f"/c/{secrets_[2]}?x=1")
    client.get(f"/congress/q/{secrets_[0]}")
    client.get("/api/users/visible-path")
    log = _wait_for_log(proxy, "/api/users/visible-path")
    for secret in secrets_:
        assert secret not in log
    uris = [e["request"]["uri"] for e in _access_entries(log)]
    assert f"/q/***/blob/{SHA}" in uris
    assert "/d/***" in uris
    assert "/c/***?x=1" in uris
    assert "/congress/q/***" in uris


def _access_entries(log: str) -> list[dict]:
    entries = []
    for line in log.splitlines():
        line = line.strip()
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger", "").startswith("http.log.access"):
                entries.append(entry)
    return entries


def _wait_for_log(proxy: Proxy, marker: str, timeout: float = 5.0) -> str:
    import time

    deadline = time.monotonic() + timeout
    while True:
        text = proxy.caddy.log_path.read_text()
        if marker in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)
