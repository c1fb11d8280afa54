"""The periodic jobs are registered and run through the scheduler like every other app's."""

from __future__ import annotations

from django.utils import timezone

from anju.core.periodic import JOBS, run_job
from anju.core.tenancy import community_scope
from anju.workorders.preventive.models import Round

from .conftest import make_patrol

PREVENTIVE_JOBS = {
    "preventive.generate_rounds",
    "preventive.flag_missed_rounds",
    "preventive.generate_maintenance",
    "preventive.sweep_maintenance",
}


def test_preventive_jobs_are_registered() -> None:
    assert set(JOBS) >= PREVENTIVE_JOBS


def test_the_scheduler_runs_round_generation_once_per_slot(world) -> None:
    with community_scope(world.a.community.pk):
        patrol = make_patrol(world, starts_on=timezone.localdate())
    # Rounds for today and tomorrow whose windows (08:00-10:00) have not closed: one or two.
    created = run_job("preventive.generate_rounds", force=True)
    assert created in (1, 2)
    assert run_job("preventive.generate_rounds") is None  # its slot is taken until the next one
    with community_scope(patrol.route.community_id):
        assert Round.objects.filter(plan=patrol.plan).count() == created
    for name in sorted(PREVENTIVE_JOBS - {"preventive.generate_rounds"}):
        assert isinstance(run_job(name, force=True), int)
