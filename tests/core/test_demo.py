"""The demo seed: deterministic, idempotent, valid by the register's own rules, and usable to log in."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from anju.core import demo
from anju.core.crypto import decrypt
from anju.core.demo.plan import HIGHRISE, NEW, WALKUP
from anju.core.demo.seed import STEWARD_RANGE, build_plans
from anju.core.models import AuditEntry, Membership, Organization, User
from anju.core.tenancy import scopes_disabled
from anju.core.validators import validate_id_number, validate_mobile
from anju.estates.models import Building, CommonPart, Community, Home, ParkingSpace, ServiceContract, Unit
from anju.residents.models import BuildingLeader, Consent, Occupancy, Person, StewardAssignment, Vehicle

pytestmark = pytest.mark.django_db

COUNTED = (
    Community,
    ServiceContract,
    Building,
    Unit,
    Home,
    ParkingSpace,
    CommonPart,
    Person,
    Occupancy,
    Vehicle,
    Consent,
    StewardAssignment,
    BuildingLeader,
    User,
    Membership,
    Organization,
    AuditEntry,
)


def _counts() -> dict[str, int]:
    with scopes_disabled():
        return {model.__name__: model.objects.count() for model in COUNTED}


def _quiet(_line: str) -> None:
    pass


def test_the_same_size_always_plans_the_same_data():
    first, second = build_plans("small"), build_plans("small")
    assert first == second
    assert build_plans("medium")[WALKUP.code].people[:50] != first[WALKUP.code].people[:50]


def test_seeding_twice_creates_the_same_rows_once(capsys):
    call_command("seed_demo", "--size", "small")
    after_first = _counts()
    call_command("seed_demo", "--size", "small")
    out = capsys.readouterr().out
    assert _counts() == after_first
    assert "nothing to do" in out or "已" in out  # the second run says the demo is there
    assert demo.RESIDENT_WALKUP in out and demo.DEMO_PASSWORD in out
    with scopes_disabled():
        assert after_first["Community"] == 3
        assert 250 <= after_first["Home"] <= 450
        homes = Home.objects.values_list("building_id", "unit_id", "number")
        assert len(set(homes)) == len(homes)
        people = Person.objects.values_list("community_id", "name", "id_number_index")
        assert len(set(people)) == len(people)
        phones = [p for p in Person.objects.values_list("phone_index", flat=True) if p]
        assert len(set(phones)) == len(phones)


@pytest.mark.parametrize("bulk", [False, True], ids=["services", "bulk"])
def test_seeded_data_is_valid_and_matches_the_plan(bulk):
    report = demo.seed_demo("small", bulk=bulk, out=_quiet)
    assert report.created
    plans = build_plans("small")
    with scopes_disabled():
        communities = {c.code: c for c in Community.objects.all()}
        people = list(Person.objects.all())
        individuals = [p for p in people if p.kind == Person.Kind.INDIVIDUAL]
        assert individuals
        for person in individuals:
            validate_id_number(decrypt(person.id_number_encrypted))
            if person.phone_encrypted:
                validate_mobile(decrypt(person.phone_encrypted))
        for user in User.objects.exclude(phone_encrypted=""):
            validate_mobile(decrypt(user.phone_encrypted))

        # Both writers write exactly what the plan says (the bulk path mirrors the services).
        for code, plan in plans.items():
            community = communities[code]
            homes = Home.objects.filter(community=community).select_related("building", "unit")
            written = sorted((h.building.number, h.unit.number, h.number, h.floor_area, h.status) for h in homes)
            planned = sorted(
                (plan.buildings[h.building].number, h.unit, h.number, h.floor_area, h.status) for h in plan.homes
            )
            assert written == planned
            written_people = sorted(
                (p.name, p.phone_masked, p.id_number_masked, p.user_id is not None)
                for p in people
                if p.community_id == community.pk
            )
            assert len(written_people) == len(plan.people)
            assert sum(1 for *_x, linked in written_people if linked) == sum(1 for p in plan.people if p.account)
            assert Occupancy.objects.filter(community=community).count() == len(plan.occupancies)
            assert Occupancy.objects.filter(community=community, ends_on__isnull=False).exists()
            assert Vehicle.objects.filter(community=community).count() == len(plan.vehicles)

        # Co-owners' shares never exceed the whole home.
        shares: dict[int, Decimal] = defaultdict(Decimal)
        for occupancy in Occupancy.objects.current().filter(role__in=["owner", "co_owner"]):
            shares[occupancy.home_id] += occupancy.share_percent or Decimal(100)
        assert shares and max(shares.values()) <= Decimal(100)
        assert Occupancy.objects.current().filter(role="co_owner").exists()

        # The 2022 estate's unsold homes belong to the developer, and only to the developer.
        new_estate = communities[NEW.code]
        unsold = Home.objects.filter(community=new_estate, status=Home.Status.UNSOLD)
        assert unsold.exists()
        for home in unsold:
            owners = list(Occupancy.objects.current().filter(home=home).select_related("person"))
            assert [o.person.is_developer for o in owners] == [True]
        assert Home.objects.filter(community=new_estate).exclude(status=Home.Status.UNSOLD).exists()

        # One community changed company: the ended contract is kept.
        walkup = communities[WALKUP.code]
        assert ServiceContract.objects.filter(community=walkup).count() == 2
        assert ServiceContract.objects.filter(community=walkup, ends_on__isnull=False).count() == 1
        assert not Building.objects.filter(community=walkup, has_lift=True).exists()
        assert set(
            Building.objects.filter(community=communities[HIGHRISE.code]).values_list("has_lift", flat=True)
        ) == {True}

        # Every home has a steward, and every steward 30-70 homes.
        per_steward: dict[int, int] = defaultdict(int)
        for steward_id in StewardAssignment.objects.filter(ends_on__isnull=True).values_list("steward_id", flat=True):
            per_steward[steward_id] += 1
        assert sum(per_steward.values()) == Home.objects.count()
        assert all(STEWARD_RANGE[0] <= n <= STEWARD_RANGE[1] for n in per_steward.values()), per_steward
        assert BuildingLeader.objects.count() == Building.objects.count()

    summaries = AuditEntry.objects.filter(action="demo.bulk_insert")
    if bulk:
        assert summaries.filter(object_type="estates.home").count() == 3
        assert not AuditEntry.objects.filter(action="home.create").exists()
    else:
        assert not summaries.exists()
        assert AuditEntry.objects.filter(action="home.create").count() == sum(len(p.homes) for p in plans.values())


def test_printed_logins_work(client):
    demo.seed_demo("small", out=_quiet)
    for mobile in (demo.RESIDENT_WALKUP, demo.RESIDENT_HIGHRISE):
        client.logout()
        response = client.post(reverse("login"), {"username": mobile, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302
        assert response.url == reverse("portal:home") or client.get("/").url == reverse("portal:home")
        user = User.objects.get(pk=client.session["_auth_user_id"])
        with scopes_disabled():
            assert Occupancy.objects.current().filter(person__user=user, role__in=["owner", "co_owner"]).exists()
    for staff in demo.NAMED_STAFF:
        client.logout()
        response = client.post(reverse("login"), {"username": staff.username, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, staff.username
        assert User.objects.get(pk=client.session["_auth_user_id"]).username == staff.username
    client.logout()
    refused = client.post(reverse("login"), {"username": demo.RESIDENT_WALKUP, "password": "wrong-password"})
    assert "_auth_user_id" not in client.session
    assert refused.status_code == 200


def test_residents_see_only_their_own_community(client):
    """The walk-up's demo resident is not let into the high-rise's console or another home."""
    demo.seed_demo("small", out=_quiet)
    with scopes_disabled():
        highrise = Community.objects.get(code=HIGHRISE.code)
        other_home = Home.objects.filter(community=highrise).first()
    client.post(reverse("login"), {"username": demo.RESIDENT_WALKUP, "password": demo.DEMO_PASSWORD})
    assert client.get(reverse("console:homes", args=[highrise.pk])).status_code in (403, 404)
    assert client.get(reverse("portal:home_detail", args=[other_home.pk])).status_code == 404


def test_the_medium_plan_is_consistent_before_it_is_written():
    """The services would refuse these; catching them in the plan keeps `make run` from failing."""
    for plan in build_plans("medium").values():
        by_home: dict[int, list] = defaultdict(list)
        for occupancy in plan.occupancies:
            assert occupancy.ends_on is None or occupancy.ends_on >= occupancy.starts_on
            by_home[occupancy.home].append(occupancy)
        for occupancies in by_home.values():
            owners = [o for o in occupancies if o.role in ("owner", "co_owner")]
            for o in owners:  # on the day each ownership starts, shares held then add up to <= 100%
                held = sum(
                    (x.share_percent or Decimal(100))
                    for x in owners
                    if x.starts_on <= o.starts_on and (x.ends_on is None or x.ends_on >= o.starts_on)
                )
                assert held <= 100
