"""The organisation CA at work: created or imported once, certificates for signers and the seal,
revocation when a user is deactivated, and the CRL."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

import structlog
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import contracts.congress as cc
import contracts.signing as events
from runtime.db import UnitOfWork, utcnow
from runtime.errors import Conflict
from signing import model, pki
from signing.db import access, ca, certificates
from signing.handlers import Deps
from signing.signer import BuiltinKeySigner, DocumentSigner, Pkcs11KeyRef, Pkcs11Signer, asn1_cert
from signing.validation import TrustAnchors

log = structlog.get_logger()

CA_ID = "org"


@dataclass(frozen=True)
class CaMaterial:
    key: pki.PrivateKey
    cert: x509.Certificate
    parents: list[x509.Certificate]

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.cert, *self.parents]

    @property
    def root(self) -> x509.Certificate:
        return self.chain[-1]

    def chain_pem(self) -> str:
        return "".join(pki.to_pem(c) for c in self.chain)


def crl_url(deps: Deps) -> str:
    return f"{deps.settings.resolved_verify_base_url()}/api/signing/crl"


async def _ca_row(session: AsyncSession):  # type: ignore[no-untyped-def]
    return (await session.execute(select(ca).where(ca.c.id == CA_ID))).first()


def _material(deps: Deps, row) -> CaMaterial:  # type: ignore[no-untyped-def]
    return CaMaterial(deps.protector.open(row.key_pem), pki.from_pem(row.cert_pem), pki.chain_from_pem(row.parents_pem))


async def load_ca(deps: Deps, session: AsyncSession) -> CaMaterial:
    row = await _ca_row(session)
    if row is None:
        raise RuntimeError("the organisation CA does not exist yet")
    return _material(deps, row)


async def ensure_ca(deps: Deps) -> None:
    """At start: create the root CA and its first CRL unless a CA exists (imported or generated).

    Two replicas starting together race on the primary key; the loser reads the winner's CA.
    """
    async with deps.db.session() as session:
        if await _ca_row(session) is not None:
            return
    now = utcnow()
    key, cert = pki.create_root_ca(deps.settings.organisation_name, now)
    crl = pki.build_crl(key, cert, [], 1, now)
    try:
        async with deps.db.uow() as uow:
            await uow.session.execute(ca.insert().values(
                id=CA_ID, cert_pem=pki.to_pem(cert), parents_pem="", key_pem=deps.protector.seal(key), imported=False,
                crl_der=base64.b64encode(crl.public_bytes(serialization.Encoding.DER)).decode(), crl_number=1,
                created_at=now,
            ))
        log.info("signing.ca_created", fingerprint=pki.fingerprint(cert))
    except IntegrityError:
        log.info("signing.ca_created_by_another_replica")


async def install_imported_ca(deps: Deps, imported: pki.ImportedCa, replace: bool) -> str:
    """`python -m signing.cli import-ca`: the imported CA issues every certificate from now on.

    Certificates of the previous CA stop being current (each signer gets a new one when next
    needed); signatures made with them stay verifiable with that CA's certificate.
    """
    now = utcnow()
    async with deps.db.uow() as uow:
        existing = await _ca_row(uow.session)
        if existing is not None and not replace:
            raise Conflict("ca_exists", "A CA already exists; pass --replace to replace it.")
        crl = pki.build_crl(imported.key, imported.cert, [], 1, now)
        values = dict(
            cert_pem=pki.to_pem(imported.cert), parents_pem="".join(pki.to_pem(c) for c in imported.parents),
            key_pem=deps.protector.seal(imported.key), imported=True,
            crl_der=base64.b64encode(crl.public_bytes(serialization.Encoding.DER)).decode(), crl_number=1,
            created_at=now,
        )
        if existing is None:
            await uow.session.execute(ca.insert().values(id=CA_ID, **values))
        else:
            await uow.session.execute(ca.update().where(ca.c.id == CA_ID).values(**values))
            await uow.session.execute(certificates.update().values(current=False))
    return pki.fingerprint(imported.cert)


# --------------------------------------------------------------------------- certificates


async def current_certificate(session: AsyncSession, user_id: str):  # type: ignore[no-untyped-def]
    return (await session.execute(
        select(certificates).where(certificates.c.user_id == user_id, certificates.c.current.is_(True),
                                   certificates.c.revoked_at.is_(None), certificates.c.kind == "person")
    )).first()


async def ensure_person_certificate(deps: Deps, uow: UnitOfWork, user_id: str, username: str, full_name: str,
                                    organisation: str):  # type: ignore[no-untyped-def]
    """The user's current certificate; a new one when none exists or the name on it changed."""
    full_name = model.nfc(full_name)
    organisation = model.nfc(organisation or deps.settings.organisation_name)
    row = await current_certificate(uow.session, user_id)
    if row is not None:
        cert = pki.from_pem(row.cert_pem)
        names = {a.oid: a.value for a in cert.subject}
        if names.get(x509.NameOID.COMMON_NAME) == full_name and names.get(x509.NameOID.ORGANIZATION_NAME) == organisation:
            return row
        # A renamed person gets a certificate in the new name; the old one stays valid for what it signed.
        await uow.session.execute(certificates.update().where(certificates.c.serial == row.serial).values(current=False))
    authority = await load_ca(deps, uow.session)
    key, cert = pki.issue_person_certificate(
        authority.key, authority.cert, full_name=full_name, organisation=organisation, username=username,
        now=utcnow(), crl_url=crl_url(deps),
    )
    return await _store_certificate(uow, cert, "person", user_id, username, deps.protector.seal(key), None)  # type: ignore[arg-type]


async def _store_certificate(uow: UnitOfWork, cert: x509.Certificate, kind: str, user_id: str | None, username: str,
                             key_pem: str | None, key_ref: str | None):  # type: ignore[no-untyped-def]
    fingerprint = pki.fingerprint(cert)
    await uow.session.execute(certificates.insert().values(
        serial=str(cert.serial_number), kind=kind, user_id=user_id, username=username,
        subject_name=pki.common_name(cert), cert_pem=pki.to_pem(cert), key_pem=key_pem, key_ref=key_ref,
        fingerprint_sha256=fingerprint, issued_at=utcnow(), current=True, revoked_at=None,
    ))
    if kind == "person" and user_id:
        await uow.emit(events.CertificateIssued(user_id=user_id, username=username, fingerprint_sha256=fingerprint))  # type: ignore[arg-type]
    return (await uow.session.execute(select(certificates).where(certificates.c.serial == str(cert.serial_number)))).first()


async def enroll_token_key(deps: Deps, username: str, ref: Pkcs11KeyRef, public_key) -> str:  # type: ignore[no-untyped-def]
    """Issue the user's certificate for a key that lives on a PKCS#11 token (replaces the built-in one)."""
    async with deps.db.uow() as uow:
        user = (await uow.session.execute(select(access.users).where(access.users.c.username == username))).first()
        if user is None:
            raise Conflict("unknown_user", "No such user.")
        authority = await load_ca(deps, uow.session)
        _key, cert = pki.issue_person_certificate(
            authority.key, authority.cert, full_name=user.full_name,
            organisation=user.organisation or deps.settings.organisation_name, username=username,
            now=utcnow(), crl_url=crl_url(deps), public_key=public_key,
        )
        await uow.session.execute(certificates.update().where(
            certificates.c.user_id == user.user_id, certificates.c.kind == "person").values(current=False))
        await _store_certificate(uow, cert, "person", user.user_id, username, None, ref.uri())
    return pki.fingerprint(cert)


async def when_user_changed(deps: Deps, event: cc.UserCreated | cc.UserUpdated, uow: UnitOfWork) -> None:
    """Signers and secretaries get a certificate in their full name; others need none."""
    active = getattr(event, "active", True)
    if model.wants_certificate(event.roles, active):
        await ensure_person_certificate(deps, uow, str(event.user_id), event.username, event.full_name,
                                        event.organisation)
    elif not active:
        await revoke_user_certificates(deps, uow, str(event.user_id), event.username)


async def when_user_deactivated(deps: Deps, event: cc.UserDeactivated, uow: UnitOfWork) -> None:
    await revoke_user_certificates(deps, uow, str(event.user_id), event.username)


async def revoke_user_certificates(deps: Deps, uow: UnitOfWork, user_id: str, username: str) -> None:
    rows = (await uow.session.execute(select(certificates).where(
        certificates.c.user_id == user_id, certificates.c.revoked_at.is_(None)))).all()
    if not rows:
        return
    now = utcnow()
    for row in rows:
        await uow.session.execute(certificates.update().where(certificates.c.serial == row.serial)
                                  .values(revoked_at=now, current=False))
        await uow.emit(events.CertificateRevoked(user_id=user_id, username=username,  # type: ignore[arg-type]
                                                 fingerprint_sha256=row.fingerprint_sha256))
    await reissue_crl(deps, uow, now)


async def reissue_crl(deps: Deps, uow: UnitOfWork, now: datetime) -> bytes:
    row = await _ca_row(uow.session)
    authority = _material(deps, row)
    revoked = (await uow.session.execute(select(certificates.c.serial, certificates.c.revoked_at).where(
        certificates.c.revoked_at.is_not(None)))).all()
    own = [(int(serial), at) for serial, at in revoked]
    number = row.crl_number + 1
    crl = pki.build_crl(authority.key, authority.cert, own, number, now)
    der = crl.public_bytes(serialization.Encoding.DER)
    await uow.session.execute(ca.update().where(ca.c.id == CA_ID).values(
        crl_der=base64.b64encode(der).decode(), crl_number=number))
    return der


async def current_crl(deps: Deps) -> tuple[bytes, int]:
    """The CRL as served and embedded; re-issued when it is about to expire."""
    async with deps.db.session() as session:
        row = await _ca_row(session)
    der = base64.b64decode(row.crl_der)
    if pki.crl_needs_refresh(x509.load_der_x509_crl(der), utcnow()):
        async with deps.db.uow() as uow:
            der = await reissue_crl(deps, uow, utcnow())
            row = await _ca_row(uow.session)
    return der, row.crl_number


async def ca_chain_pem(deps: Deps) -> str:
    async with deps.db.session() as session:
        row = await _ca_row(session)
    return row.cert_pem + (row.parents_pem or "")


async def trust_anchors(deps: Deps) -> tuple[TrustAnchors, int]:
    der, number = await current_crl(deps)
    async with deps.db.session() as session:
        row = await _ca_row(session)
    chain = [pki.from_pem(row.cert_pem), *pki.chain_from_pem(row.parents_pem or "")]
    timestamp_roots = []
    if deps.settings.tsa_ca_file:
        with open(deps.settings.tsa_ca_file, "rb") as fh:
            timestamp_roots = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                               for c in x509.load_pem_x509_certificates(fh.read())]
    anchors = TrustAnchors(
        roots=[asn1_cert(chain[-1])], intermediates=[asn1_cert(c) for c in chain[:-1]], crls=[der],
        timestamp_roots=timestamp_roots + [asn1_cert(chain[-1])],
    )
    return anchors, number


def document_signer(deps: Deps, row, authority_chain: list[x509.Certificate]) -> DocumentSigner:  # type: ignore[no-untyped-def]
    cert = pki.from_pem(row.cert_pem)
    if row.key_ref:
        return Pkcs11Signer(deps.settings.pkcs11_module, Pkcs11KeyRef.parse(row.key_ref), deps.settings.pkcs11_pin,
                            cert, authority_chain)
    return BuiltinKeySigner(deps.protector.open(row.key_pem), cert, authority_chain)


async def seal_signer(deps: Deps, uow: UnitOfWork) -> tuple[DocumentSigner, str]:
    """The organisation seal's signer (its certificate is issued on first use)."""
    row = (await uow.session.execute(select(certificates).where(
        certificates.c.kind == "seal", certificates.c.current.is_(True), certificates.c.revoked_at.is_(None)))).first()
    authority = await load_ca(deps, uow.session)
    if row is None:
        key, cert = pki.issue_seal_certificate(authority.key, authority.cert,
                                               organisation=deps.settings.organisation_name, now=utcnow(),
                                               crl_url=crl_url(deps))
        row = await _store_certificate(uow, cert, "seal", None, "", deps.protector.seal(key), None)
    return document_signer(deps, row, authority.chain), row.fingerprint_sha256
