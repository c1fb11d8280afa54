"""The neighbour board: the word filter, rate limits, reports, moderation by staff and building
leaders (hidden from residents, kept for staff), bans, and each community seeing only its own."""

from __future__ import annotations

import pytest
from django.test import Client

from anju.community import services
from anju.community.models import Post, Reply
from anju.community.services.board import Banned, RateLimited, mask_sensitive
from anju.core.errors import Conflict, DomainError
from anju.core.tenancy import community_scope
from anju.residents import services as residents

from ..personas import World
from .helpers import png, resident


def _post(person, **kwargs) -> Post:
    values = {"category": "mutual_help", "title": "求助", "body": "谁家有梯子？"}
    values.update(kwargs)
    return services.create_post(person=person, actor=None, **values)


def test_the_word_filter_masks_and_flags_and_is_configurable(world: World) -> None:
    community = world.a.community
    person = world.a.people[0]
    assert mask_sensitive("出售六合彩资料", ["六合彩"]) == ("出售***资料", True)
    clean = _post(person, title="闲置婴儿车", body="九成新，自提", category="second_hand")
    assert not clean.filtered
    dirty = _post(person, title="兼职日结", body="加微信，刷单返利", category="second_hand")
    assert dirty.filtered and "刷单" not in dirty.body and "**" in dirty.body and "兼职日结" not in dirty.title
    services.update_life_settings(community=community, sensitive_words="臭鸡蛋", actor=world.user("manager_x"))
    custom = _post(person, title="谁扔的臭鸡蛋", body="刷单")
    assert custom.title == "谁扔的***" and custom.body == "刷单"  # the list was replaced, not extended
    posts, _replies = services.board.moderation_queue(community.pk)
    assert {p.pk for p in posts} == {dirty.pk, custom.pk}


def test_rate_limit_and_bans(world: World) -> None:
    community = world.a.community
    person = world.a.people[0]
    services.update_life_settings(community=community, posts_per_hour=2, actor=None)
    _post(person)
    first = _post(person)
    with pytest.raises(RateLimited):
        _post(person)
    services.ban_person(person=person, days=3, reason="广告刷屏", actor=world.user("manager_x"))
    neighbour, _user = resident(world.a.homes[1])
    services.create_reply(post=first, person=neighbour, body="我有", actor=None)
    with pytest.raises(Banned):
        services.create_reply(post=first, person=person, body="谢谢", actor=None)
    with pytest.raises(DomainError):
        services.ban_person(person=person, days=0, reason="x", actor=None)


def test_reports_hide_after_the_threshold_and_moderation_hides_from_residents_only(world: World) -> None:
    a = world.a
    community = a.community
    author, _author_user = resident(a.homes[1])
    post = _post(author, title="卖房", body="联系我")
    reporters = [resident(a.homes[i]) for i in (2, 3, 4)]
    assert services.report_item(item=post, person=reporters[0][0], actor=None) is False
    with pytest.raises(Conflict):
        services.report_item(item=post, person=reporters[0][0], actor=None)
    with pytest.raises(DomainError):
        services.report_item(item=post, person=author, actor=None)
    assert services.report_item(item=post, person=reporters[1][0], actor=None) is False
    assert services.report_item(item=post, person=reporters[2][0], actor=None) is True

    resident_client = Client()
    resident_client.force_login(reporters[0][1])
    assert post.title not in resident_client.get("/portal/community/board/").content.decode()
    assert resident_client.get(f"/portal/community/board/{post.pk}/").status_code == 404
    staff = Client()
    staff.force_login(world.user("steward"))
    board_page = staff.get(f"/console/c/{community.pk}/community/board/").content.decode()
    assert post.title in board_page and f'data-post="{post.pk}" data-hidden' in board_page

    staff.post(f"/console/c/{community.pk}/community/board/", {"action": "restore", "kind": "post", "item": post.pk})
    assert resident_client.get(f"/portal/community/board/{post.pk}/").status_code == 200
    # A reply hidden by staff disappears for residents, stays listed for staff.
    reply = services.create_reply(post=post, person=reporters[1][0], body="骗子", actor=None)
    staff.post(
        f"/console/c/{community.pk}/community/board/",
        {"action": "hide", "kind": "reply", "item": reply.pk, "reason": "人身攻击"},
    )
    with community_scope(community.pk):
        assert Reply.objects.get(pk=reply.pk).status == "hidden"
    assert "骗子" not in resident_client.get(f"/portal/community/board/{post.pk}/").content.decode()
    _posts, replies = services.board.moderation_queue(community.pk)
    assert reply.pk not in {r.pk for r in replies}  # reviewed when hidden
    with community_scope(community.pk):
        assert Reply.objects.filter(pk=reply.pk).exists()


def test_building_leaders_moderate_from_the_portal(world: World) -> None:
    a = world.a
    leader, leader_user = resident(a.homes[1], name="楼长王")
    residents.set_building_leader(building=a.buildings[0], person=leader, actor=None)
    author, _user = resident(a.homes[2])
    post = _post(author, title="吵架帖", body="……")
    client = Client()
    client.force_login(leader_user)
    client.post(f"/portal/community/board/{post.pk}/", {"action": "hide", "kind": "post"})
    with community_scope(a.community.pk):
        assert Post.objects.get(pk=post.pk).status == "hidden"
    # The leader still sees it (to restore it); a plain resident does not.
    assert client.get(f"/portal/community/board/{post.pk}/").status_code == 200
    plain = Client()
    plain.force_login(world.user("resident_a"))
    assert plain.get(f"/portal/community/board/{post.pk}/").status_code == 404
    assert plain.post(f"/portal/community/board/{post.pk}/", {"action": "restore", "kind": "post"}).status_code == 404
    client.post(f"/portal/community/board/{post.pk}/", {"action": "restore", "kind": "post"})
    with community_scope(a.community.pk):
        assert Post.objects.get(pk=post.pk).status == "visible"


def test_each_community_sees_only_its_own_board(world: World) -> None:
    post_a = _post(world.a.people[0], title="甲小区的帖子", image=png())
    post_b = _post(world.b.people[0], title="乙小区的帖子")
    client_b = Client()
    client_b.force_login(world.user("resident_b"))
    page = client_b.get("/portal/community/board/").content.decode()
    assert "乙小区的帖子" in page and "甲小区的帖子" not in page
    assert client_b.get(f"/portal/community/board/{post_a.pk}/").status_code == 404
    assert client_b.get(f"/portal/community/board/{post_a.pk}/image/").status_code == 404
    assert client_b.post(f"/portal/community/board/{post_a.pk}/", {"action": "reply", "body": "hi"}).status_code == 404
    with pytest.raises(DomainError):
        services.create_reply(post=post_b, person=world.a.people[0], body="串门", actor=None)
    client_a = Client()
    client_a.force_login(world.user("resident_a"))
    image = client_a.get(f"/portal/community/board/{post_a.pk}/image/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_posting_from_the_portal_refuses_non_pictures(world: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    client.force_login(world.user("resident_a"))
    fake = SimpleUploadedFile("cat.png", b"<?php echo 1; ?>", content_type="image/png")
    response = client.post(
        "/portal/community/board/",
        {"category": "lost_found", "title": "捡到猫", "body": "橘色", "image": fake},
    )
    assert response.status_code == 200
    with community_scope(world.a.community.pk):
        assert not Post.objects.exists()
    response = client.post("/portal/community/board/", {"category": "lost_found", "title": "捡到猫", "body": "橘色"})
    assert response.status_code == 302


def test_pictures_lose_their_metadata_before_neighbours_see_them(world: World) -> None:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = "Camera app 1.0"  # Software
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), (200, 30, 30)).save(buffer, format="JPEG", exif=exif.tobytes())
    with Image.open(io.BytesIO(buffer.getvalue())) as original:
        assert original.getexif().get(0x010F) == "PhoneMaker"
    upload = SimpleUploadedFile("IMG_0001.jpeg", buffer.getvalue(), content_type="image/jpeg")
    post = _post(world.a.people[0], title="捡到钱包", body="在东门", image=upload)
    with post.image.open("rb") as stored, Image.open(stored) as picture:
        assert picture.format == "JPEG" and picture.size == (16, 8)
        assert dict(picture.getexif()) == {}
    assert post.image.name.endswith(".jpg")
