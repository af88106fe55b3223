"""Settings of the documents service (environment variables; see README)."""

from pydantic import AliasChoices, Field

from runtime.settings import DEFAULT_SERVICE_PORTS, ServiceSettings


class Settings(ServiceSettings):
    service: str = "documents"
    database_url: str = Field("", validation_alias=AliasChoices("DOCUMENTS_DATABASE_URL"))
    service_port: int = Field(DEFAULT_SERVICE_PORTS["documents"], validation_alias=AliasChoices("DOCUMENTS_PORT"))
