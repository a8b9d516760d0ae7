"""Settings read once from the environment (pydantic-settings); only bot/ reads them."""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_db_path() -> Path:
    """Return $XDG_DATA_HOME/medcode/medcode.db (~/.local/share/medcode/medcode.db by default)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "medcode" / "medcode.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    slack_bot_token: SecretStr | None = Field(None, description="Bot token (xoxb-…) for Web API calls.")
    slack_app_token: SecretStr | None = Field(None, description="App-level token (xapp-…); turns on Socket Mode.")
    slack_signing_secret: SecretStr | None = Field(None, description="Signing secret for HTTP mode request checks.")
    medcode_db: Path = Field(default_factory=default_db_path, description="Path of the SQLite database.")
    medcode_slack_api_url: str | None = Field(None, description="Slack Web API base URL (tests use a loopback mock).")
    medcode_admins: str = Field("", description="Comma-separated Slack user ids allowed to run admin actions.")
    medcode_announce_channel: str | None = Field(None, description="Channel id that gets release summaries.")
    port: int = Field(3000, description="HTTP mode listening port.")
    host: str = Field("0.0.0.0", description="HTTP mode listening address (127.0.0.1 behind a proxy on the same host).")
    medcode_policy_dir: Path | None = Field(None, description="Folder of the organisation's TOML policy packs.")

    @property
    def has_slack_tokens(self) -> bool:
        return self.slack_bot_token is not None
