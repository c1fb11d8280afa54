from __future__ import annotations

import os
import subprocess
import sys

from cryptography.fernet import Fernet


def _clean_environment() -> dict[str, str]:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; production never has it.
    return {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}


def test_check_deploy_passes_when_configured_for_production(tmp_path):
    env = {
        **_clean_environment(),
        "ANJU_DEBUG": "0",
        "ANJU_SECRET_KEY": "x" * 30 + "production-secret-with-enough-entropy-1234567890",
        "ANJU_DATA_KEY": Fernet.generate_key().decode(),
        "ANJU_ALLOWED_HOSTS": "anju.example.org",
        "ANJU_SSL_REDIRECT": "1",
        "ANJU_HSTS_SECONDS": "31536000",
        "ANJU_HSTS_INCLUDE_SUBDOMAINS": "1",
        "ANJU_HSTS_PRELOAD": "1",
        "ANJU_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "anju.manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_with_debug_on(tmp_path):
    env = {**_clean_environment(), "ANJU_DEBUG": "1", "ANJU_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "anju.manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
