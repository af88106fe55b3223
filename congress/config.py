"""Settings of the congress service (environment variables; see README)."""

from pydantic import AliasChoices, Field

from runtime.settings import DEFAULT_SERVICE_PORTS, ServiceSettings


class Settings(ServiceSettings):
    service: str = "congress"
    database_url: str = Field("", validation_alias=AliasChoices("CONGRESS_DATABASE_URL"))
    service_port: int = Field(DEFAULT_SERVICE_PORTS["congress"], validation_alias=AliasChoices("CONGRESS_PORT"))
