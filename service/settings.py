"""Node settings: one object, built at start-up from the data dir's ``node.toml`` and ``LIAISON_*``.

Precedence, highest first: explicit arguments (from the CLI), ``LIAISON_*`` environment variables,
``<data dir>/node.toml``, defaults. ``LIAISON_DATABASE_URL`` selects PostgreSQL
(``postgresql+psycopg://...``) instead of the embedded SQLite default in the data dir.

Secrets are not settings: the passphrase that unlocks the key file comes from
``LIAISON_PASSPHRASE``, ``--passphrase-stdin`` or a prompt, and is never written to disk.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from crypto.errors import MalformedInput
from crypto.keydoc import check_node_id

CONFIG_FILE = "node.toml"
KEY_FILE = "identity.key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIAISON_", extra="forbid", frozen=True)

    data_dir: Path
    node_id: str
    node_name: str = ""
    public_url: str = Field(description="origin partners use to reach this node (and sign for)")
    listen_host: str = "127.0.0.1"
    listen_port: int = 8600
    taxii_listen_host: str = Field(
        "127.0.0.1",
        description="address of the TAXII 2.1 listener, for the home network's platforms",
    )
    taxii_listen_port: int | None = Field(
        None, ge=0, le=65535, description="port of the TAXII 2.1 listener (unset: no TAXII)"
    )
    taxii_public_url: str | None = Field(
        None, description="origin TAXII clients use (discovery's API root URLs); default: as asked"
    )
    database_url: str | None = None
    policy_dir: Path | None = Field(
        None, description="sharing policies, one <partner>.toml each (default: <data dir>/policies)"
    )

    token_ttl: int = Field(900, ge=60, le=86400, description="officer token lifetime, seconds")
    console_idle_seconds: int = Field(
        900, ge=60, le=86400, description="a console session ends after this long without use"
    )
    console_max_seconds: int = Field(
        8 * 3600, ge=300, le=7 * 86400, description="a console session ends this long after login"
    )
    max_report_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    max_envelope_bytes: int = Field(8 * 1024 * 1024, ge=16 * 1024)
    max_report_objects: int = Field(
        10_000, ge=1, le=1_000_000, description="most STIX objects in one report, either way"
    )
    # Receivers refuse envelopes that live longer than 30 days (crypto.envelope R7).
    envelope_lifetime: int = Field(7 * 24 * 3600, ge=60, le=30 * 24 * 3600)
    clock_skew: int = Field(120, ge=0, le=3600)
    request_max_age: int = Field(300, ge=10, le=3600)
    delivery_idle_seconds: float = Field(
        2.0, gt=0, description="longest the worker sleeps when nothing is due (a submit wakes it)"
    )
    delivery_timeout: float = Field(30.0, gt=0, description="HTTP timeout towards partners")
    delivery_batch: int = Field(50, ge=1, le=1000, description="deliveries claimed per round")
    push_batch: int = Field(
        100, ge=1, le=100, description="envelopes per push request to a partner (1: one each)"
    )
    delivery_lease_seconds: float = Field(
        60.0, gt=0, description="how long a worker owns a claimed delivery before others may"
    )
    retry_base_seconds: float = Field(2.0, gt=0, description="first retry delay (doubles)")
    retry_max_seconds: float = Field(300.0, gt=0, description="longest retry delay")
    pull_interval_seconds: float = Field(
        30.0, gt=0, description="how often to ask each partner for envelopes we may have missed"
    )
    key_refresh_seconds: float = Field(
        3600.0, gt=0, description="how often to fetch each partner's key document (rotations)"
    )
    witness_interval_seconds: float = Field(
        60.0, gt=0, description="how often to witness (check and cosign) each partner's audit log"
    )
    checkpoint_interval_seconds: float = Field(
        60.0, gt=0, description="how often to sign a checkpoint of the audit log when it grew"
    )
    login_failures_before_delay: int = Field(
        5, ge=1, description="consecutive failed logins after which an account must wait"
    )

    @field_validator("node_id")
    @classmethod
    def _node_id(cls, value: str) -> str:
        try:
            return check_node_id(value)
        except MalformedInput as exc:  # pydantic reports ValueError as a validation error
            raise ValueError(exc.message) from exc

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> Settings:
        if self.delivery_lease_seconds <= self.delivery_timeout:
            raise ValueError(
                "delivery_lease_seconds must exceed delivery_timeout, or a slow send could be "
                "taken over by another worker while still in flight"
            )
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or "?" in value or "#" in value:
            raise ValueError("public_url must be an http(s) origin, optionally with a path")
        return value.rstrip("/")

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'liaison.db'}"

    @property
    def policies_path(self) -> Path:
        return self.policy_dir or self.data_dir / "policies"

    @property
    def key_file(self) -> Path:
        return self.data_dir / KEY_FILE

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFile(settings_cls, init_settings))


class _TomlFile(PydanticBaseSettingsSource):
    """Reads ``node.toml`` from the data dir given by argument or ``LIAISON_DATA_DIR``."""

    def __init__(self, settings_cls: type[BaseSettings], init: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._init = init

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        data_dir = self._init().get("data_dir") or os.environ.get("LIAISON_DATA_DIR")
        if not data_dir:
            return {}
        path = Path(data_dir) / CONFIG_FILE
        if not path.exists():
            return {}
        with path.open("rb") as fh:
            values = tomllib.load(fh)
        values.setdefault("data_dir", str(data_dir))
        return values


def load_settings(data_dir: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings for the node whose data dir is ``data_dir`` (or ``LIAISON_DATA_DIR``).

    Raises:
        pydantic.ValidationError: missing or invalid settings (the CLI prints its message).
    """
    if data_dir is not None:
        overrides["data_dir"] = Path(data_dir)
    return Settings(**overrides)


def write_config(path: Path, values: dict[str, Any]) -> None:
    """Write ``node.toml`` (flat keys of strings, integers and floats only)."""
    lines = ["# liaison node configuration; LIAISON_* environment variables override it", ""]
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TypeError(f"unsupported config value for {key}")
        if isinstance(value, str):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{key} = "{escaped}"')
        else:
            lines.append(f"{key} = {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
