"""A manager imports a register spreadsheet with one bad row, reads the error, fixes it, imports,
and sees the new building on the property map."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from anju.core.tenancy import community_scope
from anju.core.validators import id_check_character
from anju.estates.models import Home
from tests.personas import PASSWORD, build_world

GOOD_ID = "32010219900307123" + id_check_character("32010219900307123")
BAD_ID = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")


@pytest.fixture
def e2e_world(transactional_db):
    return build_world()


def _workbook(path: Path, id_number: str) -> Path:
    book = openpyxl.Workbook()
    homes = book.active
    homes.title = "房屋"
    homes.append(["楼栋", "单元", "房号", "楼层", "建筑面积", "用途", "状态"])
    for floor in range(1, 5):
        for door in ("01", "02"):
            homes.append(["9", "1", f"{floor}{door}", floor, "89.50", "住宅", "已入住"])
    people = book.create_sheet("住户")
    people.append(["楼栋", "单元", "房号", "姓名", "手机号", "身份证号", "关系", "份额", "起始日期"])
    people.append(["9", "1", "101", "赵敏", "13711112222", "", "业主", "", "2021-05-01"])
    people.append(["9", "1", "102", "钱伟", "13711113333", id_number, "业主", "", "2021-06-01"])
    book.save(path)
    return path


def _log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "manager_x")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**/console/**")


def test_import_with_a_bad_row_then_fixed(page, live_server, e2e_world, tmp_path):
    community = e2e_world.a.community
    _log_in(page, live_server)

    page.goto(f"{live_server.url}/console/c/{community.pk}/import/")
    page.set_input_files("input[name=file]", str(_workbook(tmp_path / "bad.xlsx", BAD_ID)))
    page.locator("button[name=upload]").click()
    page.wait_for_url("**/import/*/")
    error_rows = page.locator("table.import-errors tbody tr")
    assert error_rows.count() == 1
    assert error_rows.first.get_attribute("data-row") == "3"
    assert error_rows.first.get_attribute("data-column") == "身份证号"
    assert page.locator("button[name=commit]").count() == 0
    with community_scope(community.pk):
        assert not Home.objects.filter(building__number="9").exists()

    page.goto(f"{live_server.url}/console/c/{community.pk}/import/")
    page.set_input_files("input[name=file]", str(_workbook(tmp_path / "fixed.xlsx", GOOD_ID)))
    page.locator("button[name=upload]").click()
    page.wait_for_url("**/import/*/")
    assert page.locator("table.import-errors").count() == 0
    page.locator("button[name=commit]").click()
    page.wait_for_selector("[data-import-status=committed]")
    with community_scope(community.pk):
        assert Home.objects.filter(building__number="9").count() == 8

    page.locator("[data-import-status=committed] a.button").first.click()
    page.wait_for_url("**/map/**")
    grid = page.inner_text("main")
    for number in ("101", "202", "401", "402"):
        assert number in grid
