"""A local RFC 3161 timestamp authority for tests and benches: certomancer's Animator (aiohttp)
as its own process on a free loopback port, serving the TSA and its root's CRL over HTTP.

The PKI (a root and a timestamping certificate whose CRL distribution point is this server) is
generated fresh for each run, so validation data for the TSA's chain can really be fetched and
embedded (PAdES B-LT). The signing service reaches it through `TSA_URL`, trusts it through
`TSA_CA_FILE`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from runtime.processes import free_port

ARCH = "local-tsa"
CONFIG = """\
external-url-prefix: "{url}"
keysets:
  {arch}:
    path-prefix: keys
    keys:
      root: {{path: root.key.pem}}
      tsa: {{path: tsa.key.pem}}
pki-architectures:
  {arch}:
    keyset: {arch}
    entity-defaults:
      country-name: VN
      organization-name: Đơn vị cấp dấu thời gian thử nghiệm
    entities:
      root: {{common-name: Gốc dấu thời gian thử nghiệm}}
      tsa: {{common-name: Dấu thời gian thử nghiệm}}
    certs:
      root:
        subject: root
        subject-key: root
        issuer: root
        authority-key: root
        validity: {{valid-from: "{start}", valid-to: "{end}"}}
        extensions:
          - {{id: basic_constraints, critical: true, value: {{ca: true}}}}
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature, key_cert_sign, crl_sign]}}
      tsa:
        issuer: root
        validity: {{valid-from: "{start}", valid-to: "{end}"}}
        extensions:
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature]}}
          - {{id: extended_key_usage, critical: true, value: [time_stamping]}}
          - id: crl_distribution_points
            smart-value: {{schema: crl-dist-url, params: {{crl-repo-names: [root]}}}}
    services:
      crl-repo:
        root: {{for-issuer: root, signing-key: root, simulated-update-schedule: "P7D"}}
      time-stamping:
        tsa: {{signing-key: tsa, signing-cert: tsa}}
"""


def _certomancer() -> str:
    found = Path(sysconfig.get_path("scripts")) / "certomancer"
    return str(found) if found.exists() else (shutil.which("certomancer") or "certomancer")


class LocalTimestampAuthority:
    """`with LocalTimestampAuthority(tmp) as tsa:` → `tsa.url` (RFC 3161 over HTTP), `tsa.ca_file` (root PEM)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{self.base_url}/{ARCH}/tsa/tsa"

    @property
    def crl_url(self) -> str:
        return f"{self.base_url}/{ARCH}/crls/root/latest.crl"

    @property
    def ca_file(self) -> Path:
        return self.directory / "tsa-root.pem"

    def _write_config(self) -> Path:
        keys = self.directory / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        for name in ("root", "tsa"):
            key = ec.generate_private_key(ec.SECP256R1())
            (keys / f"{name}.key.pem").write_bytes(key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        now = datetime.now(UTC)
        stamp = "%Y-%m-%dT%H:%M:%S+0000"
        config = self.directory / "certomancer.yml"
        config.write_text(CONFIG.format(url=self.base_url, arch=ARCH, start=(now - timedelta(days=1)).strftime(stamp),
                                        end=(now + timedelta(days=3650)).strftime(stamp)), encoding="utf-8")
        return config

    def start(self) -> LocalTimestampAuthority:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        subprocess.run([_certomancer(), "--config", str(config), "summon", ARCH, "root", str(self.ca_file)],
                       capture_output=True, check=True, timeout=60)
        log = (self.directory / "tsa.log").open("wb")
        self.process = subprocess.Popen(
            [_certomancer(), "--config", str(config), "animate", "--aiohttp", "--no-web-ui", "--no-time-override",
             "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.directory,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the timestamp authority exited: {(self.directory / 'tsa.log').read_text()}")
            try:
                if httpx.get(self.crl_url, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the timestamp authority did not answer in 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> LocalTimestampAuthority:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["LocalTimestampAuthority"]

if __name__ == "__main__":  # a TSA for manual experiments: python -m tests.support.tsa DIR
    with LocalTimestampAuthority(Path(sys.argv[1] if len(sys.argv) > 1 else "var/tsa")) as running:
        print(running.url, running.ca_file)
        running.process.wait()  # type: ignore[union-attr]
