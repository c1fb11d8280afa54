"""``anju ingest``: consume device messages from MQTT into the database (see :mod:`anju.devices.worker`)."""

from __future__ import annotations

import signal
import socket
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from anju.devices import conf
from anju.devices.worker import IngestWorker


class Command(BaseCommand):
    help = "Consume device telemetry, events and status from MQTT (QoS 1, persistent session, shared subscription)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default=None, help="mqtt://user:password@host:port (default: MQTT_URL)")
        parser.add_argument(
            "--client-id",
            default=None,
            help="Fixed per worker so the broker keeps its session across restarts (default: anju-ingest-<host>-1).",
        )
        parser.add_argument("--group", default="anju", help="Shared-subscription group; empty for a plain one.")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--max-delay", type=float, default=0.2, help="Seconds a message may wait for its batch.")
        parser.add_argument("--report", default=None, help="Append one JSON line per committed batch to this file.")
        parser.add_argument("--stats-every", type=float, default=30.0)

    def log(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"] or conf.mqtt_url()
        if not url:
            raise CommandError("No broker: set MQTT_URL or pass --url.", returncode=2)
        try:
            broker = conf.parse_mqtt_url(url)
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from None
        if options["batch_size"] < 1 or options["max_delay"] <= 0:
            raise CommandError("--batch-size and --max-delay must be positive.", returncode=2)
        worker = IngestWorker(
            broker,
            client_id=options["client_id"] or f"anju-ingest-{socket.gethostname()}-1",
            group=options["group"],
            batch_size=options["batch_size"],
            max_delay=options["max_delay"],
            report_path=Path(options["report"]) if options["report"] else None,
            log=self.log,
        )

        def stop(signum: int, frame: FrameType | None) -> None:
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        worker.run(stats_every=options["stats_every"])
