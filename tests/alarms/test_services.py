"""Staff acting on alarms, other apps raising them, managers versioning rules."""

from __future__ import annotations

import pytest

from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.devices.alarms import services
from anju.devices.alarms.models import Alarm, AlarmState, Rule
from anju.devices.alarms.pipeline import process
from anju.devices.alarms.rulebook import rules_for_device

from .helpers import T0, make_device, message

TRAPPED = {"moving": 0, "door_open": 0, "occupied": 1}


@pytest.fixture
def lift(world):
    return make_device(world.a, "lift", "lift-1")


def raised(device, **kwargs):
    process([message(device, 0, event="lift.fault.03", **kwargs)])
    with community_scope(device.community_id):
        return Alarm.objects.get(device=device)


@pytest.mark.django_db
def test_lifecycle_acknowledge_start_resolve(world, lift):
    alarm = raised(lift)
    tech = world.user("technician")
    with community_scope(lift.community_id):
        alarm = services.acknowledge_alarm(alarm, actor=tech)
        assert alarm.state == AlarmState.ACKNOWLEDGED and alarm.acknowledged_by == tech
        with pytest.raises(Conflict):
            services.acknowledge_alarm(alarm, actor=tech)
        alarm = services.start_alarm_work(alarm, actor=tech)
        assert alarm.state == AlarmState.IN_PROGRESS and alarm.assigned_to == tech
        alarm = services.resolve_alarm(alarm, outcome="fixed", note="replaced the door sensor", actor=tech)
        assert alarm.state == AlarmState.RESOLVED and alarm.outcome == "fixed"
        with pytest.raises(Conflict):
            services.resolve_alarm(alarm, outcome="fixed", actor=tech)
        kinds = list(alarm.events.order_by("at", "pk").values_list("kind", flat=True))
    assert kinds == ["raised", "acknowledged", "assigned", "resolved"]
    actions = set(AuditEntry.objects.filter(object_id=str(alarm.pk)).values_list("action", flat=True))
    assert {"alarm.acknowledge", "alarm.assign", "alarm.resolve"} <= actions


@pytest.mark.django_db
def test_resolving_frees_the_slot_for_a_new_alarm_of_the_same_type(lift):
    alarm = raised(lift)
    with community_scope(lift.community_id):
        services.resolve_alarm(alarm, outcome="no_action", actor=None)  # type: ignore[arg-type]
    process([message(lift, 5, event="lift.fault.03")])
    with community_scope(lift.community_id):
        assert list(Alarm.objects.filter(device=lift).values_list("state", flat=True).order_by("pk")) == [
            "resolved",
            "active",
        ]


@pytest.mark.django_db
def test_assigning_to_someone_without_the_permission_is_refused(world, lift):
    alarm = raised(lift)
    with community_scope(lift.community_id), pytest.raises(DomainError) as refused:
        services.assign_alarm(alarm, assignee=world.user("finance"), actor=world.user("manager_x"))
    assert refused.value.field == "assignee"
    with community_scope(lift.community_id):
        assert Alarm.objects.get(pk=alarm.pk).assigned_to is None


@pytest.mark.django_db
def test_camera_review_and_precision(world):
    camera = make_device(world.a, "camera", "cam-1", name="大堂")
    tech = world.user("technician")
    decisions = [True, True, True, False]
    for episode, genuine in enumerate(decisions):
        t = episode * 100
        process(
            [
                message(camera, t, event="camera.ebike_in_lift", state="active"),
                message(camera, t + 5, event="camera.ebike_in_lift", state="inactive"),
            ]
        )
        with community_scope(camera.community_id):
            alarm = Alarm.objects.filter(device=camera).order_by("-pk").first()
            assert alarm.review == "pending"
            services.review_alarm(alarm, genuine=genuine, actor=tech)
    process([message(camera, 900, event="camera.fall", state="active")])
    with community_scope(camera.community_id):
        table = services.camera_precision(camera.community_id)
        false_one = Alarm.objects.filter(device=camera, review="false").get()
    rows = {row["alarm_type"]: row for row in table}
    assert rows["camera.ebike_in_lift"]["confirmed"] == 3 and rows["camera.ebike_in_lift"]["false"] == 1
    assert rows["camera.ebike_in_lift"]["precision"] == 0.75
    assert rows["camera.fall"]["pending"] == 1 and rows["camera.fall"]["precision"] is None
    assert false_one.state == "resolved" and false_one.outcome == "false_alarm"


@pytest.mark.django_db
def test_raise_and_clear_for_other_apps(world):
    door = make_device(world.a, "door_controller", "door-1")
    with community_scope(door.community_id):
        first = services.raise_alarm(
            device=door, alarm_type="door.forced", severity="major", message="north gate", occurred_at=T0, actor=None
        )
        again = services.raise_alarm(
            device=door, alarm_type="door.forced", severity="major", message="north gate", occurred_at=T0, actor=None
        )
        assert again.pk == first.pk and again.repeat_count == 2
        cleared = services.clear_alarm(device=door, alarm_type="door.forced", occurred_at=T0)
        assert cleared is not None and cleared.state == "cleared"
        assert services.clear_alarm(device=door, alarm_type="door.forced", occurred_at=T0) is None
        with pytest.raises(DomainError):
            services.raise_alarm(
                device=door, alarm_type="door.forced", severity="bad", message="", occurred_at=T0, actor=None
            )


@pytest.mark.django_db
def test_editing_a_template_makes_a_new_version_the_pipeline_uses(world, lift):
    manager = world.user("manager_x")
    community = world.a.community
    with community_scope(community.pk):
        v1 = services.save_rule(
            community=community,
            device_kind="lift",
            key="entrapment",
            severity="critical",
            enabled=True,
            params={"seconds": 20},
            note="contract says 20 s",
            actor=manager,
        )
        v2 = services.save_rule(
            community=community,
            device_kind="lift",
            key="entrapment",
            severity="critical",
            enabled=True,
            params={"seconds": 25},
            actor=manager,
        )
        v1.refresh_from_db()
        assert (v1.version, v2.version) == (1, 2)
        assert v1.effective_to == v2.effective_from and v2.effective_to is None
        assert v2.params["all"] == v1.params["all"], "the structure comes from the template"
        for bad in ({"seconds": 19}, {"seconds": 46}, {"seconds": "x"}, {"seconds": 22.5}):
            with pytest.raises(DomainError) as refused:
                services.save_rule(
                    community=community,
                    device_kind="lift",
                    key="entrapment",
                    severity="critical",
                    enabled=True,
                    params=bad,
                    actor=manager,
                )
            assert refused.value.field == "seconds"
        assert Rule.objects.filter(key="entrapment").count() == 2, "refusals stored nothing"
    assert rules_for_device(community.pk, "lift", lift.pk).spec("entrapment").params["seconds"] == 25
    process([message(lift, t, points=TRAPPED) for t in (0, 25)])
    with community_scope(community.pk):
        alarm = Alarm.objects.get(device=lift)
    assert alarm.rule_version == 2


@pytest.mark.django_db
def test_a_device_override_wins_until_removed(world, lift):
    other = make_device(world.a, "lift", "lift-2")
    manager = world.user("manager_x")
    community = world.a.community
    with community_scope(community.pk):
        services.save_rule(
            community=community,
            device_kind="lift",
            key="lift_faults",
            device=lift,
            severity="major",
            enabled=False,
            params={},
            actor=manager,
        )
    process([message(lift, 0, event="lift.fault.03"), message(other, 0, event="lift.fault.03")])
    with community_scope(community.pk):
        assert list(Alarm.objects.values_list("device_id", flat=True)) == [other.pk]
        services.remove_override(device=lift, key="lift_faults", actor=manager)
        with pytest.raises(NotFound):
            services.remove_override(device=lift, key="lift_faults", actor=manager)
    process([message(lift, 10, event="lift.fault.03")])
    with community_scope(community.pk):
        assert Alarm.objects.filter(device=lift).count() == 1


@pytest.mark.django_db
def test_an_override_for_another_communitys_device_is_refused(world):
    foreign = make_device(world.b, "lift", "lift-b")
    with community_scope([world.a.community.pk, world.b.community.pk]), pytest.raises(NotFound):
        services.save_rule(
            community=world.a.community,
            device_kind="lift",
            key="entrapment",
            device=foreign,
            severity="critical",
            enabled=True,
            params={},
            actor=world.user("manager_x"),
        )
