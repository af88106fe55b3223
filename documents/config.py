"""Settings of the documents service (environment variables; see README)."""

from pathlib import Path

from pydantic import AliasChoices, Field

from runtime.settings import DEFAULT_SERVICE_PORTS, ServiceSettings

MB = 1024 * 1024


class Settings(ServiceSettings):
    service: str = "documents"
    database_url: str = Field("", validation_alias=AliasChoices("DOCUMENTS_DATABASE_URL"))
    service_port: int = Field(DEFAULT_SERVICE_PORTS["documents"], validation_alias=AliasChoices("DOCUMENTS_PORT"))

    max_pdf_bytes: int = 50 * MB
    max_video_bytes: int = 500 * MB
    max_pdf_pages: int = 2000
    max_pdf_objects: int = 500_000
    """A PDF declaring more objects than this is refused before it is parsed further."""
    pdf_check_seconds: float = 60.0
    """Wall-clock budget for validating one PDF and extracting its text."""
    stale_upload_seconds: float = 3600.0
    """At start, files in <DATA_DIR>/tmp older than this are removed (a crash mid-upload left them)."""
    accel_redirect: bool = True
    """True behind Caddy: downloads answer X-Accel-Redirect and Caddy sends the bytes from the
    blob cache. False when clients reach the service directly: it streams the bytes itself."""

    archive_retention_years: int = 20
    """Every sealed record carries a retention date this many years after sealing."""
    archive_wait_seconds: float = 300.0
    """How long assembly waits for this service's consumers to pass the streams' positions at close."""
    fixity_interval_hours: float = 24.0
    """How often the fixity audit re-verifies every stored record (FIXITY_INTERVAL_HOURS)."""
    archive_max_import_bytes: int = 4096 * MB

    @property
    def archive_work_dir(self) -> Path:
        return (self.data_dir / "archive-work").resolve()

    @property
    def blob_cache_dir(self) -> Path:
        return (self.data_dir / "blobcache").resolve()

    @property
    def upload_tmp_dir(self) -> Path:
        return (self.data_dir / "tmp").resolve()
