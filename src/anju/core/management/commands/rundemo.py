"""``anju rundemo``: serve the demo on 127.0.0.1, with its background work, until Ctrl-C.

The web server is Django's development server without the autoreloader (one process, so Ctrl-C
and SIGTERM stop everything at once) and with static files served even when DEBUG is off.
Background work runs beside it through :data:`BACKGROUND_JOBS`: each entry is a management command
that, when some app provides it, is run again every ``interval`` seconds in its own process, so a slow
or crashing sweep never takes the web server down. Today no app provides ``runperiodic`` yet; when
one does, the demo picks it up with no change here.

Devices: when ``MQTT_URL`` is unset and Mosquitto is installed, an embedded broker is started on a
free local port (configuration, password and ACL files under ``ANJU_DATA_DIR/mqtt``, see
:class:`anju.devices.embedded.LocalMosquitto`), and the same MQTT path as in production runs
beside the web server: ``anju ingest`` consumes, ``anju simulate`` publishes the demo's lifts,
pumps, meters and cameras. With ``MQTT_URL`` set, the demo uses that broker instead.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from anju.core.demo import demo_present, format_logins


@dataclass(frozen=True)
class BackgroundJob:
    command: str
    interval: float  # seconds between the end of one run and the start of the next


BACKGROUND_JOBS = (BackgroundJob("runperiodic", 60.0),)
# Long-running device processes: restarted after a pause should they exit.
DEVICE_JOBS = (BackgroundJob("ingest", 5.0), BackgroundJob("simulate", 5.0))


def start_device_broker(log: Any) -> Any:
    """The embedded Mosquitto when no broker is configured; sets the environment the web server and
    the device processes read (broker URLs, the auth directory, the pid file). None when the demo
    must run without live devices."""
    import os

    from django.conf import settings

    from anju.devices import conf
    from anju.devices.embedded import LocalMosquitto, mosquitto_available

    if conf.mqtt_url():
        return None
    if not mosquitto_available():
        log(_("Mosquitto is not installed: devices will not be live (apt install mosquitto)."))
        return None
    broker = LocalMosquitto(Path(settings.DATA_DIR) / "mqtt").start()
    os.environ["MQTT_URL"] = broker.ingest_url
    os.environ["ANJU_SIMULATOR_MQTT_URL"] = broker.gateway_url
    os.environ["ANJU_MQTT_AUTH_DIR"] = str(broker.directory)
    os.environ["ANJU_MQTT_BROKER_PIDFILE"] = str(broker.pidfile)
    log(_("Embedded MQTT broker on 127.0.0.1:%(port)s") % {"port": broker.port})
    return broker


class BackgroundRunner:
    """Runs the available background commands in a loop, each in a child process, until stopped."""

    def __init__(self, jobs: tuple[BackgroundJob, ...], log: Any) -> None:
        available = get_commands()
        self.jobs = [job for job in jobs if job.command in available]
        self.log = log
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.children: set[subprocess.Popen[bytes]] = set()
        self.lock = threading.Lock()

    def start(self) -> None:
        for job in self.jobs:
            thread = threading.Thread(target=self._loop, args=(job,), name=f"demo-{job.command}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def _loop(self, job: BackgroundJob) -> None:
        while not self.stopping.is_set():
            child = subprocess.Popen([sys.executable, "-m", "anju.manage", job.command])
            with self.lock:
                self.children.add(child)
            child.wait()
            with self.lock:
                self.children.discard(child)
            if child.returncode not in (0, None) and not self.stopping.is_set():
                message = _("Background job %(job)s exited with %(code)s.")
                self.log(message % {"job": job.command, "code": child.returncode})
            self.stopping.wait(job.interval)

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            children = list(self.children)
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _configured_broker() -> bool:
    from anju.devices import conf

    return bool(conf.mqtt_url())


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM behaves like Ctrl-C, which the development server turns into a clean exit."""
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Serve the demo at http://127.0.0.1:8000 with its background work; Ctrl-C stops it."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args: Any, port: int, host: str, **options: Any) -> None:
        url = f"http://{host}:{port}/"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(_("anju demo: open %(url)s") % {"url": url}))
        if demo_present():
            self.stdout.write(format_logins())
        else:
            self.stdout.write(_("No demo data yet: run “anju seed_demo --size medium” first (make run does)."))
        broker = start_device_broker(self.stdout.write) if demo_present() else None
        jobs = BACKGROUND_JOBS + (DEVICE_JOBS if broker is not None or _configured_broker() else ())
        background = BackgroundRunner(jobs, self.stdout.write)
        if background.jobs:
            names = ", ".join(job.command for job in background.jobs)
            self.stdout.write(_("Background work: %(jobs)s") % {"jobs": names})
        else:
            self.stdout.write(_("Background work: none provided yet."))
        self.stdout.write(_("Press Ctrl-C to stop."))
        self.stdout.write("")
        signal.signal(signal.SIGTERM, _interrupt)
        background.start()
        try:
            call_command(
                "runserver",
                f"{host}:{port}",
                use_reloader=False,
                insecure_serving=True,
                skip_checks=True,
            )
        except KeyboardInterrupt:
            pass
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                raise
        finally:
            background.stop()
            if broker is not None:
                broker.stop()
        self.stdout.write(_("anju demo stopped."))
