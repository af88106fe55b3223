"""Checking a detached CMS signature (and an RFC 3161 token) with asn1crypto and cryptography only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


@dataclass
class SignatureCheck:
    problems: list[str] = field(default_factory=list)
    signer: str = ""
    signed_at: datetime | None = None
    timestamp_at: datetime | None = None
    signature_value: bytes = b""


def _attr(attrs, name: str):  # type: ignore[no-untyped-def]
    for attr in attrs or []:
        if attr["type"].native == name:
            return attr["values"][0]
    return None


def _verify_raw(cert: x509.Certificate, signature: bytes, data: bytes, hash_name: str, algo: str) -> None:
    key = cert.public_key()
    chosen = _HASHES[hash_name]()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(chosen))
    elif isinstance(key, rsa.RSAPublicKey):
        pad = (padding.PSS(padding.MGF1(chosen), padding.PSS.AUTO) if algo == "rsassa_pss" else padding.PKCS1v15())
        key.verify(signature, data, pad, chosen)
    else:
        raise InvalidSignature(f"unsupported key type {type(key).__name__}")


def _chains_to(cert: x509.Certificate, pool: list[x509.Certificate], anchors: list[x509.Certificate]) -> bool:
    current = cert
    for _ in range(8):
        for anchor in anchors:
            if current.fingerprint(hashes.SHA256()) == anchor.fingerprint(hashes.SHA256()):
                return True
            if current.issuer == anchor.subject:
                try:
                    current.verify_directly_issued_by(anchor)
                    return True
                except (ValueError, TypeError, InvalidSignature):
                    pass
        parent = next((c for c in pool if c.subject == current.issuer and c != current), None)
        if parent is None:
            return False
        try:
            current.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            return False
        current = parent
    return False


def check_signed_data(signed_data: cms.SignedData, content: bytes, anchors: list[x509.Certificate] | None,
                      what: str) -> SignatureCheck:
    """One SignerInfo over `content`: digest, signature, and (if anchors given) the chain to them."""
    result = SignatureCheck()
    certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed_data["certificates"] or []
             if c.name == "certificate"]
    infos = signed_data["signer_infos"]
    if len(infos) != 1:
        result.problems.append(f"{what}: expected one signer, found {len(infos)}")
        return result
    info = infos[0]
    sid = info["sid"]
    signer_cert = None
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            if (cert.serial_number == sid.chosen["serial_number"].native
                    and cert.issuer.public_bytes() == sid.chosen["issuer"].dump()):
                signer_cert = cert
        else:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == sid.chosen.native:
                signer_cert = cert
    if signer_cert is None:
        result.problems.append(f"{what}: the signer's certificate is not in the signature")
        return result
    result.signer = signer_cert.subject.rfc4514_string()
    hash_name = info["digest_algorithm"]["algorithm"].native
    if hash_name not in _HASHES:
        result.problems.append(f"{what}: unsupported digest algorithm {hash_name}")
        return result
    signature = info["signature"].native
    result.signature_value = signature
    signed_attrs = info["signed_attrs"]
    if signed_attrs:
        digest = _attr(signed_attrs, "message_digest")
        if digest is None or digest.native != hashlib.new(hash_name, content).digest():
            result.problems.append(f"{what}: the signed digest does not match the signed file")
        to_verify = b"\x31" + signed_attrs.dump()[1:]  # signed over the SET OF, not the [0] tag
        signing_time = _attr(signed_attrs, "signing_time")
        if signing_time is not None:
            result.signed_at = signing_time.native
    else:
        to_verify = content
    try:
        _verify_raw(signer_cert, signature, to_verify, hash_name, info["signature_algorithm"].signature_algo)
    except (InvalidSignature, ValueError, TypeError):
        result.problems.append(f"{what}: the signature value is not valid")
    if anchors is not None:
        if not _chains_to(signer_cert, certs, anchors):
            result.problems.append(f"{what}: the signer's certificate was not issued by a trusted CA")
        moment = result.signed_at
        if moment is not None and not (signer_cert.not_valid_before_utc <= moment <= signer_cert.not_valid_after_utc):
            result.problems.append(f"{what}: the signer's certificate was not valid when it signed")
    return result


def check_detached(signature_der: bytes, content: bytes, anchors: list[x509.Certificate],
                   timestamp_der: bytes | None) -> SignatureCheck:
    try:
        info = cms.ContentInfo.load(signature_der)
        signed_data = info["content"]
        _ = signed_data["signer_infos"]
    except Exception:  # noqa: BLE001 - any parse failure means the file is not a CMS signature
        return SignatureCheck(problems=["seal: the signature file is not a CMS signature"])
    result = check_signed_data(signed_data, content, anchors, "seal")
    embedded = _attr(signed_data["signer_infos"][0]["unsigned_attrs"], "signature_time_stamp_token")
    token = timestamp_der or (embedded.dump() if embedded is not None else None)
    if token is not None:
        result.timestamp_at = _check_timestamp(token, result.signature_value, result.problems)
    return result


def _check_timestamp(token_der: bytes, signature_value: bytes, problems: list[str]) -> datetime | None:
    try:
        token = cms.ContentInfo.load(token_der)
        signed_data = token["content"]
        encap = signed_data["encap_content_info"]
        tst_der = encap["content"].contents
        tst_info = tsp.TSTInfo.load(tst_der)
        imprint = tst_info["message_imprint"]
        hash_name = imprint["hash_algorithm"]["algorithm"].native
    except Exception:  # noqa: BLE001
        problems.append("timestamp: the token cannot be read")
        return None
    if imprint["hashed_message"].native != hashlib.new(hash_name, signature_value).digest():
        problems.append("timestamp: the token is not over this seal's signature")
    # The authority's own chain is not judged here (it is not the organisation's CA).
    problems.extend(check_signed_data(signed_data, tst_der, None, "timestamp").problems)
    return tst_info["gen_time"].native
