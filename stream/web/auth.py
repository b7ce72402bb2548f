"""Who is calling the HTTP API: bearer tokens that map to one tenant or to admin.

Tokens are kept as SHA-256 digests in a YAML file (``COSTREAM_API_TOKENS_FILE``), so the
file never holds a usable secret; ``costream token new`` makes a token and its entry.
Without a tokens file the API is open only while it listens on a loopback address (the
embedded default); listening anywhere else without tokens, every data path answers 401.
"""

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from stream.ingest.errors import describe_validation_error

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class TokenEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    sha256: Sha256Hex
    tenant: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    admin: bool = False

    @model_validator(mode="after")
    def _one_role(self) -> Self:
        if (self.tenant is None) == (not self.admin):
            raise ValueError("give either 'tenant: <id>' or 'admin: true'")
        return self


class TokensFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: list[TokenEntry] = Field(default_factory=list)


class TokensFileError(ValueError):
    """The tokens file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    tenant: str | None
    """The one tenant this caller may see; None for admin."""

    @property
    def admin(self) -> bool:
        return self.tenant is None


LOCAL_ADMIN = Principal("local", None)


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "cst_" + secrets.token_urlsafe(32)


def load_tokens(path: Path) -> dict[str, Principal]:
    """digest -> principal."""
    try:
        document = yaml.safe_load(path.read_text("utf-8")) or {}
        parsed = TokensFile.model_validate(document)
    except (OSError, yaml.YAMLError) as exc:
        raise TokensFileError(f"cannot read API tokens from {path}: {exc}") from None
    except ValidationError as exc:
        raise TokensFileError(f"{path}: {describe_validation_error(exc)}") from None
    names = [entry.name for entry in parsed.tokens]
    if len(set(names)) != len(names):
        raise TokensFileError(f"{path}: token names must be unique")
    return {entry.sha256: Principal(entry.name, entry.tenant) for entry in parsed.tokens}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Authenticator:
    def __init__(self, tokens: dict[str, Principal] | None, open_locally: bool) -> None:
        self.tokens = tokens
        self.open_locally = open_locally

    def principal(self, authorization: str | None) -> Principal:
        if self.tokens is None:
            if self.open_locally:
                return LOCAL_ADMIN
            raise AuthError(401, "no API tokens are configured: set COSTREAM_API_TOKENS_FILE (see costream token new)")
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "missing bearer token: send 'Authorization: Bearer <token>'")
        wanted = digest(token.strip())
        for known, principal in self.tokens.items():
            if hmac.compare_digest(known, wanted):
                return principal
        raise AuthError(401, "unknown token")
