"""A private Mosquitto for the demo, the tests and the benchmark.

:class:`LocalMosquitto` runs ``/usr/sbin/mosquitto`` on a free local port with a configuration it
generates into its own directory: no anonymous access, the password and ACL files that
:mod:`anju.devices.broker` maintains, persistence (so persistent sessions survive a broker
restart too) and the queue limits raised so that QoS 1 at thousands of messages a second is
neither dropped nor stalled:

``max_inflight_messages``   QoS 1 messages sent to one client and not yet acknowledged. The
                            default (20) caps a worker that acknowledges per batch at 20 messages
                            per round trip; anju's workers acknowledge after each commit, so the
                            window must hold a batch or more.
``max_queued_messages``     messages queued per client beyond the in-flight window (default
                            1000, then *dropped*): a worker restarting for a few seconds at
                            5,000 msg/s needs tens of thousands. ``max_queued_bytes`` bounds the
                            memory instead.
``set_tcp_nodelay``         send small PUBACKs and PUBLISHes at once instead of coalescing.

It also creates two service accounts in the static parts of the auth files: ``anju-ingest``
(reads everything under ``anju/``, including through shared subscriptions) and ``anju-gateway``
(publishes for any device: the simulator and the benchmark's load generator, standing in for a
site gateway that relays many field devices over one connection).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from anju.devices.broker import mosquitto_password_hash, write_auth_files

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

TUNING = {
    "max_inflight_messages": "5000",
    "max_queued_messages": "1000000",
    "max_queued_bytes": "1073741824",
    "set_tcp_nodelay": "true",
    "max_keepalive": "120",
    "persistent_client_expiration": "7d",
    "autosave_interval": "300",
}


def mosquitto_available() -> bool:
    return os.path.exists(MOSQUITTO) and os.access(MOSQUITTO, os.X_OK)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ServiceAccount:
    username: str
    password: str

    def url(self, port: int) -> str:
        return f"mqtt://{self.username}:{self.password}@127.0.0.1:{port}"


class LocalMosquitto:
    def __init__(self, directory: Path, *, port: int | None = None, tuning: dict[str, str] | None = None) -> None:
        self.directory = Path(directory)
        self.port = port or free_port()
        self.tuning = {**TUNING, **(tuning or {})}
        self.ingest = ServiceAccount("anju-ingest", secrets.token_urlsafe(16))
        self.gateway = ServiceAccount("anju-gateway", secrets.token_urlsafe(16))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pidfile(self) -> Path:
        return self.directory / "mosquitto.pid"

    @property
    def ingest_url(self) -> str:
        return self.ingest.url(self.port)

    @property
    def gateway_url(self) -> str:
        return self.gateway.url(self.port)

    def write_config(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "data").mkdir(exist_ok=True)
        static_passwd = "".join(
            f"{account.username}:{mosquitto_password_hash(account.password)}\n"
            for account in (self.ingest, self.gateway)
        )
        (self.directory / "passwd.static").write_text(static_passwd)
        (self.directory / "acl.static").write_text(
            f"user {self.ingest.username}\ntopic read anju/#\n\nuser {self.gateway.username}\ntopic readwrite anju/#\n"
        )
        write_auth_files(self.directory)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {self.directory / 'passwd'}",
            f"acl_file {self.directory / 'acl'}",
            "persistence true",
            f"persistence_location {self.directory / 'data'}/",
            f"log_dest file {self.directory / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            *(f"{key} {value}" for key, value in self.tuning.items()),
        ]
        if os.geteuid() == 0:
            # Started as root, Mosquitto switches to the "mosquitto" user, which cannot read files in a
            # private temporary directory; this broker is a child of ours and runs as we do.
            lines.append("user root")
        config = self.directory / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self, *, timeout: float = 10.0) -> LocalMosquitto:
        config = self.write_config()
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.pidfile.write_text(str(self.process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"mosquitto exited: {error}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def reload(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
