"""Settings of the signing service (environment variables; see README)."""

from pydantic import AliasChoices, Field

from runtime.settings import DEFAULT_SERVICE_PORTS, ServiceSettings


class Settings(ServiceSettings):
    service: str = "signing"
    database_url: str = Field("", validation_alias=AliasChoices("SIGNING_DATABASE_URL"))
    service_port: int = Field(DEFAULT_SERVICE_PORTS["signing"], validation_alias=AliasChoices("SIGNING_PORT"))
