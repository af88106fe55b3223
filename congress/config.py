"""Settings of the congress service (environment variables; see README)."""

from pydantic import AliasChoices, Field

from runtime.settings import DEFAULT_SERVICE_PORTS, ServiceSettings


class Settings(ServiceSettings):
    service: str = "congress"
    database_url: str = Field("", validation_alias=AliasChoices("CONGRESS_DATABASE_URL"))
    service_port: int = Field(DEFAULT_SERVICE_PORTS["congress"], validation_alias=AliasChoices("CONGRESS_PORT"))
    view_flush_seconds: float = Field(3.0, gt=0, validation_alias=AliasChoices("VIEW_FLUSH_SECONDS"))
    """How often scans counted in memory are written (and announced); at most this much is lost in a crash."""
