"""Provisioning device credentials and topic ACLs into Mosquitto.

anju owns two files in ``ANJU_MQTT_AUTH_DIR`` that the broker's configuration points at::

    password_file  <dir>/passwd
    acl_file       <dir>/acl

Each is written as the operator's static part (``passwd.static``, ``acl.static``: the ingest
workers' and any gateway's accounts, which anju never sees in plain text) followed by one entry per
active device: its MQTT user name (``<community code>.<device code>``) with the password hash anju
stored when it issued the credentials, and an ACL block allowing that user to publish only under
``anju/<community>/<device>/`` and to read only its own ``command`` topics. Files are replaced
atomically (write, fsync, rename) and the broker is told to reload them with SIGHUP through the pid
in ``ANJU_MQTT_BROKER_PIDFILE``. Mosquitto re-reads both files on SIGHUP without dropping
connections; a device whose credentials were rotated is refused at its next connect.

The password hash is Mosquitto's own ``$7$`` format (PBKDF2-HMAC-SHA512, 101 iterations, 12-byte
salt, both base64): computing it here saves a ``mosquitto_passwd`` process per device, and the
test suite checks that a real broker accepts it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from anju.core.periodic import background
from anju.core.tenancy import scopes_disabled
from anju.devices import conf

logger = logging.getLogger(__name__)

MOSQUITTO_ITERATIONS = 101
MOSQUITTO_SALT_BYTES = 12


def mosquitto_password_hash(password: str, *, salt: bytes | None = None) -> str:
    """``$7$101$<salt>$<hash>`` as ``mosquitto_passwd`` writes it."""
    salt = salt if salt is not None else secrets.token_bytes(MOSQUITTO_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, MOSQUITTO_ITERATIONS)
    return f"$7${MOSQUITTO_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def device_topic_root(community_code: str, device_code: str) -> str:
    return f"anju/{community_code}/{device_code}"


@dataclass(frozen=True)
class DeviceAccount:
    username: str
    password_hash: str
    community_code: str
    device_code: str


def device_accounts() -> list[DeviceAccount]:
    from anju.devices.models import Device

    with scopes_disabled():
        rows = (
            Device.objects.filter(retired_at__isnull=True)
            .exclude(mqtt_password_hash="")
            .order_by("community_id", "code")
            .values_list("mqtt_username", "mqtt_password_hash", "community__code", "code")
        )
        return [DeviceAccount(*row) for row in rows]


def render_password_file(accounts: list[DeviceAccount], static: str = "") -> str:
    lines = [static.rstrip("\n")] if static.strip() else []
    lines += [f"{account.username}:{account.password_hash}" for account in accounts]
    return "\n".join(lines) + "\n"


def render_acl_file(accounts: list[DeviceAccount], static: str = "") -> str:
    """The static part first (Mosquitto reads ``topic`` lines before any ``user`` line as the rules
    for anonymous clients), then one block per device."""
    blocks = [static.rstrip("\n")] if static.strip() else []
    for account in accounts:
        root = device_topic_root(account.community_code, account.device_code)
        blocks.append(f"user {account.username}\ntopic write {root}/#\ntopic read {root}/command/#")
    return "\n\n".join(blocks) + "\n"


def _replace(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o640)
    os.replace(temporary, path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def reload_broker(pidfile: Path | None) -> bool:
    """SIGHUP the broker whose pid is in ``pidfile``; False when there is none to signal."""
    if pidfile is None:
        return False
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError):
        logger.warning("could not signal the MQTT broker through %s", pidfile)
        return False
    return True


_sync_lock = threading.Lock()
_deferred = threading.local()


def write_auth_files(directory: Path) -> int:
    """Write ``passwd`` and ``acl`` into ``directory``; returns the number of device accounts."""
    accounts = device_accounts()
    directory.mkdir(parents=True, exist_ok=True)
    with _sync_lock:
        _replace(directory / "passwd", render_password_file(accounts, _read(directory / "passwd.static")))
        _replace(directory / "acl", render_acl_file(accounts, _read(directory / "acl.static")))
    return len(accounts)


@background
def sync_broker_auth() -> int:
    """Bring the broker's password and ACL files up to date and reload it. A no-op (returning -1)
    when this installation does not manage a Mosquitto (``ANJU_MQTT_AUTH_DIR`` unset)."""
    if getattr(_deferred, "depth", 0):
        _deferred.pending = True
        return -1
    directory = conf.auth_dir()
    if directory is None:
        return -1
    count = write_auth_files(directory)
    reload_broker(conf.broker_pidfile())
    return count


@contextmanager
def deferred_broker_sync() -> Iterator[None]:
    """Provision many devices with one file rewrite at the end instead of one per device."""
    _deferred.depth = getattr(_deferred, "depth", 0) + 1
    try:
        yield
    finally:
        _deferred.depth -= 1
        if _deferred.depth == 0 and getattr(_deferred, "pending", False):
            _deferred.pending = False
            sync_broker_auth()
