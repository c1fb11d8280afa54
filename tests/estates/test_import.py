"""Spreadsheet import and export of the register: preview, error report, all-or-nothing commit,
idempotent re-import, lossless round trip (xlsx and CSV), encodings, and the export's audit row."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.core.validators import id_check_character
from anju.estates import services as estates
from anju.estates.models import Building, Home, ImportBatch, Unit
from anju.estates.spreadsheets import (
    ImportRefused,
    commit_import_batch,
    export_register,
    import_register,
    preview_file,
    upload_import_batch,
)
from anju.estates.spreadsheets.exporting import register_tables
from anju.residents import services as residents
from anju.residents.models import Occupancy, Person

HOME_HEADER = ["楼栋", "单元", "房号", "楼层", "建筑面积", "用途", "状态"]
PEOPLE_HEADER = ["楼栋", "单元", "房号", "姓名", "手机号", "身份证号", "关系", "份额", "起始日期", "结束日期"]


def id_number(serial: int, birth: str = "19800101") -> str:
    first17 = f"110105{birth}{serial:03d}"
    return first17 + id_check_character(first17)


def workbook(homes: list[list[Any]] | None = None, people: list[list[Any]] | None = None) -> bytes:
    book = Workbook()
    book.remove(book.active)
    if homes is not None:
        sheet = book.create_sheet("房屋")
        sheet.append(HOME_HEADER)
        for row in homes:
            sheet.append(row)
    if people is not None:
        sheet = book.create_sheet("住户")
        sheet.append(PEOPLE_HEADER)
        for row in people:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_file(header: list[str], rows: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


GOOD_HOMES = [
    ["3", "1", "101", 1, 89.5, "住宅", "已入住"],
    ["3", "1", "102", 1, "120.25", "住宅", "已入住"],
    ["3", "2", "1201", 12, 95, "商业", "空置"],
    ["3", "", "B1-01", -1, "12.00", "储藏室", "未售"],
]
GOOD_PEOPLE = [
    ["3", "1", "101", "张伟", "13812345678", id_number(1), "业主", "", "2015-03-01", "2020-06-30"],
    ["3", "1", "101", "李娜", "13912345678", id_number(2), "共有人", 50, dt.date(2020, 7, 1), None],
    ["3", "1", "101", "王芳", "13712345678", "", "共有人", "50", "2020/7/1", ""],
    ["3", "1", "101", "王小明", "", "", "家属", "", "2020-07-01", ""],
    ["3", "1", "102", "李娜", "13912345678", "", "租户", "", "2021-01-01", ""],
]


def counts(community_id: int) -> dict[str, int]:
    with community_scope(community_id):
        return {
            "buildings": Building.objects.count(),
            "units": Unit.objects.count(),
            "homes": Home.objects.count(),
            "people": Person.objects.count(),
            "occupancies": Occupancy.objects.count(),
        }


def register_audit_count(community_id: int) -> int:
    return (
        AuditEntry.objects.filter(community_id=community_id)
        .exclude(action__startswith="import_batch.")
        .exclude(object_type="estates.importbatch")
        .count()
    )


# --- preview and commit ---------------------------------------------------------------------------


def test_preview_writes_nothing_and_counts_what_a_commit_would_do(world):
    community = world.a.community
    before, audit_before = counts(community.pk), AuditEntry.objects.count()
    preview = preview_file(community, "register.xlsx", workbook(GOOD_HOMES, GOOD_PEOPLE))
    assert preview.ok, preview.problems
    assert counts(community.pk) == before
    assert AuditEntry.objects.count() == audit_before
    assert preview.counts["buildings_created"] == 1
    assert preview.counts["units_created"] == 2
    assert preview.counts["homes_created"] == 4
    assert preview.counts["people_created"] == 4  # 李娜 appears twice, as one person
    assert preview.counts["occupancies_added"] == 5
    assert preview.counts["homes_rows"] == 4
    assert preview.counts["people_rows"] == 5


def test_commit_creates_the_register_through_the_services(world):
    community = world.a.community
    manager = world.user("manager_x")
    before = counts(community.pk)
    import_register(community, "register.xlsx", workbook(GOOD_HOMES, GOOD_PEOPLE), actor=manager)
    after = counts(community.pk)
    assert after["homes"] == before["homes"] + 4
    assert after["occupancies"] == before["occupancies"] + 5
    with community_scope(community.pk):
        building = Building.objects.get(number="3")
        assert (building.floors_above, building.floors_below) == (12, 1)  # grown to fit its homes
        home = Home.objects.get(building=building, unit__number="1", number="101")
        assert home.floor_area == Decimal("89.50")
        storage = Home.objects.get(building=building, unit__isnull=True, number="B1-01")
        assert (storage.floor, storage.use, storage.status) == (-1, "storage", "unsold")
        assert Home.objects.get(number="1201").use == "commercial"
        zhang = Person.objects.get(name="张伟")
        assert zhang.phone_masked == "138****5678"
        assert "13812345678" not in zhang.phone_encrypted
        history = Occupancy.objects.get(person=zhang)
        assert (history.starts_on, history.ends_on) == (dt.date(2015, 3, 1), dt.date(2020, 6, 30))
        li = Person.objects.get(name="李娜")
        assert sorted(Occupancy.objects.filter(person=li).values_list("role", flat=True)) == ["co_owner", "tenant"]
        assert Occupancy.objects.get(person=li, role="co_owner").share_percent == Decimal("50.00")
    actions = AuditEntry.objects.filter(community_id=community.pk, actor_id=manager.pk)
    assert actions.filter(action="home.create").count() == 4
    assert actions.filter(action="person.create").count() == 4
    assert actions.filter(action="occupancy.add").count() == 5
    assert actions.filter(action="occupancy.end").count() == 1
    assert actions.filter(action="register.import").count() == 1


def test_reimporting_the_same_file_changes_nothing(world):
    community = world.a.community
    content = workbook(GOOD_HOMES, GOOD_PEOPLE)
    import_register(community, "register.xlsx", content, actor=None)
    snapshot, audit_before = counts(community.pk), register_audit_count(community.pk)
    preview = import_register(community, "register.xlsx", content, actor=None)
    assert counts(community.pk) == snapshot
    created = {k: v for k, v in preview.counts.items() if k.endswith(("_created", "_updated", "_added", "_ended"))}
    assert set(created.values()) == {0}, created
    assert preview.counts["homes_unchanged"] == 4
    assert preview.counts["occupancies_unchanged"] == 5
    assert register_audit_count(community.pk) == audit_before + 1  # only the import's own row


def test_reimport_updates_what_changed_and_ends_what_the_file_ends(world):
    community = world.a.community
    import_register(community, "register.xlsx", workbook(GOOD_HOMES, GOOD_PEOPLE), actor=None)
    homes = [row[:] for row in GOOD_HOMES]
    homes[0][4] = "90.10"
    people = [row[:] for row in GOOD_PEOPLE]
    people[4][9] = "2022-12-31"  # the tenancy ended
    people.append(["3", "1", "102", "赵磊", "", id_number(3), "租户", "", "2023-01-01", ""])
    preview = import_register(community, "register.xlsx", workbook(homes, people), actor=None)
    assert preview.counts["homes_updated"] == 1
    assert preview.counts["occupancies_ended"] == 1
    assert preview.counts["occupancies_added"] == 1
    assert preview.counts["people_created"] == 1
    with community_scope(community.pk):
        assert Home.objects.get(number="101", building__number="3").floor_area == Decimal("90.10")
        tenancy = Occupancy.objects.get(person__name="李娜", role="tenant")
        assert tenancy.ends_on == dt.date(2022, 12, 31)
    assert AuditEntry.objects.filter(action="home.update", community_id=community.pk).count() == 1


def test_people_are_matched_to_the_register_by_mobile_or_id_number(world):
    community = world.a.community
    registered = residents.create_person(community=community, name="周杰", phone="13600000001", actor=None)
    home = world.a.homes[1]
    people = [
        ["1", "1", home.number, "周杰", "136 0000 0001", id_number(9), "租户", "", "2022-01-01", ""],
    ]
    preview = import_register(community, "people.xlsx", workbook(people=people), actor=None)
    assert preview.counts["people_created"] == 0
    assert preview.counts["people_updated"] == 1  # the ID number was added
    registered.refresh_from_db()
    assert registered.id_number_masked.endswith(id_number(9)[-4:])
    with community_scope(community.pk):
        assert Occupancy.objects.filter(person=registered, home=home, role="tenant").exists()


# --- the error report ------------------------------------------------------------------------------

BAD_HOME_CELLS = [
    (4, "-5", "建筑面积"),
    (4, "89.555", "建筑面积"),
    (4, "abc", "建筑面积"),
    (3, 0, "楼层"),
    (3, "三楼", "楼层"),
    (5, "别墅", "用途"),
    (6, "拆除", "状态"),
]


@pytest.mark.parametrize(("index", "value", "header"), BAD_HOME_CELLS)
def test_a_bad_home_cell_is_reported_at_its_row_and_column(world, index, value, header):
    homes = [row[:] for row in GOOD_HOMES]
    homes[2][index] = value  # the third data row: row 4 as Excel shows it
    preview = preview_file(world.a.community, "register.xlsx", workbook(homes, GOOD_PEOPLE))
    assert [(p.sheet, p.row, p.column) for p in preview.problems] == [("房屋", 4, header)]
    assert str(value) in preview.problems[0].message or header in ("楼层",)


BAD_PEOPLE_CELLS = [
    (4, "1381234", "手机号"),
    (5, id_number(1)[:-1] + ("0" if id_number(1)[-1] != "0" else "1"), "身份证号"),
    (5, "11010519800230001X", "身份证号"),  # 30 February
    (6, "邻居", "关系"),
    (7, "百分之五十", "份额"),
    (8, "昨天", "起始日期"),
    (2, "9", "房号"),  # a home that neither exists nor is in the file
]


@pytest.mark.parametrize(("index", "value", "header"), BAD_PEOPLE_CELLS)
def test_a_bad_people_cell_is_reported_at_its_row_and_column(world, index, value, header):
    people = [row[:] for row in GOOD_PEOPLE]
    people[1][index] = value  # row 3 as Excel shows it
    preview = preview_file(world.a.community, "register.xlsx", workbook(GOOD_HOMES, people))
    assert [(p.sheet, p.row, p.column) for p in preview.problems] == [("住户", 3, header)], preview.problems
    if header == "手机号":
        assert "1381234" in preview.problems[0].message


def test_the_report_covers_duplicates_shares_and_the_rules_of_the_services(world):
    homes = [*GOOD_HOMES, ["3", "1", "101", 1, "70", "住宅", "已入住"]]  # row 6 repeats row 2
    people = [
        *GOOD_PEOPLE,
        GOOD_PEOPLE[3],  # row 7 repeats row 5
        ["3", "1", "101", "孙丽", "13512345678", "", "共有人", "10", "2021-01-01", ""],  # 50+50+10 > 100
        ["3", "1", "102", "周强", "", "", "共有人", "", "2021-01-01", ""],  # a co-owner without a share
        ["3", "1", "102", "吴军", "", "", "租户", "30", "2021-01-01", ""],  # a tenant with a share
        ["3", "1", "102", "郑洁", "13812345678", "", "业主", "", "2021-01-01", ""],  # 张伟's mobile, another name
    ]
    preview = preview_file(world.a.community, "register.xlsx", workbook(homes, people))
    found = {(p.sheet, p.row, p.column) for p in preview.problems}
    assert found == {
        ("房屋", 6, "房号"),
        ("住户", 7, "姓名"),
        ("住户", 8, "份额"),
        ("住户", 9, "份额"),
        ("住户", 10, "份额"),
        ("住户", 11, "姓名"),
    }, preview.problems
    assert all(p.message for p in preview.problems)


def test_missing_columns_and_unreadable_files_are_explained(world):
    community = world.a.community
    missing = preview_file(community, "homes.csv", csv_file(["楼栋", "房号", "建筑面积"], [["1", "101", "80"]]))
    assert [(p.row, p.column) for p in missing.problems] == [(1, "楼层")]
    for name, content in [("old.xls", b"\xd0\xcf\x11\xe0"), ("broken.xlsx", b"not a zip"), ("empty.csv", b"")]:
        preview = preview_file(community, name, content)
        assert len(preview.problems) == 1 and preview.problems[0].message, name


# --- all or nothing --------------------------------------------------------------------------------


def test_a_file_with_one_bad_row_changes_nothing(world):
    community = world.a.community
    people = [row[:] for row in GOOD_PEOPLE]
    people[4][4] = "1391234"
    before, audit_before = counts(community.pk), AuditEntry.objects.count()
    with pytest.raises(ImportRefused) as refused:
        import_register(community, "register.xlsx", workbook(GOOD_HOMES, people), actor=None)
    assert [(p.row, p.column) for p in refused.value.problems] == [(6, "手机号")]
    assert counts(community.pk) == before
    assert AuditEntry.objects.count() == audit_before


def test_a_batch_that_became_invalid_since_its_preview_is_refused_whole(world):
    community = world.a.community
    manager = world.user("manager_x")
    batch = upload_import_batch(
        community=community, original_name="register.xlsx", content=workbook(GOOD_HOMES, GOOD_PEOPLE), actor=manager
    )
    assert batch.status == ImportBatch.Status.PREVIEW and batch.errors == []
    # Meanwhile a clerk registers 张伟's mobile number for someone else.
    residents.create_person(community=community, name="钱多", phone="13812345678", actor=None)
    before, audit_before = counts(community.pk), register_audit_count(community.pk)
    with community_scope(community.pk):
        batch = commit_import_batch(batch, actor=manager)
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.errors and batch.errors[0]["row"] == 2
    assert counts(community.pk) == before
    assert register_audit_count(community.pk) == audit_before


def test_a_batch_commits_once(world):
    community = world.a.community
    batch = upload_import_batch(
        community=community, original_name="homes.xlsx", content=workbook(GOOD_HOMES), actor=None
    )
    with community_scope(community.pk):
        batch = commit_import_batch(batch, actor=None)
        assert batch.status == ImportBatch.Status.COMMITTED
        assert batch.counts["homes_created"] == 4
        from anju.core.errors import Conflict

        with pytest.raises(Conflict):
            commit_import_batch(batch, actor=None)


# --- export and round trip -------------------------------------------------------------------------


def _rich_register(world) -> Any:
    """Community A plus the awkward cases: 89.50 m², basements, co-owners, history, a developer."""
    community = world.a.community
    import_register(community, "register.xlsx", workbook(GOOD_HOMES, GOOD_PEOPLE), actor=None)
    building = estates.create_building(
        community=community, number="10", name="商务楼", floors_above=20, floors_below=2, has_lift=True, actor=None
    )
    shop = estates.create_home(
        building=building, unit=None, number="0101", floor=1, floor_area="89.50", use="commercial", actor=None
    )
    developer = residents.create_person(
        community=community, name="某某置业有限公司", id_number="91110105MA01ABCD2X", kind="organization",
        is_developer=True, actor=None,
    )  # fmt: skip
    residents.add_occupancy(home=shop, person=developer, role="owner", starts_on=dt.date(2019, 1, 1), actor=None)
    return community


def _new_community(world, code: str):
    return estates.create_community(name=f"空小区{code}", code=code, district=world.district1, actor=None)


def test_round_trip_through_a_workbook_is_lossless(world):
    source = _rich_register(world)
    exported = export_register(source, fmt="xlsx", actor=world.user("manager_x"))
    sheets = load_workbook(io.BytesIO(exported.content)).sheetnames
    assert sheets == ["楼栋", "房屋", "住户"]
    target = _new_community(world, "empty")
    import_register(target, exported.filename, exported.content, actor=None)
    original, copy = register_tables(source.pk), register_tables(target.pk)
    assert copy == original
    assert any(row[4] == Decimal("89.50") for row in copy["homes"])
    assert any(row[9] is not None for row in copy["people"])  # history rows survive
    assert any(row[2] == "0101" for row in copy["homes"])  # leading zeros survive


def test_round_trip_through_csv_files_is_lossless(world):
    source = _rich_register(world)
    target = _new_community(world, "empty-csv")
    for kind in ("buildings", "homes", "people"):
        exported = export_register(source, fmt="csv", kind=kind, actor=None)
        assert exported.content.startswith(b"\xef\xbb\xbf")
        import_register(target, exported.filename, exported.content, actor=None)
    assert register_tables(target.pk) == register_tables(source.pk)


def test_export_writes_clear_personal_data_and_one_audit_row(world):
    community = _rich_register(world)
    manager = world.user("manager_x")
    before = AuditEntry.objects.filter(action="personal_data.export").count()
    exported = export_register(community, fmt="csv", kind="people", actor=manager)
    text = exported.content.decode("utf-8-sig")
    assert "13812345678" in text and id_number(1) in text
    entries = AuditEntry.objects.filter(action="personal_data.export")
    assert entries.count() == before + 1
    entry = entries.first()
    assert entry.actor_id == manager.pk and entry.community_id == community.pk
    assert entry.after["rows"]["people"] == len(text.strip().splitlines()) - 1


# --- encodings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_gb18030_and_utf8_with_or_without_bom(world, encoding):
    community = world.a.community
    rows = [["5", "", "101", "2", "66.60", "住宅", "未售"], ["5", "", "102", "2", "70", "车位", "空置"]]
    import_register(community, "homes.csv", csv_file(HOME_HEADER, rows, encoding), actor=None)
    with community_scope(community.pk):
        home = Home.objects.get(building__number="5", number="102")
        assert (home.use, home.status, home.floor_area) == ("parking", "vacant", Decimal("70.00"))


def test_english_codes_are_accepted_as_well_as_chinese_labels(world):
    rows = [["6", "1", "101", "1", "50", "commercial", "occupied"]]
    preview = preview_file(world.a.community, "homes.csv", csv_file(HOME_HEADER, rows))
    assert preview.ok, preview.problems
    assert preview.plan is not None
    home = next(iter(preview.plan.homes.values()))
    assert (home.use, home.status) == ("commercial", "occupied")
