"""Demo data for ``make run``, the tests and the benchmark: see :mod:`anju.core.demo.seed`."""

from anju.core.demo.seed import (
    COMMITTEE_MEMBER,
    DEMO_CODES,
    DEMO_PASSWORD,
    NAMED_STAFF,
    RESIDENT_HIGHRISE,
    RESIDENT_WALKUP,
    SeedReport,
    demo_present,
    format_logins,
    seed_demo,
    seeded_size,
)

__all__ = [
    "COMMITTEE_MEMBER",
    "DEMO_CODES",
    "DEMO_PASSWORD",
    "NAMED_STAFF",
    "RESIDENT_HIGHRISE",
    "RESIDENT_WALKUP",
    "SeedReport",
    "demo_present",
    "format_logins",
    "seed_demo",
    "seeded_size",
]
