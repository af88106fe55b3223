"""PKCS#11: a key generated on a SoftHSM2 token (standing in for a USB token) signs through the
same interface as the built-in keys, and its signature validates like theirs."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signing import pades, pki, stamp
from signing.signer import Pkcs11KeyRef, Pkcs11Signer, asn1_cert, token_public_key
from signing.validation import TrustAnchors, verify_pdf
from tests.integration.signing_helpers import make_pdf
from tests.support.preconditions import needs

MODULE = next((p for p in ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
               if Path(p).exists()), None)
PIN = "123456"


@needs(MODULE is not None and shutil.which("softhsm2-util") is not None, "softhsm2 is not installed")
def test_a_token_key_signs_a_valid_pades_signature(tmp_path: Path) -> None:
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "usb-token", "--pin", PIN,
                    "--so-pin", "87654321"], check=True, capture_output=True)
    import pkcs11
    from pkcs11.util.ec import encode_named_curve_parameters

    token = pkcs11.lib(MODULE).get_token(token_label="usb-token")
    with token.open(rw=True, user_pin=PIN) as session:
        params = session.create_domain_parameters(
            pkcs11.KeyType.EC, {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
        params.generate_keypair(store=True, label="chu-ky")

    ref = Pkcs11KeyRef("usb-token", "chu-ky")
    assert Pkcs11KeyRef.parse(ref.uri()) == ref
    now = datetime.now(UTC)
    ca_key, ca_cert = pki.create_root_ca("Hội Nông dân", now)
    _none, cert = pki.issue_person_certificate(ca_key, ca_cert, full_name="Đặng Thị Thu Hà", organisation="Hội Nông dân",
                                               username="ha", now=now, crl_url="https://example.vn/api/signing/crl",
                                               public_key=token_public_key(MODULE, ref, PIN))
    assert _none is None
    crl = pki.build_crl(ca_key, ca_cert, [], 1, now).public_bytes(pki.serialization.Encoding.DER)
    prepared = pades.prepare_for_signing(make_pdf("Nghị quyết", 2), "Nghị quyết", [stamp.SlotLabel("Hà", "signer")])
    art = stamp.stamp_pdf(stamp.StampText("Đặng Thị Thu Hà", "signer", "Hội Nông dân", now, "AAAAA-BBBBB",
                                          "https://example.vn/verify/AAAAA-BBBBB"))
    signer = Pkcs11Signer(MODULE, ref, PIN, cert, [ca_cert])
    try:
        signed = asyncio.run(pades.sign_pdf(prepared, 0, signer, art,
                                            pades.Evidence([asn1_cert(ca_cert)], [], [crl])))
    finally:
        signer.close()
    report = verify_pdf(signed, TrustAnchors([asn1_cert(ca_cert)], [], [crl]))
    assert report.verdict == "valid" and report.signatures[0].signer == "Đặng Thị Thu Hà"
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    assert "Signature is Valid" in subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
