"""An agent's home directory: its HPKE key, its configuration and the households it serves.

::

    HOME/agent.json            broker, topic prefix, mode (device or delegate)
    HOME/agent-key.pem         the agent's X25519 key (0600): meters seal openings to it
    HOME/agent.pub             its public half, for the meters
    HOME/households/ACCOUNT/store.sqlite   one store per household (0600, directory 0700)

On a customer's own device or home server the home serves one household; an on-line delegate
serves many, each in its own store: nothing of one household is in another's file, and a
household moves by :func:`export_household` (its store, HPKE-sealed to the receiving agent's
key) and :func:`import_household`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from privbill.crypto.hashing import digest
from privbill.errors import DecodeError, StoreError, UsageError
from privbill.files import read_bytes, write_atomic
from privbill.household import hpke
from privbill.household.store import HouseholdStore
from privbill.model import codec
from privbill.model.ids import is_identifier

CONFIG_FILE: Final = "agent.json"
KEY_FILE: Final = "agent-key.pem"
PUB_FILE: Final = "agent.pub"
STORE_FILE: Final = "store.sqlite"
EXPORT_FORMAT: Final = "privbill/household-export/1"
EXPORT_INNER: Final = "privbill/household-store/1"


@dataclass
class AgentConfig:
    broker: str = "127.0.0.1:1883"
    prefix: str = "privbill/v1"
    mode: str = "device"  # device (one household) or delegate (many)

    def to_json(self) -> str:
        return json.dumps(
            {"broker": self.broker, "prefix": self.prefix, "mode": self.mode}, indent=2
        )

    @classmethod
    def from_json(cls, text: str) -> AgentConfig:
        try:
            d = json.loads(text)
            cfg = cls(str(d["broker"]), str(d["prefix"]), str(d["mode"]))
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"{CONFIG_FILE} is damaged", obj="agent configuration") from None
        if cfg.mode not in ("device", "delegate"):
            raise UsageError(
                f"mode {cfg.mode!r}: device or delegate", obj="agent configuration", field="mode"
            )
        return cfg


class AgentHome:
    def __init__(self, path: Path) -> None:
        self.path = path

    # --- creation ------------------------------------------------------------------------------

    @classmethod
    def init(cls, path: Path, config: AgentConfig) -> AgentHome:
        if (path / CONFIG_FILE).exists():
            raise UsageError(f"{path} is an agent home already", obj="agent home")
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        key = hpke.generate()
        hpke.save_private(key, path / KEY_FILE)
        hpke.save_public(key.public_key(), path / PUB_FILE)
        write_atomic(path / CONFIG_FILE, config.to_json().encode())
        (path / "households").mkdir(mode=0o700, exist_ok=True)
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> AgentHome:
        if not (path / CONFIG_FILE).is_file():
            raise UsageError(
                f"{path}: no such agent home (make one with `privbill agent init --home {path}`)",
                obj="agent home",
            )
        return cls(path)

    @property
    def config(self) -> AgentConfig:
        return AgentConfig.from_json(
            read_bytes(self.path / CONFIG_FILE, "agent configuration").decode()
        )

    def key(self) -> X25519PrivateKey:
        return hpke.load_private(self.path / KEY_FILE)

    def public_key(self) -> X25519PublicKey:
        return self.key().public_key()

    # --- households ----------------------------------------------------------------------------

    def store_path(self, account: str) -> Path:
        if not is_identifier(account):
            raise UsageError(f"account {account!r} is not an identifier", obj="account")
        return self.path / "households" / account / STORE_FILE

    def accounts(self) -> list[str]:
        base = self.path / "households"
        if not base.is_dir():
            return []
        return sorted(p.parent.name for p in base.glob(f"*/{STORE_FILE}"))

    def new_store(self, account: str, meta: dict[str, Any]) -> HouseholdStore:
        if self.config.mode == "device" and self.accounts():
            raise UsageError(
                f"{self.path} serves household {self.accounts()[0]} already; a home of mode "
                "'device' serves one (use --delegate for many)",
                obj="agent home",
            )
        p = self.store_path(account)
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return HouseholdStore.create(p, account, meta)

    def open_store(self, account: str) -> HouseholdStore:
        return HouseholdStore.open(self.store_path(account))

    def account_of(self, account: str | None) -> str:
        """The household meant: ``account``, or the only one."""
        accounts = self.accounts()
        if account is not None:
            if account not in accounts:
                raise UsageError(f"{self.path} holds no household {account!r}", obj="agent home")
            return account
        if len(accounts) != 1:
            raise UsageError(
                f"{self.path} holds {len(accounts)} households: name one with --account",
                obj="agent home",
            )
        return accounts[0]


# --- moving a household ------------------------------------------------------------------------------


def export_household(home: AgentHome, account: str, recipient: X25519PublicKey) -> bytes:
    """The household's whole store, sealed to ``recipient`` (another agent's key, or the
    customer's own device). The store is marked as exported: this agent stops billing it."""
    store = home.open_store(account)
    try:
        store.set_meta("exported_to", hpke.raw_public(recipient).hex())
        image = store.db.serialize()
    finally:
        store.close()
    inner = codec.encode({"format": EXPORT_INNER, "account": account, "store": bytes(image)})
    raw = hpke.raw_public(recipient)
    sealed = hpke.seal(inner, recipient, hpke.export_info(account, raw))
    return codec.encode(
        {
            "format": EXPORT_FORMAT,
            "account": account,
            "recipient": digest("agent-key-id", raw),
            "sealed": sealed,
        }
    )


def import_household(home: AgentHome, data: bytes) -> str:
    """Open an export sealed to this home's key and install it as a household store."""
    f = codec.Fields(
        codec.decode(data, "household export", EXPORT_FORMAT),
        "household export",
        {"format", "account", "recipient", "sealed"},
    )
    account = f.text("account", 64, is_identifier)
    key = home.key()
    raw = hpke.raw_public(key.public_key())
    if f.octets("recipient", 32) != digest("agent-key-id", raw):
        raise UsageError(
            "this export is sealed to another agent's key, not this home's",
            obj="household export",
            field="recipient",
        )
    try:
        inner = hpke.open_(f.octets("sealed"), key, hpke.export_info(account, raw))
    except hpke.DecryptError:
        raise DecodeError(
            "the export does not decrypt (damaged)", obj="household export", field="sealed"
        ) from None
    g = codec.Fields(
        codec.decode(inner, "household export", EXPORT_INNER),
        "household export",
        {"format", "account", "store"},
    )
    if g.text("account", 64, is_identifier) != account:
        raise DecodeError(
            "the sealed store is of another account", obj="household export", field="account"
        )
    image = bytearray(g.octets("store"))
    if len(image) < 100 or image[:16] != b"SQLite format 3\x00":
        raise DecodeError(
            "the sealed store is not an SQLite database", obj="household export", field="store"
        )
    image[18:20] = b"\x01\x01"  # the image was taken in WAL mode; opened from memory it is not
    path = home.store_path(account)
    if path.exists():
        raise StoreError(f"{path} exists: this home has household {account} already", obj="store")
    if home.config.mode == "device" and home.accounts():
        raise UsageError(f"{home.path} serves a household already (mode device)", obj="agent home")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    old = os.umask(0o077)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        db = sqlite3.connect(path)
        try:
            mem = sqlite3.connect(":memory:")
            mem.deserialize(bytes(image))
            mem.backup(db)
            mem.close()
        finally:
            db.close()
    finally:
        os.umask(old)
    store = HouseholdStore.open(path)
    try:
        if store.account != account:
            raise StoreError("the imported store is of another account", obj="store")
        store.set_meta("exported_to", None)
    finally:
        store.close()
    return account
