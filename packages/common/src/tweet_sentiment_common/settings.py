"""The settings layer of every program (producer, job, setup-es, the operator CLI).

Each program declares one frozen pydantic-settings model on `EnvSettings`: every field is
the environment variable of the same name in upper case (or its `alias`). `Model.load()`
reads `os.environ` (or a given mapping), and turns every validation problem into ONE
error type, `SettingsError`, whose message starts with the variable's name; the console
scripts exit 2 on it.

Secrets are `SecretStr` (URLs that may carry `user:password@` included), read inline or
from a `<NAME>_FILE` (how Kubernetes mounts them). No error message ever shows the value
of a secret field, and `redact_url` strips userinfo from anything a log line shows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

S = TypeVar("S", bound="EnvSettings")


class SettingsError(ValueError):
    """Invalid configuration. `variable` is the (first) environment variable at fault and
    the message starts with it: `KAFKA_TOPIC: must be 1-249 characters of [A-Za-z0-9._-]`."""

    def __init__(self, variable: str, message: str, more: Iterable[tuple[str, str]] = ()) -> None:
        problems = [(variable, message), *more]
        super().__init__("; ".join(f"{var}: {msg}" for var, msg in problems))
        self.variable = variable
        self.problems = problems


# --- reading the environment ----------------------------------------------------------

_ENV: ContextVar[Mapping[str, str] | None] = ContextVar("tweet_sentiment_env", default=None)


class _EnvSource(EnvSettingsSource):
    """os.environ, or the mapping `load(env=...)` was given (tests, the chart drift check)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        env = _ENV.get()
        if env is None:
            return super()._load_env_vars()
        return parse_env_vars(env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class EnvSettings(BaseSettings):
    """Base of every program's settings: frozen, env only (no .env files), empty = unset
    (Kubernetes renders optional values as empty strings)."""

    model_config = SettingsConfigDict(
        case_sensitive=False, env_ignore_empty=True, extra="ignore", frozen=True, populate_by_name=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _EnvSource(settings_cls))

    @classmethod
    def load(cls: type[S], env: Mapping[str, str] | None = None, **values: Any) -> S:
        """Settings from `env` (default: os.environ) with `values` (field names) on top,
        or SettingsError naming every bad variable. Never shows a secret's value."""
        token = _ENV.set(env)
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = [describe_error(cls, e) for e in exc.errors()]
            raise SettingsError(*problems[0], more=problems[1:]) from None
        finally:
            _ENV.reset(token)

    @classmethod
    def env_name(cls, field: str) -> str:
        info = cls.model_fields[field]
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        return (alias or field).upper()

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """field name -> environment variable, for every setting."""
        return {field: cls.env_name(field) for field in cls.model_fields}

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        """Fields that can hold a credential: the SecretStr ones."""
        return frozenset(f for f, info in cls.model_fields.items() if _mentions(info.annotation, SecretStr))

    def redacted(self) -> dict[str, Any]:
        """For the start-up log line: secrets masked (SecretStr dumps as '**********') and
        URLs without their userinfo, query or fragment."""
        out = self.model_dump(mode="json")
        for key, value in out.items():
            if isinstance(value, str) and "://" in value:
                out[key] = ",".join(redact_url(u) for u in split_urls(value))
        return out

    @classmethod
    def choices(cls, field: str) -> tuple[str, ...]:
        """The allowed values of a Literal (or Enum) field, e.g. for the chart's schema."""
        return _literal_values(cls.model_fields[field].annotation)


def _mentions(annotation: Any, target: type) -> bool:
    if annotation is target:
        return True
    return any(_mentions(arg, target) for arg in get_args(annotation))


def _literal_values(annotation: Any) -> tuple[str, ...]:
    origin = get_origin(annotation)
    if origin is Literal:
        return tuple(str(a) for a in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return tuple(str(m.value) for m in annotation)
    for arg in get_args(annotation):
        if arg is type(None):
            continue
        found = _literal_values(arg)
        if found:
            return found
    return ()


def describe_error(cls: type[EnvSettings], error: Any) -> tuple[str, str]:
    """(VARIABLE, message) of one pydantic error; the input is shown only for non-secrets."""
    loc = error.get("loc") or ()
    msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    name = str(loc[0]) if loc else ""
    by_env = {env.lower(): f for f, env in cls.env_names().items()}
    field = name if name in cls.model_fields else by_env.get(name.lower(), "")
    if field:
        var = cls.env_name(field)
        if error.get("type") == "missing":
            return var, "is required"
        if field in cls.secret_fields() or field.endswith("_file"):
            return var, msg
        shown = repr(error.get("input"))
        if len(shown) > 120:
            shown = shown[:117] + "..."
        return var, f"{msg} (got {shown})"
    # Model-level checks start with the variable's name: "KAFKA_DLQ_TOPIC: must differ ...".
    var, sep, rest = msg.partition(": ")
    if sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", var):
        return var, rest
    return "SETTINGS", msg


# --- shared validators and field types ------------------------------------------------

# Kafka's own rule for topic names.
_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def _topic(value: str) -> str:
    if not _TOPIC_RE.match(value) or value in {".", ".."}:
        raise ValueError("must be 1-249 characters of [A-Za-z0-9._-]")
    return value


def _host_ports(value: str) -> str:
    servers = [s.strip() for s in value.split(",") if s.strip()]
    if not servers:
        raise ValueError("must list at least one host:port")
    for server in servers:
        host, sep, port = server.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{server!r} is not host:port")
    return ",".join(servers)


def _readable_file(value: Path) -> Path:
    if not value.is_file() or not os.access(value, os.R_OK):
        raise ValueError(f"{value} is not a readable file")
    return value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def lower_stripped(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def redact_url(url: str) -> str:
    """The URL without `user:password@` (and without query and fragment, which can hold
    tokens): safe for a log line, an error message or a metric label."""
    parts = urlsplit(url.strip())
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def split_urls(value: str) -> list[str]:
    return [u.strip() for u in value.split(",") if u.strip()]


def _http_urls(value: SecretStr) -> SecretStr:
    urls = split_urls(value.get_secret_value())
    if not urls:
        raise ValueError("must name at least one http(s):// URL")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", url):
            raise ValueError(f"{redact_url(url)!r} is not an http(s):// URL")
    return SecretStr(",".join(urls))


TopicName = Annotated[str, AfterValidator(_topic)]
HostPortList = Annotated[str, AfterValidator(_host_ports)]
ReadableFile = Annotated[Path, AfterValidator(_readable_file)]
# Comma-separated http(s) URLs that may carry `user:password@`: a secret as a whole.
SecretHttpUrls = Annotated[SecretStr, AfterValidator(_http_urls)]
LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)]
SecurityProtocol = Annotated[
    Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"], BeforeValidator(_upper)
]
SaslMechanism = Annotated[Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"], BeforeValidator(_upper)]


def read_secret_file(path: Path | str, var: str) -> SecretStr:
    """The stripped content of a mounted secret file; ValueError naming `var` otherwise."""
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{var}: cannot read {path}: {exc.strerror}") from None
    if not value:
        raise ValueError(f"{var}: {path} is empty")
    return SecretStr(value)


def resolve_secret_files(data: Any, pairs: Mapping[str, str]) -> Any:
    """For a `mode="before"` model validator: `<field>_file` (a path) wins over `<field>`.

    `pairs` maps the secret field to its file field; the file's variable names the error."""
    if not isinstance(data, dict):
        return data
    for secret, file_field in pairs.items():
        path = data.get(file_field)
        if path:
            data[secret] = read_secret_file(path, file_field.upper())
    return data


# --- Kafka client settings, shared by the producer and the job ------------------------

SASL_JAAS_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def check_sasl(protocol: str, username: str | None, password: SecretStr | None) -> None:
    """SASL_* protocols need a user and a password; the error names the missing one."""
    if not protocol.startswith("SASL_"):
        return
    if not username:
        raise ValueError(
            f"KAFKA_SASL_USERNAME: KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME "
            "and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)"
        )
    if password is None or not password.get_secret_value():
        raise ValueError(
            f"KAFKA_SASL_PASSWORD: KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_PASSWORD "
            "(or KAFKA_SASL_PASSWORD_FILE)"
        )


class KafkaClientSettings(EnvSettings):
    """The Kafka connection settings both programs take, with the same names and rules."""

    kafka_bootstrap_servers: HostPortList = Field(
        default="localhost:9092", description="The brokers: a comma-separated `host:port` list."
    )
    kafka_topic: TopicName = Field(
        default="posts",
        description="Topic of the event v1 records: the producer writes it, the job reads it.",
    )
    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT",
        description="How to reach the brokers; the `SASL_*` ones need a user and a password.",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        default="SCRAM-SHA-512", description="SASL mechanism (`SCRAM-SHA-512` is Strimzi's)."
    )
    kafka_sasl_username: str | None = Field(
        default=None, description="SASL user (the Strimzi `KafkaUser` name); required with `SASL_*`."
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="SASL password; required with `SASL_*` (or `KAFKA_SASL_PASSWORD_FILE`)."
    )
    kafka_sasl_password_file: Path | None = Field(
        default=None,
        description="File holding the SASL password (the KafkaUser Secret, mounted); wins over "
        "`KAFKA_SASL_PASSWORD`.",
    )
    kafka_ssl_cafile: ReadableFile | None = Field(
        default=None,
        description="PEM CA bundle to verify the brokers (Strimzi cluster CA `ca.crt`); the job passes it to "
        "Spark as `kafka.ssl.truststore.type=PEM`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _kafka_password_file(cls, data: Any) -> Any:
        return resolve_secret_files(data, {"kafka_sasl_password": "kafka_sasl_password_file"})

    @model_validator(mode="after")
    def _kafka_sasl(self) -> KafkaClientSettings:
        check_sasl(self.kafka_security_protocol, self.kafka_sasl_username, self.kafka_sasl_password)
        return self

    @property
    def bootstrap_servers(self) -> list[str]:
        return self.kafka_bootstrap_servers.split(",")
