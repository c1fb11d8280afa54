"""Deterministic, realistic-looking identities for demo people: names, mobiles, ID numbers, plates.

Everything is drawn from a ``random.Random`` the caller seeds, so the same seed gives the same
people. Mobile numbers and ID numbers are valid by the rules the register enforces (mainland mobile
format; GB 11643 with a computed check character) and unique across the whole demo, because a
resident logs in with their mobile number and the person register refuses duplicates.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from anju.core.validators import id_check_character

# Common surnames, the most frequent first (repeated ones are drawn more often).
SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
    "袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷"
    "侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
MALE_GIVEN = "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘"  # noqa: E501
FEMALE_GIVEN = "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"  # noqa: E501

# Real county-level division codes, used as the birthplace part of generated ID numbers.
BIRTHPLACE_CODES = (
    "110105",
    "110108",
    "310104",
    "310115",
    "320102",
    "330106",
    "330110",
    "340104",
    "350102",
    "370102",
    "410105",
    "420106",
    "430102",
    "440106",
    "510104",
    "610113",
)
MOBILE_PREFIXES = tuple(
    str(prefix) for prefix in (*range(130, 140), *range(150, 160), 166, 177, *range(180, 190), 191, 199)
)
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O on Chinese plates
CAR_MODELS = (
    "白色大众朗逸",
    "黑色丰田凯美瑞",
    "银色本田雅阁",
    "红色比亚迪秦",
    "白色特斯拉Model 3",
    "灰色吉利帝豪",
    "蓝色五菱宏光",
)


@dataclass
class IdentityPool:
    """Hands out unique identities from one random stream. ``reserved`` keeps fixed demo numbers free."""

    rng: random.Random
    reserved_phones: set[str] = field(default_factory=set)
    _phones: set[str] = field(default_factory=set)
    _ids: set[str] = field(default_factory=set)
    _plates: set[str] = field(default_factory=set)

    def surname(self) -> str:
        return self.rng.choice(SURNAMES)

    def given_name(self, female: bool) -> str:
        pool = FEMALE_GIVEN if female else MALE_GIVEN
        return "".join(self.rng.choice(pool) for _ in range(self.rng.choice((1, 2, 2))))

    def name(self, female: bool, surname: str | None = None) -> str:
        return (surname or self.surname()) + self.given_name(female)

    def mobile(self) -> str:
        while True:
            phone = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if phone not in self._phones and phone not in self.reserved_phones:
                self._phones.add(phone)
                return phone

    def claim_mobile(self, phone: str) -> str:
        """Use a fixed number (a named demo account's) and keep it out of the random draw."""
        self._phones.add(phone)
        return phone

    def id_number(self, birth: dt.date, female: bool) -> str:
        """An 18-character resident ID: birthplace, birth date, sequence (odd for men), check character."""
        while True:
            sequence = self.rng.randrange(0, 500) * 2 + (0 if female else 1)
            first17 = f"{self.rng.choice(BIRTHPLACE_CODES)}{birth:%Y%m%d}{sequence:03d}"
            number = first17 + id_check_character(first17)
            if number not in self._ids:
                self._ids.add(number)
                return number

    def birth_date(self, age: int, reference: dt.date) -> dt.date:
        return reference - dt.timedelta(days=age * 365 + self.rng.randrange(365))

    def plate(self, province: str) -> str:
        while True:
            letter = self.rng.choice(PLATE_LETTERS)
            if self.rng.random() < 0.2:  # new-energy plates have 6 characters after the city letter
                tail = self.rng.choice("DF") + f"{self.rng.randrange(10**5):05d}"
            else:
                tail = "".join(self.rng.choice("0123456789" + PLATE_LETTERS) for _ in range(5))
            plate = f"{province}{letter}{tail}"
            if plate not in self._plates:
                self._plates.add(plate)
                return plate

    def car(self) -> str:
        return self.rng.choice(CAR_MODELS)
