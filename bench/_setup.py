"""Start-up shared by the benchmarks that build their own data in a fresh database.

Each benchmark stays runnable on its own (``python bench/<name>.py``); Python puts ``bench/`` first
on ``sys.path`` for that, which is how they import this module.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def fresh_postgres(name: str) -> str:
    """Drop and create database ``name`` on the local PostgreSQL; its URL."""
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", HOST, "-U", "postgres", "-qc", sql], check=True, capture_output=True)
    return f"postgres://postgres@{HOST}:5432/{name}"


def start_django(*, database: str, sqlite: bool, prefix: str) -> None:
    """Point anju at a fresh database (a temporary SQLite file, or PostgreSQL database ``database``
    dropped and created), set Django up and migrate. ``MQTT_URL`` is cleared so nothing publishes to
    a broker the benchmark did not start."""
    data_dir = tempfile.mkdtemp(prefix=prefix)
    if sqlite:
        os.environ.pop("DATABASE_URL", None)
        os.environ["ANJU_DATA_DIR"] = data_dir
    else:
        os.environ["DATABASE_URL"] = fresh_postgres(database)
        os.environ.setdefault("ANJU_DATA_DIR", data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings")
    os.environ.pop("MQTT_URL", None)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
