"""Builders shared by the community-life tests (real services, real database)."""

from __future__ import annotations

import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from anju.community import services
from anju.community.models import Activity
from anju.core.models import User
from anju.estates.models import Community, Home
from anju.residents import services as residents
from anju.residents.models import Person

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png(name: str = "photo.png", size: tuple[int, int] = (8, 8)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 60)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def pdf_upload(name: str = "notice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n% test\n", content_type="application/pdf")


_counter = iter(range(10_000, 99_999))


def resident(home: Home, *, role: str = "owner", name: str = "", account: bool = True) -> tuple[Person, User | None]:
    """A new person living at ``home`` (with a portal account unless ``account=False``)."""
    number = next(_counter)
    person = residents.create_person(
        community=home.community, name=name or f"住户{number}", phone=f"137{number:08d}", actor=None
    )
    residents.add_occupancy(home=home, person=person, role=role, starts_on=dt.date(2020, 1, 1), actor=None)
    user = residents.link_resident_account(person, password="anju-test-pass-1", actor=None) if account else None
    return person, user


def activity(
    community: Community,
    *,
    capacity: int = 2,
    starts_in: dt.timedelta = dt.timedelta(days=2),
    hours: int = 2,
    kind: str = Activity.Kind.EVENT,
    title: str = "邻里茶话会",
) -> Activity:
    starts = (timezone.now() + starts_in).replace(second=0, microsecond=0)
    return services.create_activity(
        community=community,
        title=title,
        place="会所二楼",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=hours),
        capacity=capacity,
        kind=kind,
        volunteer_work="clean_up" if kind == Activity.Kind.VOLUNTEER else "",
        actor=None,
    )
