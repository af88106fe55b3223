"""The organisation CA for anyone who validates: its certificate chain and its CRL."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from signing.api.deps import SigningDeps
from signing.handlers import authority

router = APIRouter(prefix="/api/signing", tags=["ca"])


@router.get("/ca.pem")
async def ca_pem(deps: SigningDeps) -> Response:
    """Import it into Adobe Reader (or any validator) to see the organisation's signatures as trusted."""
    return Response(await authority.ca_chain_pem(deps), media_type="application/x-pem-file",
                    headers={"Content-Disposition": 'attachment; filename="ca.pem"'})


@router.get("/crl")
async def crl(deps: SigningDeps) -> Response:
    der, _number = await authority.current_crl(deps)
    return Response(der, media_type="application/pkix-crl", headers={"Cache-Control": "public, max-age=300"})
