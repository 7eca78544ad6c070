"""One typed, immutable node configuration: a TOML file, overridden by ``IES_*`` variables.

Environment overrides use ``__`` between sections, e.g. ``IES_NODE__SIGNING_PRIVATE_KEY``
or ``IES_REDIS__URL``; secrets are best given that way rather than in the file.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from iesnode.errors import ConfigError
from iesnode.model.envelope import Dialect
from iesnode.model.subscriber import Subscriber

__all__ = [
    "AdminKeySettings",
    "CredentialSettings",
    "DeliverySettings",
    "GatewaySettings",
    "NamespaceSettings",
    "NetworkSettings",
    "NodeIdentity",
    "NodeRole",
    "NodeSettings",
    "PolicySettings",
    "RedisSettings",
    "RegistryServiceSettings",
    "RegistrySettings",
    "SecuritySettings",
    "load_registry_settings",
    "load_settings",
]


class NodeRole(StrEnum):
    """What this node does on the network; a node may play several roles."""

    BAP = "bap"
    BPP = "bpp"
    GATEWAY = "gateway"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NodeIdentity(_Section):
    """Who we are: our subscriber id, key and public address."""

    subscriber_id: str
    key_id: str
    signing_private_key: SecretStr
    encryption_private_key: SecretStr | None = None
    roles: tuple[NodeRole, ...] = (NodeRole.BAP,)
    public_url: str | None = None
    """Our registered subscriber URL (``bapUri``/``bppUri``); actions are POSTed below it.
    Default: ``http://{host}:{bound port}``."""
    host: str = "127.0.0.1"
    port: int = 0
    handlers: str | None = None
    """The BPP's handlers for ``iesnode serve``: ``package.module:name`` of a ``HandlerRegistry``
    or of a callable taking these settings and returning one. Without it every action is
    NACKed ``BIZ_ACTION_NOT_SUPPORTED``."""


class NetworkSettings(_Section):
    """The network and domain we transact in, and which ones we accept."""

    network_id: str | None = None
    domain: str | None = None
    city: str | None = None
    country: str | None = None
    dialect: Dialect = Dialect.V2
    allowed_networks: tuple[str, ...] = ()
    """Empty means: any network (a v2 message's ``networkId``)."""
    allowed_domains: tuple[str, ...] = ()
    """Empty means: any domain (a v1 message's ``domain``)."""
    gateway_url: str | None = None
    """Where our BAP sends discover without a target BPP; default: a BG found in the directory."""
    request_ttl: float = 30.0
    """ttl our BAP puts on requests unless the caller gives one."""
    request_attempts: int = 3
    """Tries per BAP request when the peer answers 5xx/429 or times out (never on 4xx)."""


class SecuritySettings(_Section):
    """Signature and request-acceptance limits."""

    clock_skew: float = 5.0
    signature_lifetime: int = 300
    max_body_bytes: int = 1_048_576
    default_ttl: float = 30.0
    """Used for staleness checks when a message carries no ``ttl``."""


class RegistrySettings(_Section):
    """Where subscriber keys come from: a static list and/or a registry."""

    url: str | None = None
    api: Literal["beckn-v1", "dedi"] = "beckn-v1"
    timeout: float = 5.0
    cache_ttl: float = 300.0
    negative_ttl: float = 30.0
    subscribers: tuple[Subscriber, ...] = ()


class RedisSettings(_Section):
    """Shared hot state; without a URL everything stays in this process."""

    url: str | None = None


class DeliverySettings(_Section):
    """Callback delivery: retries with exponential backoff and the durable outbox."""

    timeout: float = 5.0
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    claim_after: float = 60.0
    """A job held this long by a silent worker is handed to another (crash recovery)."""
    concurrency: int = 32
    max_backlog: int = 10_000
    """Callbacks this process may owe before it answers 503 NET_OVERLOADED (0: no limit)."""
    consumer: str | None = None
    """Outbox consumer name; default ``{hostname}-{pid}``."""


class CredentialSettings(_Section):
    """The node as a credential issuer: status lists, consent ledger and audit chain."""

    enabled: bool = False
    data_dir: Path | None = None
    """SQLite for status lists, consents and the audit log; in memory when unset."""


class PolicySettings(_Section):
    """Policy as code: Rego packs by network, and contract policies referenced by payloads."""

    packs: tuple[Path, ...] = ()
    """Pack directories or .tar.gz files installed at start (verified, compiled, tested)."""
    networks: dict[str, str] = Field(default_factory=dict)
    """networkId -> pack id of its network policy."""
    default_pack: str | None = None
    """Pack id for networks not listed; none: such networks have no network policy."""
    trusted_keys: dict[str, str] = Field(default_factory=dict)
    """key id -> base64 Ed25519 public key that may sign packs."""
    require_signature: bool = False
    contract_url_prefixes: tuple[str, ...] = ()
    """Contract policies are fetched only from URLs under these prefixes."""
    contract_actions: tuple[str, ...] = ("init", "confirm")


class GatewaySettings(_Section):
    """Discovery fan-out."""

    fanout_timeout: float = 3.0


class _EnvOverFile(BaseSettings):
    """Settings read from a file (passed as init values) that ``IES_*`` variables override."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment variables override the file (init) values."""
        return (env_settings, init_settings)


class NodeSettings(_EnvOverFile):
    """The whole configuration of one node process."""

    model_config = SettingsConfigDict(
        env_prefix="IES_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    node: NodeIdentity
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    credentials: CredentialSettings = Field(default_factory=CredentialSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    app: dict[str, Any] = Field(default_factory=dict)
    """Settings of the application behind ``node.handlers``, read by its factory (``[app]``)."""
    adapters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Legacy-system adapters by table name; ``type`` picks one (default: the table name)."""


class AdminKeySettings(_Section):
    """An administrator's public key (writes signed ``admin|<key_id>|ed25519``)."""

    key_id: str
    public_key: str


class NamespaceSettings(_Section):
    """One namespace the registry runs, and who may write in it."""

    name: str
    publishers: tuple[str, ...] = ()
    self_subscribe: bool = True
    registries: tuple[str, ...] = ()
    """Registries in the namespace; empty: any name."""


class RegistryServiceSettings(_EnvOverFile):
    """``iesnode registry serve``: a TOML file (optional), overridden by ``IES_REGISTRY_*``.

    Without keys in the file the registry generates its signing and encryption keys on
    first start and keeps them in ``data_dir``, so it runs with no flags at all.
    """

    model_config = SettingsConfigDict(
        env_prefix="IES_REGISTRY_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    subscriber_id: str = "registry.local"
    key_id: str = "k1"
    signing_private_key: SecretStr | None = None
    encryption_private_key: SecretStr | None = None
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("registry-data")
    admins: tuple[AdminKeySettings, ...] = ()
    namespaces: tuple[NamespaceSettings, ...] = (NamespaceSettings(name="local"),)
    challenge_timeout: float = 5.0
    clock_skew: float = 5.0


def load_registry_settings(source: Path | dict[str, Any] | None = None) -> RegistryServiceSettings:
    """Registry settings from a TOML file, a dict, or only the environment and defaults."""
    try:
        if source is None:
            data: dict[str, Any] = {}
        elif isinstance(source, Path):
            data = tomllib.loads(source.read_text("utf-8"))
        else:
            data = source
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read registry settings {source}: {exc}") from exc
    try:
        return RegistryServiceSettings(**data)
    except ValidationError as exc:
        raise ConfigError(f"invalid registry settings: {_problems(exc)}") from exc


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )


def load_settings(source: Path | dict[str, Any]) -> NodeSettings:
    """Read settings from a TOML file (or an already-parsed dict); raise ConfigError on errors."""
    try:
        data = tomllib.loads(source.read_text("utf-8")) if isinstance(source, Path) else source
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read settings {source}: {exc}") from exc
    try:
        return NodeSettings(**data)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {_problems(exc)}") from exc
