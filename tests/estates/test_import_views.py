"""The console's import and export pages, and the two management commands."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.estates.models import Home, ImportBatch
from anju.estates.spreadsheets import upload_import_batch

from .test_import import GOOD_HOMES, GOOD_PEOPLE, HOME_HEADER, counts, csv_file, workbook


def client_for(world, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def upload(client: Client, community_id: int, name: str, content: bytes):
    url = reverse("console:import", args=[community_id])
    return client.post(url, {"file": SimpleUploadedFile(name, content)})


def test_upload_preview_and_commit(world):
    community = world.a.community
    client = client_for(world, "manager_x")
    before = counts(community.pk)
    response = upload(client, community.pk, "register.xlsx", workbook(GOOD_HOMES, GOOD_PEOPLE))
    assert response.status_code == 302
    with community_scope(community.pk):
        batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("console:import_batch", args=[community.pk, batch.pk])
    assert counts(community.pk) == before  # the preview wrote nothing to the register

    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="commit"' in body
    assert page.context["count_rows"]
    assert dict((str(label), n) for label, n in page.context["count_rows"])  # counts are shown

    committed = client.post(response["Location"], {"commit": "1"}, follow=True)
    assert committed.status_code == 200
    assert counts(community.pk)["homes"] == before["homes"] + 4
    body = committed.content.decode()
    assert 'data-import-status="committed"' in body
    with community_scope(community.pk):
        building_id = Home.objects.filter(building__number="3").values_list("building_id", flat=True).first()
    assert reverse("console:property_map", args=[community.pk, building_id]) in body
    assert 'name="commit"' not in body
    assert [m.level_tag for m in committed.context["messages"]] == ["success"]


def test_a_file_with_errors_shows_the_table_and_no_commit_button(world):
    community = world.a.community
    client = client_for(world, "manager_x")
    people = [row[:] for row in GOOD_PEOPLE]
    people[2][4] = "1381234"
    response = upload(client, community.pk, "register.xlsx", workbook(GOOD_HOMES, people))
    page = client.get(response["Location"])
    body = page.content.decode()
    assert 'data-row="4" data-column="手机号"' in body
    assert "1381234" in body
    assert 'name="commit"' not in body
    before = counts(community.pk)
    client.post(response["Location"], {"commit": "1"})
    assert counts(community.pk) == before


@pytest.mark.parametrize(
    ("name", "content"),
    [("register.xls", b"\xd0\xcf\x11\xe0old"), ("photo.png", b"\x89PNG"), ("notes.txt", b"hello")],
)
def test_only_xlsx_and_csv_are_accepted(world, name, content):
    community = world.a.community
    client = client_for(world, "manager_x")
    response = upload(client, community.pk, name, content)
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    with community_scope(community.pk):
        assert not ImportBatch.objects.exists()


def test_files_over_the_limit_are_refused(world, settings):
    settings.ANJU_IMPORT_MAX_BYTES = 100
    community = world.a.community
    response = upload(client_for(world, "manager_x"), community.pk, "homes.csv", csv_file(HOME_HEADER, GOOD_HOMES * 5))
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    with community_scope(community.pk):
        assert not ImportBatch.objects.exists()


def test_the_import_page_lists_recent_uploads(world):
    community = world.a.community
    with community_scope(community.pk):
        batch = upload_import_batch(
            community=community, original_name="old.csv", content=csv_file(HOME_HEADER, GOOD_HOMES), actor=None
        )
    response = client_for(world, "manager_x").get(reverse("console:import", args=[community.pk]))
    assert f'data-batch="{batch.pk}"' in response.content.decode()


def test_export_downloads_a_workbook_and_audits_it(world):
    community = world.a.community
    client = client_for(world, "manager_x")
    page = client.get(reverse("console:export", args=[community.pk]))
    assert page.status_code == 200
    before = AuditEntry.objects.filter(action="personal_data.export").count()
    response = client.post(reverse("console:export", args=[community.pk]), {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    sheets = load_workbook(io.BytesIO(response.content))
    assert sheets["房屋"].max_row == 1 + len(world.a.homes)
    assert AuditEntry.objects.filter(action="personal_data.export").count() == before + 1
    csv_response = client.post(reverse("console:export", args=[community.pk]), {"format": "csv", "kind": "homes"})
    assert csv_response.content.decode("utf-8-sig").splitlines()[0].startswith("楼栋,单元,房号")


# --- tenancy -----------------------------------------------------------------------------------------


def _pages(community_id: int, batch_id: int) -> list[str]:
    return [
        reverse("console:import", args=[community_id]),
        reverse("console:import_batch", args=[community_id, batch_id]),
        reverse("console:export", args=[community_id]),
    ]


def _batch(world, estate: str) -> ImportBatch:
    community = getattr(world, estate).community
    with community_scope(community.pk):
        return upload_import_batch(
            community=community, original_name="r.xlsx", content=workbook(GOOD_HOMES, GOOD_PEOPLE), actor=None
        )


def test_another_company_cannot_see_or_use_the_pages(world):
    batch = _batch(world, "a")
    client = client_for(world, "manager_y")
    before = counts(world.a.community.pk)
    audit_before = AuditEntry.objects.count()
    for url in _pages(world.a.community.pk, batch.pk):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"commit": "1", "format": "xlsx"}).status_code == 404, url
    response = upload(client, world.a.community.pk, "r.xlsx", workbook(GOOD_HOMES))
    assert response.status_code == 404
    assert counts(world.a.community.pk) == before
    assert AuditEntry.objects.count() == audit_before
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEW


def test_a_batch_of_another_community_is_not_found_under_your_own(world):
    foreign = _batch(world, "b")
    client = client_for(world, "manager_x")
    url = reverse("console:import_batch", args=[world.a.community.pk, foreign.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"commit": "1"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == ImportBatch.Status.PREVIEW


@pytest.mark.parametrize("persona", ["technician", "steward", "regulator"])
def test_staff_without_the_import_permission_are_refused(world, persona):
    batch = _batch(world, "a")
    client = client_for(world, persona)
    for url in _pages(world.a.community.pk, batch.pk):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"commit": "1", "format": "xlsx"}).status_code == 403, url


def test_anonymous_visitors_are_sent_to_log_in(world):
    batch = _batch(world, "a")
    for url in _pages(world.a.community.pk, batch.pk):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


# --- commands ----------------------------------------------------------------------------------------


def test_import_command_previews_commits_and_exits_2_on_errors(world, tmp_path):
    community = world.a.community
    good = tmp_path / "register.xlsx"
    good.write_bytes(workbook(GOOD_HOMES, GOOD_PEOPLE))
    before = counts(community.pk)
    out = io.StringIO()
    call_command("import_register", community.code, str(good), stdout=out)
    assert "homes_created: 4" in out.getvalue()
    assert counts(community.pk) == before
    call_command("import_register", community.code, str(good), "--commit", stdout=io.StringIO())
    assert counts(community.pk)["homes"] == before["homes"] + 4

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_file(HOME_HEADER, [["9", "", "101", "1", "-3", "住宅", "未售"]]))
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_register", community.code, str(bad), "--commit", stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 2
    assert "row 2" in err.getvalue() and "建筑面积" in err.getvalue()


def test_export_command_writes_a_workbook_that_imports_cleanly(world, tmp_path):
    out = tmp_path / "a.xlsx"
    call_command("export_register", world.a.community.code, str(out), stdout=io.StringIO())
    workbook_sheets = load_workbook(out).sheetnames
    assert workbook_sheets == ["楼栋", "房屋", "住户"]
    result = io.StringIO()
    call_command("import_register", world.a.community.code, str(out), stdout=result)
    assert "homes_unchanged: 12" in result.getvalue()
    assert "homes_created: 0" in result.getvalue()


@pytest.mark.parametrize(("persona", "shown"), [("manager_x", True), ("technician", False), ("steward", False)])
def test_the_console_nav_links_import_and_export_only_for_those_allowed(world, persona, shown):
    community_id = world.a.community.pk
    page = client_for(world, persona).get(reverse("console:dashboard", args=[community_id]))
    assert page.status_code == 200
    body = page.content.decode()
    for name in ("console:import", "console:export"):
        assert (f'href="{reverse(name, args=[community_id])}"' in body) is shown, name
