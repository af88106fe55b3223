"""Settings of the signing service (environment variables; see README)."""

from pydantic import AliasChoices, Field

from runtime.settings import DEFAULT_SERVICE_PORTS, ServiceSettings


class Settings(ServiceSettings):
    service: str = "signing"
    database_url: str = Field("", validation_alias=AliasChoices("SIGNING_DATABASE_URL"))
    service_port: int = Field(DEFAULT_SERVICE_PORTS["signing"], validation_alias=AliasChoices("SIGNING_PORT"))

    organisation_name: str = "Tổ chức"
    """Name of the organisation in the generated CA and in every certificate (O=)."""
    verify_base_url: str = ""
    """Base of the QR link on each stamp (`{VERIFY_BASE_URL}/verify/{code}`); the stamp outlives the
    venue laptop, so set it to the organisation's permanent address. Default: PUBLIC_BASE_URL."""
    tsa_url: str = ""
    """RFC 3161 timestamp authority. Set: signatures are PAdES B-T/B-LT and seals carry a token."""
    tsa_ca_file: str = ""
    """PEM file of the timestamp authority's root certificate(s), trusted for timestamps only."""
    pkcs11_module: str = ""
    """PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so) for certificates whose key is on a token."""
    pkcs11_pin: str = ""
    verify_uploads_per_minute: int = 20
    """Per client IP, for the public `POST /api/signing/verify` and the verification page's upload."""
    verify_max_bytes: int = 50 * 1024 * 1024

    def resolved_verify_base_url(self) -> str:
        return (self.verify_base_url or self.public_base_url).rstrip("/")
