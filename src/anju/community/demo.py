"""Demo data for community life: notices (one urgent outage not yet read by some), a lively
neighbour board, upcoming and past activities with sign-ups, check-ins and photos, points and
rewards, and a satisfaction survey with responses. Everything goes through the services."""

from __future__ import annotations

import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from anju.community import services
from anju.community.models import Activity, Question, Signup
from anju.community.services.announcements import audience_occupancies
from anju.community.services.surveys import QuestionSpec
from anju.core.demo.hooks import DemoContext, demo_step
from anju.core.demo.seed import COMMITTEE_MEMBER, RESIDENT_HIGHRISE, RESIDENT_WALKUP
from anju.core.errors import DomainError
from anju.estates.models import Building, Community
from anju.residents import services as residents
from anju.residents.models import BuildingLeader, Occupancy, Person

POSTS = [
    (
        "mutual_help",
        "求借电钻",
        "周六想在阳台装个晾衣架，哪位邻居有电钻可以借用一下？用完马上还，谢谢！",
        ["我家有，来3栋201拿", "楼下五金店也能租，10元一天"],
    ),
    (
        "lost_found",
        "捡到一串钥匙",
        "今早在2号门岗附近捡到一串钥匙，挂着小熊挂件，已交到物业服务中心。",
        ["是我的！太感谢了", "好人一生平安"],
    ),
    ("second_hand", "闲置儿童自行车转让", "孩子长大了，16寸儿童自行车，九成新，50元自提。", ["还在吗？", "已私信"]),
    (
        "suggestion",
        "建议增加快递柜",
        "小区快递越来越多，建议在东门再增加一组快递柜，大家觉得呢？",
        ["同意！", "支持，门岗经常堆满", "可以在业主群里投个票"],
    ),
    ("mutual_help", "周末拼车去机场", "周日早上7点去首都机场，还能坐两个人，油费AA。", []),
    ("second_hand", "兼职日结，刷单返利", "加微信了解详情", []),
]
REWARDS = [
    ("环保购物袋", "可折叠，印有小区标志", 30, 40),
    ("洗衣液一瓶", "2公斤装", 80, 20),
    ("免费上门清洗油烟机一次", "由物业维修班提供", 200, 5),
]


def _photo(colour: tuple[int, int, int], label: str) -> SimpleUploadedFile:
    image = Image.new("RGB", (480, 320), colour)
    ImageDraw.Draw(image).rectangle((40, 220, 440, 280), fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return SimpleUploadedFile(f"{label}.jpg", buffer.getvalue(), content_type="image/jpeg")


def _people(community: Community) -> list[Person]:
    """Current residents of the community: the printed demo logins first, then other people with an
    account, then the rest (so the logins a visitor tries have a history to look at)."""
    logins = [
        found
        for phone in (RESIDENT_WALKUP, RESIDENT_HIGHRISE, COMMITTEE_MEMBER)
        if (found := residents.find_person_by_phone(community.pk, phone)) is not None
    ]
    persons = {
        o.person_id: o.person
        for o in Occupancy.objects.current().filter(community=community).select_related("person").order_by("pk")[:400]
    }
    rest = sorted(
        (p for p in persons.values() if p.pk not in {login.pk for login in logins}),
        key=lambda p: (p.user_id is None, p.pk),
    )
    return logins + rest


@demo_step(order=80)
def seed_community_life(ctx: DemoContext) -> None:
    now = timezone.now()
    for code, community in ctx.communities.items():
        # The walk-up is served by the other company; its manager signs its notices.
        manager = ctx.staff.get("hexie" if code == "walkup" else "manager")
        people = _people(community)
        if len(people) < 6:
            continue
        buildings = list(Building.objects.filter(community=community).order_by("sort_key", "number")[:3])
        _announcements(ctx, community, buildings, manager, now)
        _leader(community, buildings, people)
        _board(ctx, people)
        _points_setup(community, manager)
        _activities(ctx, community, people, manager, now)
        _survey(ctx, community, people, now)
        ctx.counts[f"community.{code}"] = len(people)


def _announcements(ctx: DemoContext, community: Community, buildings: list[Building], manager, now) -> None:
    day = dt.timedelta(days=1)
    services.publish_announcement(
        community=community,
        title="2026年度物业服务费缴纳通知",
        body="各位业主：2026年度物业服务费即日起开始缴纳，可在手机上或物业服务中心办理。\n提前缴纳全年费用的业主可获赠积分。",
        category="fees",
        pinned=True,
        publish_at=now - 20 * day,
        actor=manager,
        source_ref="demo:fees-2026",
    )
    outage = services.publish_announcement(
        community=community,
        title="紧急停水通知",
        body=f"因供水管道抢修，{buildings[0].number}栋将于明日8:00至14:00停水，请提前储水。给您带来不便，敬请谅解。",
        category="outage",
        urgent=True,
        building_ids=[buildings[0].pk],
        publish_at=now - dt.timedelta(hours=3),
        expires_at=now + 2 * day,
        actor=manager,
        source_ref="demo:water-cut",
    )
    services.publish_announcement(
        community=community,
        title="冬季消防安全提示",
        body="天干物燥，请勿在楼道堆放杂物，勿私拉电线给电动车充电。发现隐患请在“积分”页面上报，核实后奖励积分。",
        category="safety",
        publish_at=now - 5 * day,
        actor=manager,
        source_ref="demo:fire-safety",
    )
    services.publish_announcement(
        community=community,
        title="业主委员会换届选举公告",
        body="根据《民法典》第二百七十八条，本小区将召开业主大会选举新一届业主委员会，候选人报名截至下月15日。",
        category="elections",
        roles=["owners"],
        publish_at=now - 2 * day,
        actor=manager,
        source_ref="demo:election",
    )
    services.publish_announcement(
        community=community,
        title="下周二电梯维保",
        body="下周二9:00-11:00各楼栋电梯轮流维保，请错峰出行。",
        category="notice",
        publish_at=now + 3 * day,
        actor=manager,
        source_ref="demo:lift-maintenance",
    )
    # About half of the addressed accounts have read the outage notice; the steward sees the rest.
    readers = [o.person for o in audience_occupancies(outage).select_related("person") if o.person.user_id]
    for person in readers[: max(1, len(readers) // 2)]:
        services.mark_read(outage, user=person.user, person=person)  # type: ignore[arg-type]


def _leader(community: Community, buildings: list[Building], people: list[Person]) -> None:
    if BuildingLeader.objects.filter(community=community, ends_on__isnull=True).exists() or not buildings:
        return
    home_of = {o.person_id: o.home for o in Occupancy.objects.current().filter(person__in=people[:40])}
    for person in people[1:40]:
        home = home_of.get(person.pk)
        if home is not None and home.building_id == buildings[0].pk:
            residents.set_building_leader(building=buildings[0], person=person, actor=None)
            return


def _board(ctx: DemoContext, people: list[Person]) -> None:
    for index, (category, title, body, replies) in enumerate(POSTS):
        author = people[(index * 3 + 1) % len(people)]
        try:
            post = services.create_post(person=author, category=category, title=title, body=body, actor=None)
        except DomainError:
            continue
        for offset, text in enumerate(replies):
            replier = people[(index * 5 + offset + 2) % len(people)]
            services.create_reply(post=post, person=replier, body=text, actor=None)
        if category == "suggestion":
            services.report_item(item=post, person=people[-1], reason="与物业无关", actor=None)


def _points_setup(community: Community, manager) -> None:
    start = timezone.now() - dt.timedelta(days=365)
    for action, points in (("check_in", 5), ("volunteer_hour", 10), ("hazard_report", 20)):
        services.set_points_rule(community=community, action=action, points=points, effective_from=start, actor=manager)
    for name, description, cost, stock in REWARDS:
        services.create_reward(
            community=community, name=name, description=description, cost=cost, stock=stock, actor=manager
        )


def _activities(ctx: DemoContext, community: Community, people: list[Person], manager, now) -> None:
    day, hour = dt.timedelta(days=1), dt.timedelta(hours=1)
    # Whole local hours of the day (9:00, 14:00, …), as a real activity calendar has them.
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    plans = [
        ("中秋游园会", "event", "", "中心花园", today - 12 * day + 18 * hour, 3, 30),
        ("楼道大扫除", "volunteer", "clean_up", "各楼栋", today - 5 * day + 9 * hour, 2, 12),
        ("垃圾分类宣传志愿活动", "volunteer", "garbage_sorting", "东门广场", today + 2 * day + 9 * hour, 2, 8),
        ("重阳节探望独居老人", "volunteer", "elderly_visit", "物业服务中心集合", today + 4 * day + 14 * hour, 3, 6),
        ("亲子手工课", "event", "", "会所活动室", today + 6 * day + 15 * hour, 2, 10),
    ]
    for title, kind, work, place, starts, hours, capacity in plans:
        activity = services.create_activity(
            community=community,
            title=title,
            place=place,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=hours),
            capacity=capacity,
            kind=kind,
            volunteer_work=work,
            description=f"{title}，欢迎邻居们踊跃参加！",
            actor=manager,
        )
        past = activity.ends_at < now
        wanted = capacity + (3 if not past else 0)  # upcoming ones fill up and have a waitlist
        signed: list[Signup] = []
        # The demo logins (first in ``people``) took part in the past ones, so their points page has a history.
        chosen = ctx.rng.sample(people[3:], min(wanted, len(people) - 3) - (3 if past else 0))
        for person in (people[:3] + chosen) if past else chosen:
            signed.append(
                services.sign_up(
                    activity=activity,
                    person=person,
                    actor=person.user,
                    at=activity.starts_at - 2 * day if past else None,
                )
            )
        if past:
            for signup in signed:
                if signup.status == Signup.Status.CONFIRMED and (signup.person in people[:3] or ctx.rng.random() < 0.8):
                    services.check_in(signup, actor=manager, at=activity.starts_at + dt.timedelta(minutes=10))
            for colour in ((214, 120, 60), (70, 130, 180)):
                services.add_photo(activity, upload=_photo(colour, "photo"), caption=f"{title}现场", actor=manager)
    # A few early redemptions, and a hazard report waiting to be checked.
    from anju.community.models import PointsAccount, Reward

    cheapest = Reward.objects.filter(community=community).order_by("cost").first()
    for account in PointsAccount.objects.filter(community=community, balance__gte=40).order_by("-balance")[:3]:
        if cheapest is not None:
            services.redeem_reward(person=account.person, reward=cheapest, actor=account.person.user)
    earlier = services.report_hazard(person=people[0], place="3栋楼梯间", description="应急灯不亮", actor=None)
    services.decide_hazard_report(earlier, verified=True, actor=manager)
    services.report_hazard(person=people[0], place="2栋地下车库入口", description="消防通道被电动车堵住", actor=None)
    assert Activity.objects.filter(community=community).exists()


def _survey(ctx: DemoContext, community: Community, people: list[Person], now) -> None:
    survey = services.create_survey(
        community=community,
        title="2026年度物业服务满意度调查",
        description="您的意见将帮助我们改进服务。每户填写一份，约需两分钟。",
        questions=[
            QuestionSpec("您对物业服务的总体满意度"),
            QuestionSpec("您对小区保洁的满意度"),
            QuestionSpec("您对报修响应速度的满意度"),
            QuestionSpec("您最希望改进的方面", kind=Question.Kind.CHOICE, choices=("安保", "保洁", "维修", "绿化")),
            QuestionSpec("其他意见和建议", kind=Question.Kind.TEXT, required=False),
        ],
        opens_at=now - dt.timedelta(days=7),
        closes_at=now + dt.timedelta(days=21),
        actor=None,
    )
    questions = list(survey.questions.order_by("position"))
    homes = {o.person_id: o.home for o in Occupancy.objects.current().filter(person__in=people[3:])}
    answered: set[int] = set()
    for person in people[3:]:  # the demo logins answer it themselves
        home = homes.get(person.pk)
        if home is None or home.pk in answered or ctx.rng.random() > 0.35:
            continue
        answered.add(home.pk)
        mood = ctx.rng.choices([5, 4, 3, 2], weights=[4, 4, 2, 1])[0]
        answers = {
            questions[0].pk: str(mood),
            questions[1].pk: str(max(1, min(5, mood + ctx.rng.choice([-1, 0, 1])))),
            questions[2].pk: str(max(1, min(5, mood + ctx.rng.choice([-1, 0])))),
            questions[3].pk: ctx.rng.choice(questions[3].choices),
            questions[4].pk: ctx.rng.choice(["", "", "希望增加充电桩", "绿化可以再好一些"]),
        }
        services.submit_response(survey=survey, person=person, home=home, answers=answers, actor=None)
