"""Settings shared by every service and by the launcher (pydantic-settings, read from the environment)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "development-only-secret", "admin"}

SERVICES = ("congress", "documents", "signing")

DEFAULT_SERVICE_PORTS = {"congress": 8101, "documents": 8102, "signing": 8103}
DEFAULT_EMBEDDED_NATS_PORT = 4333


def lan_address() -> str:
    """The address other machines on the venue network reach this one by (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # UDP connect only picks a route
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


class CommonSettings(BaseSettings):
    """Variables every process understands. Each service extends this with its own."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "production"] = "development"
    host: str = "0.0.0.0"
    port: int = 8000
    public_base_url: str = ""
    data_dir: Path = Path("var")
    nats_url: str = ""
    nats_user: str = ""
    """NATS user of this process (production: one user per service, deploy/nats/accounts.conf)."""
    nats_password: str = ""
    nats_creds: str = ""
    """Path of a NATS credentials file (JWT + NKey seed), instead of NATS_USER/NATS_PASSWORD."""
    nats_inbox_prefix: str = ""
    """Subject prefix of this process's reply inboxes; empty: `_INBOX_<service>` for a service.
    The deploy permissions let each service subscribe only to its own prefix."""
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    secret_key: str = "development-only-secret"
    stream_replicas: int = 1
    max_deliveries: int = 5
    consumer_ack_wait: float = 30.0
    """Seconds before JetStream redelivers a message a consumer neither acked nor nakked (it crashed)."""
    outbox_keep_days: float = 7.0
    """Days an event stays in its service's outbox after it was published; then it is deleted
    (JetStream keeps it: replays read the streams, never the outbox)."""
    admin_username: str = "admin"
    admin_password: str = ""

    @model_validator(mode="after")
    def _defaults_and_production_guard(self) -> "CommonSettings":
        if not self.public_base_url:
            self.public_base_url = f"http://{lan_address()}:{self.port}"
        self.public_base_url = self.public_base_url.rstrip("/")
        if self.environment == "production":
            if self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 32:
                raise ValueError("SECRET_KEY must be set to a random value of 32+ characters in production")
            if not self.nats_url:
                raise ValueError("NATS_URL must be set in production (no embedded server)")
        return self

    @property
    def nats_servers(self) -> list[str]:
        return [u.strip() for u in self.nats_url.split(",") if u.strip()]


class ServiceSettings(CommonSettings):
    """Settings of one service process. `service` names it; its database URL comes from <SERVICE>_DATABASE_URL."""

    service: str = Field(default="", exclude=True)
    database_url: str = ""
    service_port: int = 0

    def resolved_nats_inbox_prefix(self) -> str:
        return self.nats_inbox_prefix or f"_INBOX_{self.service}"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = (self.data_dir / f"{self.service}.sqlite3").resolve()
        return f"sqlite:///{path}"
