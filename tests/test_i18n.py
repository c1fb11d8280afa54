"""Chinese is the default language: every user-visible string must have its translation.

These tests need GNU gettext (``msgfmt``, ``xgettext``): they skip without it locally and run in CI,
which installs it.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "anju"
PO = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# The shared catalogue above, plus one per app that keeps its own (src/anju/<app>/locale/...):
# makemessages run at the package root files each string into the nearest app's catalogue.
CATALOGUES = sorted(PACKAGE.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"))


def _need_gettext() -> None:
    if shutil.which("msgfmt") and shutil.which("xgettext"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("GNU gettext is required in CI (apt-get install gettext)")
    pytest.skip("GNU gettext is not installed")


def _statistics(po: Path) -> tuple[int, int, int]:
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", os.devnull, str(po)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stderr
    counts = {kind: 0 for kind in ("translated", "fuzzy", "untranslated")}
    for number, kind in re.findall(r"(\d+) (translated|fuzzy|untranslated)", result.stderr):
        counts[kind] = int(number)
    return counts["translated"], counts["fuzzy"], counts["untranslated"]


def test_catalogue_is_complete_and_checks():
    _need_gettext()
    translated, _, _ = _statistics(PO)
    assert translated > 100
    for po in CATALOGUES:
        _, fuzzy, untranslated = _statistics(po)
        assert (fuzzy, untranslated) == (0, 0), po


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_compiled_catalogue_matches_the_source(tmp_path, po):
    _need_gettext()
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(po)], check=True)
    with po.with_suffix(".mo").open("rb") as committed, fresh.open("rb") as compiled:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(compiled)._catalog, (
            f"{po.with_suffix('.mo')} is stale: run `make messages`"
        )


def test_every_string_in_the_code_is_in_the_catalogue(tmp_path):
    """Extract the strings afresh from a copy of the source; nothing may come out untranslated."""
    _need_gettext()
    copy = tmp_path / "anju"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "static"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "anju.settings"},
    )
    for po in sorted(copy.glob("**/locale/zh_Hans/LC_MESSAGES/django.po")):
        _, fuzzy, untranslated = _statistics(po)
        assert (fuzzy, untranslated) == (0, 0), f"{po}: new strings lack a Chinese translation: run `make messages`"


@pytest.mark.django_db
def test_login_page_speaks_chinese_by_default_and_english_on_request():
    client = Client()
    chinese = client.get("/login/").content.decode()
    assert "手机号" in chinese
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    english = client.get("/login/").content.decode()
    assert "mobile" in english.lower() and "手机号" not in english


def test_domain_messages_are_translated():
    from anju.core.errors import NotFound

    with translation.override("zh-hans"):
        assert re.search(r"[\u4e00-\u9fff]", str(NotFound().message))
