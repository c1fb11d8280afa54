"""Device settings, read from Django settings first and the environment second.

================================  ==============================================================
``MQTT_URL``                      ``mqtt://user:password@host:1883``: the broker the ingest
                                  workers and the simulator connect to. Unset in the demo, where
                                  ``anju rundemo`` starts an embedded Mosquitto and sets it.
``ANJU_MQTT_AUTH_DIR``            where anju writes the broker's ``passwd`` and ``acl`` files
                                  (see :mod:`anju.devices.broker`); unset: not managed by anju.
``ANJU_MQTT_BROKER_PIDFILE``      the broker's pid file, for the SIGHUP after a change.
``ANJU_TELEMETRY_RETENTION_DAYS`` raw telemetry kept this many days (default 90); hourly
                                  aggregates are kept for good.
``ANJU_TELEMETRY_MAX_AGE_HOURS``  a message stamped older than this is refused (default 168: a
                                  device may buffer a week offline).
================================  ==============================================================
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings


def _setting(name: str, default: Any = None) -> Any:
    value = getattr(settings, name, None)
    if value in (None, ""):
        value = os.environ.get(name, default)
    return value if value not in ("",) else default


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_mqtt_url(url: str) -> BrokerAddress:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"unsupported MQTT URL scheme {parts.scheme!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerAddress(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def mqtt_url() -> str | None:
    return _setting("MQTT_URL")


def auth_dir() -> Path | None:
    value = _setting("ANJU_MQTT_AUTH_DIR")
    return Path(value) if value else None


def broker_pidfile() -> Path | None:
    value = _setting("ANJU_MQTT_BROKER_PIDFILE")
    return Path(value) if value else None


def retention() -> dt.timedelta:
    return dt.timedelta(days=int(_setting("ANJU_TELEMETRY_RETENTION_DAYS", 90)))


def max_message_age() -> dt.timedelta:
    return dt.timedelta(hours=int(_setting("ANJU_TELEMETRY_MAX_AGE_HOURS", 168)))


def simulator_url() -> str | None:
    """The simulator publishes as a gateway account, not as the ingest workers."""
    return _setting("ANJU_SIMULATOR_MQTT_URL") or mqtt_url()
