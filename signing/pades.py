"""PAdES signatures and CMS seals with pyHanko (CPU only: bytes in, bytes out).

- `prepare_for_signing`: one incremental update over the uploaded original that appends the
  signature page and an empty signature field for every signer. It happens before the first
  signature because anything added after a signature would taint it; later signatures only
  fill their own field, which validators accept as form filling.
- `sign_pdf`: one more incremental update per signature, subfilter ETSI.CAdES.detached.
  Without a timestamp authority the result is PAdES B-B with the CA chain and the CRL
  embedded (DSS), so it validates offline years later; with one, B-T plus the validation data
  (B-LT).
- `seal_detached`: a detached CMS SignedData over the given bytes (the archive's seal
  manifest), verifiable with `openssl cms -verify -binary -content ... -CAfile ca.pem`.
"""

from __future__ import annotations

import binascii
import io
import uuid
from dataclasses import dataclass, field

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import PdfContent
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext

from signing import stamp as drawings
from signing.signer import DocumentSigner, asn1_cert


class NotSignable(ValueError):
    """The uploaded file cannot carry signatures (not a PDF, encrypted, damaged)."""


class TimestampUnavailable(RuntimeError):
    """The timestamp authority did not answer, or answered with something unusable."""


def field_name(position: int) -> str:
    return f"ChuKy{position + 1}"


# --------------------------------------------------------------------------- preparation


def prepare_for_signing(original: bytes, title: str, slots: list[drawings.SlotLabel]) -> bytes:
    if len(slots) > drawings.MAX_SIGNERS:
        raise NotSignable(f"at most {drawings.MAX_SIGNERS} signers fit on the signature page")
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(original), strict=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a usable PDF"
        raise NotSignable(f"not a readable PDF: {exc}") from exc
    if writer.prev.encrypted:
        raise NotSignable("encrypted PDF")
    page_pdf = drawings.signature_page(title, slots)
    xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(page_pdf)))
    contents = writer.add_object(generic.StreamObject(stream_data=b"q /SigPage Do Q"))
    page = generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Page"),
        pdf_name("/MediaBox"): generic.ArrayObject(
            [generic.FloatObject(0), generic.FloatObject(0),
             generic.FloatObject(drawings.PAGE_WIDTH), generic.FloatObject(drawings.PAGE_HEIGHT)]),
        pdf_name("/Resources"): generic.DictionaryObject(
            {pdf_name("/XObject"): generic.DictionaryObject({pdf_name("/SigPage"): xobject})}),
        pdf_name("/Contents"): contents,
    })
    writer.insert_page(page)
    last_page = int(writer.root["/Pages"]["/Count"]) - 1
    for position in range(len(slots)):
        box = tuple(int(round(v)) for v in drawings.slot_box(position))
        fields.append_signature_field(
            writer, fields.SigFieldSpec(sig_field_name=field_name(position), on_page=last_page, box=box)  # type: ignore[arg-type]
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --------------------------------------------------------------------------- signing


class ImportedPdfBytes(PdfContent):
    """pyHanko's ImportedPdfPage (what `StaticStampStyle.from_pdf_file` uses), from bytes in memory."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = data

    def render(self) -> bytes:
        xobject = self._ensure_writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self.data)))
        name = b"/Import" + binascii.hexlify(uuid.uuid4().bytes)
        self.resources.xobject[name.decode("ascii")] = xobject
        x1, y1, x2, y2 = xobject.get_object()["/BBox"]
        self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return name + b" Do"


@dataclass
class Evidence:
    """What a signature needs to validate offline: trust anchors, the chain, the CRLs."""

    trust_roots: list  # asn1crypto certificates
    other_certs: list
    crls: list[bytes]  # DER
    timestamper: TimeStamper | None = None
    allow_fetching: bool = False  # only for a TSA's own chain (B-LT)
    timestamp_roots: list = field(default_factory=list)  # the TSA's roots (TSA_CA_FILE)

    def validation_context(self) -> ValidationContext:
        # pyHanko validates the timestamp token's chain before it embeds that chain's
        # certificates and CRLs (B-LT), so the TSA's roots must be trusted here too.
        return ValidationContext(
            trust_roots=[*self.trust_roots, *self.timestamp_roots],
            other_certs=self.other_certs,
            crls=[asn1_crl.CertificateList.load(c) for c in self.crls],
            allow_fetching=self.allow_fetching,
            revocation_mode="soft-fail" if self.allow_fetching else "hard-fail",
        )


def timestamper_for(url: str) -> TimeStamper | None:
    return HTTPTimeStamper(url, timeout=10) if url else None


async def sign_pdf(data: bytes, position: int, signer: DocumentSigner, stamp_pdf: bytes, evidence: Evidence) -> bytes:
    meta = signers.PdfSignatureMetadata(
        field_name=field_name(position),
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        embed_validation_info=True,
        validation_context=evidence.validation_context(),
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer.pyhanko_signer(),
        timestamper=evidence.timestamper,
        stamp_style=StaticStampStyle(background=ImportedPdfBytes(stamp_pdf), border_width=0),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    try:
        out = await pdf_signer.async_sign_pdf(writer, existing_fields_only=True, output=io.BytesIO())
    except TimestampRequestError as exc:
        raise TimestampUnavailable(str(exc)) from exc
    return out.getvalue()


# --------------------------------------------------------------------------- seals


@dataclass(frozen=True)
class Seal:
    signature_der: bytes
    timestamp_token_der: bytes | None


async def seal_detached(data: bytes, signer: DocumentSigner, timestamper: TimeStamper | None) -> Seal:
    pyhanko_signer = signer.pyhanko_signer()
    try:
        content_info = await pyhanko_signer.async_sign_general_data(
            data, "sha256", detached=True, timestamper=timestamper
        )
    except TimestampRequestError as exc:
        raise TimestampUnavailable(str(exc)) from exc
    token = None
    signer_info = content_info["content"]["signer_infos"][0]
    for attribute in signer_info["unsigned_attrs"] or []:
        if attribute["type"].native == "signature_time_stamp_token":
            token = attribute["values"][0].dump()
    return Seal(signature_der=content_info.dump(), timestamp_token_der=token)


def cms_certificates(der: bytes) -> list:
    info = cms.ContentInfo.load(der)
    return [c.chosen for c in info["content"]["certificates"]]


__all__ = ["Evidence", "NotSignable", "Seal", "TimestampUnavailable", "asn1_cert", "field_name", "prepare_for_signing", "seal_detached",
           "sign_pdf", "timestamper_for"]
