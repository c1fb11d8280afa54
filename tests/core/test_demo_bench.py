"""The benchmark's load generator: it logs in like a browser and counts every non-200 as an error."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.personas import PASSWORD, build_world

_spec = importlib.util.spec_from_file_location(
    "api_load", Path(__file__).resolve().parents[2] / "bench" / "api_load.py"
)
assert _spec is not None and _spec.loader is not None
api_load = importlib.util.module_from_spec(_spec)
sys.modules["api_load"] = api_load  # dataclasses look their module up while the file executes
_spec.loader.exec_module(api_load)


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert api_load.percentile(values, 95) == 95.0
    assert api_load.percentile(values, 99) == 99.0
    assert api_load.percentile([7.0], 99) == 7.0


@pytest.fixture
def server_port(live_server) -> int:
    port = urlsplit(live_server.url).port
    assert port is not None
    return port


def test_resident_logs_in_by_mobile_and_errors_are_counted(transactional_db, server_port):
    build_world()  # resident_a's login mobile is 13900000001
    session = api_load.Session(server_port)
    assert session.log_in("13900000001", PASSWORD)
    result = api_load.Result()
    pages = [("/portal/", "portal"), ("/no-such-page/", "missing")]
    api_load._drive(session, pages, time.monotonic() + 1.0, result, seed=1)
    assert result.ok_by_label["portal"] > 0
    assert result.ok_by_label["missing"] == 0
    assert result.errors["missing: HTTP 404"] > 0
    assert len(result.latencies_ms) == result.ok_by_label["portal"]


def test_wrong_password_is_a_failed_login_and_pages_then_redirect(transactional_db, server_port):
    build_world()
    session = api_load.Session(server_port)
    assert not session.log_in("13900000001", "not-the-password")
    result = api_load.Result()
    api_load._drive(session, [("/portal/", "portal")], time.monotonic() + 0.5, result, seed=2)
    assert not result.latencies_ms
    assert result.errors["portal: HTTP 302"] > 0
