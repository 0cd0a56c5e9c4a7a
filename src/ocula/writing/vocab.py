"""Grammar and word lists for the built-in writer, in English and Chinese.

English: articles (a/an), number words, people plurals, lists without the Oxford comma.
Chinese: numbers (两 before a measure word), measure words (量词) chosen from the end of the
Chinese name (猫 -> 只, 咖啡 -> 杯, 车 -> 辆, 寺 -> 座 ...) with the coarse category as fallback,
lists joined with 、 and 和, full-width punctuation.

ImageNet has a fine label set (five cat breeds, 120 dog breeds) but no generic words; the
``HEADS`` table gives the everyday word for groups of ImageNet classes (281-285 -> cat / 猫),
so that "cat" can be said with confidence when the breed is uncertain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..vocabulary import CJK_PUNCTUATION, HAN

# --- English ------------------------------------------------------------------------------

_NUM_EN = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve"]

# words starting with a vowel letter but a consonant sound, and the reverse
_A_EXCEPTIONS = ("uni", "use", "usu", "uti", "ure", "eu", "ewe", "one", "once", "ukulele", "uranium", "u-")
_AN_EXCEPTIONS = ("hour", "honest", "honour", "honor", "heir", "herb")


def article(word: str) -> str:
    """'a' or 'an' for the word that follows."""
    w = word.strip().lower()
    if not w:
        return "a"
    if w.startswith(_AN_EXCEPTIONS):
        return "an"
    if w.startswith(_A_EXCEPTIONS):
        return "a"
    if re.match(r"^[A-Z]{2,}\b", word.strip()):  # acronyms read letter by letter: an MRI, a UFO
        return "an" if word.strip()[0] in "AEFHILMNORSX" else "a"
    if re.match(r"^\d", w):
        return "an" if re.match(r"^(8|11|18|80|800)\b", w) else "a"
    return "an" if w[0] in "aeiou" else "a"


def with_article(noun: str, mass: bool = False) -> str:
    return noun if mass else f"{article(noun)} {noun}"


def number_en(n: int) -> str:
    return _NUM_EN[n] if 0 <= n < len(_NUM_EN) else str(n)


def people_en(n: int, formal: bool = False) -> str:
    """'a person', 'two people', '14 people'."""
    if n == 1:
        return "a person"
    return f"{number_en(n)} {'individuals' if formal and n < 5 else 'people'}"


def join_en(items: list[str], conj: str = "and") -> str:
    """'a', 'a and b', 'a, b and c' (no Oxford comma)."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


def capitalize(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def title_case(s: str) -> str:
    small = {"a", "an", "and", "of", "the", "in", "on", "with", "for", "to", "at", "by"}
    words = s.split()
    return " ".join(w if (i and w.lower() in small) or any(c.isupper() for c in w[1:]) else capitalize(w)
                    for i, w in enumerate(words))


def sentence_en(s: str) -> str:
    """Capitalised, ending in one full stop (or the ! / ? it already has)."""
    s = s.strip()
    if not s:
        return s
    s = capitalize(s)
    return s if s[-1] in ".!?…" or s.endswith(("”", '"')) and s[-2:-1] in ".!?" else s + "."


# --- Chinese --------------------------------------------------------------------------------

_DIGITS_ZH = "零一二三四五六七八九"


def number_zh(n: int, before_measure: bool = True) -> str:
    """Chinese numeral; 两 instead of 二 before a measure word (两个人)."""
    if n == 2 and before_measure:
        return "两"
    if 0 <= n < 10:
        return _DIGITS_ZH[n]
    if 10 <= n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _DIGITS_ZH[tens]) + "十" + (_DIGITS_ZH[ones] if ones else "")
    return str(n)


def people_zh(n: int, formal: bool = False) -> str:
    """'一个人', '两个人'; formal (news) style: '一人', '两人'."""
    return f"{number_zh(n)}{'' if formal else '个'}人"


def join_zh(items: list[str]) -> str:
    """'甲', '甲和乙', '甲、乙和丙'."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{'、'.join(items[:-1])}和{items[-1]}"


def sentence_zh(s: str) -> str:
    s = s.strip().rstrip("，、；：,;: ")
    if not s:
        return s
    return s if s[-1] in "。！？" else s + "。"


# Measure words chosen by how the Chinese name ends; longest suffix wins.
_MEASURE_SUFFIX: dict[str, str] = {}
for _mw, _ends in {
    "架": "飞机 客机 战斗机 直升机 无人机 钢琴 风琴 梯子 秋千 望远镜",
    "部": "手机 电话 电影",
    "台": "机 电脑 电视 显示器 冰箱 洗衣机 相机 收音机 打印机 音箱 炉 微波炉 烤箱 投影仪 仪",
    "辆": "车 汽车 卡车 轿车 跑车 巴士 公交车 救护车 消防车 坦克 摩托",
    "列": "火车 列车 地铁",
    "艘": "船 舰 艇 舟 轮 帆船 游艇 潜艇 独木舟",
    "只": ("猫 狗 犬 鸟 鸡 鸭 鹅 兔 兔子 鼠 虫 蝶 蝴蝶 蛾 蛙 龟 猴 猿 熊猫 羊 狼 狐 狐狸 虎 狮 豹 蟹 螃蟹 虾 "
           "蜘蛛 鹰 雀 鹦鹉 企鹅 蜥蜴 鹤 鹳 蜂 蚁 蝎 蟋蟀 螳螂 蜻蜓 松鼠 刺猬 浣熊 袋鼠 海豹 海狮 水獭 鹿 "
           "孔雀 天鹅 鸽 鹭 蝙蝠 猩猩 狒狒 獾 鼬 貂 鸵鸟 火烈鸟 海星 蜗牛 水母"),
    "条": "鱼 鲨 鲨鱼 鳗 鳐 蛇 蟒 龙 裤 裤子 牛仔裤 围巾 领带 项链 河 路 街 毛巾 毯子 被子 裙子 绳",
    "头": "牛 猪 象 大象 骆驼 河马 犀牛 鲸 熊 牦牛 野牛 水牛 狮子",
    "匹": "马 骡 驴 斑马 布",
    "朵": "花 菊 雏菊 玫瑰 兰 莲 郁金香 向日葵 蘑菇 菌 云",
    "棵": "树 松 柏 仙人掌 白菜 卷心菜 西兰花 花椰菜",
    "株": "草 植物 玉米",
    "座": ("寺 庙 寺庙 塔 楼 桥 山 城堡 教堂 宫 殿 屋 房 宅 堡 坝 灯塔 大厦 建筑 亭 碑 雕像 喷泉 火山 岛 "
           "钟楼 清真寺 谷仓 温室 城 墓"),
    "栋": "房子 别墅 公寓",
    "杯": "咖啡 浓缩咖啡 拿铁 茶 酒 葡萄酒 红酒 奶 牛奶 汁 饮料 蛋奶酒 可可 奶昔 鸡尾酒",
    "碗": "汤 清汤 粥 饭 米饭 面 面条 麦片",
    "盘": "菜 沙拉 意面 肉糕 炒饭",
    "份": "冰淇淋 甜点 蛋糕 披萨 比萨 薯泥 土豆泥 卷饼 酱 鳄梨酱 馅饼 三明治",
    "件": "衣 服 装 衫 袍 外套 夹克 毛衣 背心 制服 军装 西装 和服 大衣 雨衣 睡衣 围裙 盔甲 家具 乐器 物品",
    "双": "鞋 靴 袜 拖鞋 跑鞋 凉鞋 筷子 手套",
    "顶": "帽 帽子 头盔 帐篷 蚊帐 王冠",
    "把": "椅 椅子 伞 刀 剑 锤 锤子 剪刀 钥匙 勺 勺子 叉 叉子 吉他 小提琴 大提琴 扇 扇子 锁 斧 锯 铲 扫帚 枪 弓 琴",
    "张": "桌 桌子 床 纸 票 卡 照片 画 地图 网 沙发 餐桌 书桌 海报 唱片 光盘",
    "枚": "币 硬币 火箭 导弹 邮票 戒指 奖章 徽章 鸡蛋 蛋 别针",
    "本": "书 杂志 笔记本 字典 相册",
    "块": "表 手表 蛋糕 面包 饼干 巧克力 石头 肥皂 砖 牌",
    "颗": "星 珍珠 钻石 牙 心 草莓 樱桃 葡萄 纽扣",
    "个": "瓶 杯 杯子 球 包 盒 箱 碗 盘 桶 罐 灯 钟 瓶子 篮 篮子 橙子 柠檬 苹果 香蕉 菠萝 汉堡 热狗 百吉饼 人",
    "名": "员 运动员 球员 手 潜水员 者 学生 士兵",
    "位": "新郎 新娘 老人 医生 老师 女士 先生",
}.items():
    for _end in _ends.split():
        _MEASURE_SUFFIX[_end] = _mw
_SUFFIXES = sorted(_MEASURE_SUFFIX, key=len, reverse=True)

CATEGORY_MEASURE = {
    "animal": "只", "person": "个", "vehicle": "辆", "food": "份", "plant": "株", "building": "座",
    "clothing": "件", "furniture": "件", "electronics": "台", "instrument": "件", "tool": "件",
    "sport": "件", "scene": "处", "object": "个",
}


def measure_word(name_zh: str, category: str = "object", fallback: str | None = None) -> str:
    """The measure word for one of ``name_zh``: by how the name ends, else ``fallback``, else
    by category."""
    for end in _SUFFIXES:
        if name_zh.endswith(end):
            return _MEASURE_SUFFIX[end]
    return fallback or CATEGORY_MEASURE.get(category, "个")


# --- nouns ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Noun:
    """One thing that can be named in both languages."""

    en: str
    zh: str
    mw: str = "个"                 # Chinese measure word
    mass: bool = False             # English: no article ("broccoli", "clothing")
    category: str = "object"
    hashtag_zh: str | None = None  # a more idiomatic hashtag (猫 -> 猫咪)

    def a(self) -> str:
        """'an Egyptian cat', 'broccoli'."""
        return with_article(self.en, self.mass)

    def one_zh(self) -> str:
        """'一只埃及猫'."""
        return f"一{self.mw}{self.zh}"


# Coarse categories, said when no label is certain enough.
CATEGORY_NOUNS: dict[str, Noun] = {
    "animal": Noun("animal", "动物", "只", category="animal"),
    "person": Noun("person", "人", "个", category="person"),
    "vehicle": Noun("vehicle", "车", "辆", category="vehicle"),
    "food": Noun("food", "食物", "份", mass=True, category="food"),
    "plant": Noun("plant", "植物", "株", category="plant"),
    "building": Noun("building", "建筑", "座", category="building"),
    "clothing": Noun("piece of clothing", "衣物", "件", category="clothing"),
    "furniture": Noun("piece of furniture", "家具", "件", category="furniture"),
    "electronics": Noun("electronic device", "电子设备", "台", category="electronics"),
    "instrument": Noun("musical instrument", "乐器", "件", category="instrument"),
    "tool": Noun("tool", "工具", "件", category="tool"),
    "sport": Noun("piece of sports equipment", "运动器材", "件", category="sport"),
    "scene": Noun("outdoor scene", "户外景色", "处", category="scene"),
    "object": Noun("object", "物品", "件", category="object"),
}

# Keywords and hashtags for each category (None: too vague to be a useful keyword).
CATEGORY_TAGS: dict[str, tuple[str | None, str | None]] = {
    "animal": ("animal", "动物"), "person": ("people", "人物"), "vehicle": ("vehicle", "交通工具"),
    "food": ("food", "美食"), "plant": ("plant", "植物"), "building": ("architecture", "建筑"),
    "clothing": ("fashion", "服饰"), "furniture": ("furniture", "家具"), "electronics": ("electronics", "数码"),
    "instrument": ("music", "乐器"), "tool": ("tools", "工具"), "sport": ("sports", "运动"),
    "scene": ("landscape", "风景"), "object": (None, None),
}


# Everyday words for groups of ImageNet-1k classes (index ranges are the standard order).
def _r(a: int, b: int) -> range:
    return range(a, b + 1)


_HEAD_GROUPS: list[tuple[Noun, list[range | list[int]]]] = [
    (Noun("cat", "猫", "只", category="animal", hashtag_zh="猫咪"), [_r(281, 285)]),
    (Noun("dog", "狗", "只", category="animal", hashtag_zh="狗狗"), [_r(151, 268)]),
    (Noun("bird", "鸟", "只", category="animal", hashtag_zh="鸟类"), [_r(7, 24), _r(80, 100), _r(127, 146)]),
    (Noun("fish", "鱼", "条", category="animal"), [_r(0, 6), _r(389, 397)]),
    (Noun("frog", "青蛙", "只", category="animal"), [_r(30, 32)]),
    (Noun("turtle", "龟", "只", category="animal"), [_r(33, 37)]),
    (Noun("lizard", "蜥蜴", "只", category="animal"), [_r(38, 48)]),
    (Noun("snake", "蛇", "条", category="animal"), [_r(52, 68)]),
    (Noun("spider", "蜘蛛", "只", category="animal"), [_r(72, 77)]),
    (Noun("crab", "螃蟹", "只", category="animal"), [_r(118, 121), [125]]),
    (Noun("whale", "鲸", "头", category="animal"), [_r(147, 148)]),
    (Noun("wolf", "狼", "只", category="animal"), [_r(269, 272)]),
    (Noun("fox", "狐狸", "只", category="animal"), [_r(277, 280)]),
    (Noun("bear", "熊", "头", category="animal"), [_r(294, 297)]),
    (Noun("beetle", "甲虫", "只", category="animal"), [_r(300, 307)]),
    (Noun("butterfly", "蝴蝶", "只", category="animal"), [_r(321, 326)]),
    (Noun("rabbit", "兔子", "只", category="animal"), [_r(330, 332)]),
    (Noun("pig", "猪", "头", category="animal"), [_r(341, 343)]),
    (Noun("monkey", "猴子", "只", category="animal"), [_r(369, 382)]),
    (Noun("ape", "猿", "只", category="animal"), [_r(365, 368)]),
    (Noun("elephant", "大象", "头", category="animal"), [_r(385, 386)]),
    (Noun("car", "汽车", "辆", category="vehicle"), [[407, 436, 468, 511, 609, 627, 656, 661, 751, 817]]),
    (Noun("truck", "卡车", "辆", category="vehicle"), [[555, 569, 675, 717, 734, 864, 867]]),
    (Noun("boat", "船", "艘", category="vehicle"),
     [[403, 472, 484, 510, 554, 576, 625, 628, 724, 780, 814, 833, 871, 914]]),
    (Noun("aircraft", "飞机", "架", category="vehicle"), [[404, 895, 908]]),
    (Noun("coffee", "咖啡", "杯", mass=True, category="food"), [[967]]),
    (Noun("cup", "杯子", "个", category="object"), [[968, 504]]),
    (Noun("flower", "花", "朵", category="plant"), [[985, 986]]),
    (Noun("mushroom", "蘑菇", "朵", category="plant"), [[947, 991, 992, 993, 994, 995, 996, 997]]),
    (Noun("fruit", "水果", "个", mass=False, category="food"), [_r(948, 957)]),
    (Noun("vegetable", "蔬菜", "份", mass=False, category="food"), [_r(936, 946)]),
]
HEADS: dict[int, Noun] = {}
for _noun, _ranges in _HEAD_GROUPS:
    for _rg in _ranges:
        for _i in _rg:
            HEADS[_i] = _noun

# ImageNet classes that read as uncountable in English (no article).
MASS_NOUNS = {"guacamole", "consomme", "trifle", "ice cream", "mashed potato", "hay", "carbonara",
              "chocolate sauce", "dough", "meat loaf", "red wine", "eggnog", "toilet tissue", "corn",
              "broccoli", "cauliflower", "espresso foam", "sand", "grass", "chain mail", "honeycomb"}

# ImageNet classes that are people (the label set has no plain "person").
PERSON_LABELS = {981: ("ballplayer", "棒球运动员"), 982: ("groom", "新郎"), 983: ("scuba diver", "潜水员")}


def is_imagenet(classifier: str | None) -> bool:
    """Whether label indices can be read as ImageNet-1k classes (the offline classifiers)."""
    if not classifier:
        return True
    c = classifier.lower()
    return not any(k in c for k in ("clip", "siglip", "zero", "open", "custom", "trained"))


# --- colours, quality, dates ------------------------------------------------------------------

_MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]


def parse_exif_date(value: str | None) -> datetime | None:
    """The date of an EXIF/ISO string ('2021:03:12 14:03:22', '2021-03-12T14:03:22'); None if
    missing or a placeholder like '0000:00:00'."""
    if not value:
        return None
    m = re.match(r"\s*(\d{4})[-:/](\d{1,2})[-:/](\d{1,2})", value)
    if not m:
        return None
    y, mo, d = map(int, m.groups())
    try:
        return datetime(y, mo, d) if 1900 < y < 2200 else None
    except ValueError:
        return None


def date_en(d: datetime) -> str:
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def date_zh(d: datetime) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


# --- text helpers ---------------------------------------------------------------------------

_CJK = re.compile(f"[{HAN}{CJK_PUNCTUATION}]")
_LATIN = re.compile(r"[A-Za-z]")


def cjk_share(text: str) -> float:
    """Share of CJK characters among letters (CJK + Latin); 0 when there are none."""
    c = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return c / (c + latin) if c + latin else 0.0


def clip_words(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    if " " in cut and not _CJK.search(cut[-1:]):
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:，。、") + "…"


def hashtag(word: str) -> str:
    """'Egyptian cat' -> '#EgyptianCat'; '埃及猫' -> '#埃及猫'."""
    parts = re.split(r"[\s\-_'’.,/&]+", word.strip())
    if any(_CJK.search(p) for p in parts):
        body = "".join(parts)
    else:
        body = "".join(p[:1].upper() + p[1:] for p in parts if p)
    body = re.sub(f"[^\\w{HAN}]", "", body)
    return f"#{body}" if body else ""
