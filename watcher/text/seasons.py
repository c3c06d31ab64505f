"""Which season(s) a listing is for, and which year, from Chinese and English text.

The ``seasonal_launch`` detector calls :func:`listing_season_years` on every new competitor
listing, so everything here is precompiled regular expressions over one normalised string.

Evidence is read in tiers; the first tier that finds anything decides, so a stated season
always beats a guess from the item type ("冬季短袖保暖内衣" is winter):

1. all-season wording (四季, 冬暖夏凉, "all season", "year round", all four seasons named):
   no season at all;
2. explicit seasons: 春/夏/秋/冬 outside known false friends (冬瓜, 春卷, 夏普, 秋千, 青春 ...),
   spring/summer/autumn/fall/winter outside false friends ("box spring", "fall protection",
   "Summer Infant" ...), collection codes (SS27 → spring+summer, AW27/FW27 → autumn+winter),
   "resort"/"cruise" (the pre-summer collection → summer), "transitional"/"mid-season"
   (→ spring+autumn);
3. dated events, by calendar month, so their season follows the hemisphere: Christmas/holiday
   and 春节/新年/情人节 (north: winter), Easter/母亲节 (spring), 端午/七夕/Father's Day
   (summer), 中秋/万圣节/Halloween/Thanksgiving/back to school/开学 (autumn);
4. warmth and cooling modifiers: 加绒, 保暖, fleece-lined, thermal underwear, heated vest →
   winter; 冰丝, 凉感, 防晒, UPF, cooling towel → summer (they beat the garment: 加绒卫衣 is
   winter although a 卫衣 alone is spring+autumn);
5. heavy items first (down, padded and fur garments, heaters, electric blankets, 空调, swimwear,
   sunscreen, flip-flops: "羽绒服…立领夹克" is winter, "貂皮大衣" is not an autumn coat), then
   item types with a season: 羽绒服/down jacket (winter), 毛衣/大衣/boots (autumn+winter),
   风衣/卫衣/冲锋衣/cardigan/hoodie (spring+autumn), 雨衣/rain jacket (spring+summer, the rainy
   months), 短裤/凉鞋/泳衣/shorts/sandals/swimsuit (summer), 风筝/kite (spring);
6. sleeve length: 长袖/long sleeve → spring+autumn, 短袖/无袖/short sleeve/sleeveless → summer
   (so a long-sleeve T-shirt is not summer, a long-sleeve sweater stays autumn+winter);
7. weak items: T恤/T-shirt/tee/polo shirt → summer.

False friends are removed first: places and brands (宁夏, 长春, 秋叶原, 夏新, 夏普, 春雨, 冬凌草,
冬虫夏草), products named after a season ("Winter Green" cream, "Summer Rain" lipstick), parts
("replacement spring", "thermal paste", "car muffler", "front grill"), colours ("Snow",
"winter white"), "bikini briefs", and a device's model date ("Laptop (Summer 2012)"). "Fall"
counts only in a season context (see ``_seasonal_fall``).

Dresses (连衣裙), jeans, blazers and other all-year basics carry no season by themselves.
The description is read only when title, tags and product type say nothing, and then only
for tiers 1–3 (descriptions mention other products: "pair it with sandals").

Seasons are meteorological and labelled with the year they START in: north spring is
Mar–May, summer Jun–Aug, autumn Sep–Nov, winter Dec–Feb (winter 2026 = Dec 2026–Feb 2027);
the south is six months later (south summer 2026 = Dec 2026–Feb 2027).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date
from enum import StrEnum

__all__ = [
    "Season",
    "listing_season_years",
    "season_year",
    "seasons_of",
    "stated_year",
]


class Season(StrEnum):
    """A meteorological season."""

    SPRING = "spring"
    SUMMER = "summer"
    AUTUMN = "autumn"
    WINTER = "winter"


_SP, _SU, _AU, _WI = Season.SPRING, Season.SUMMER, Season.AUTUMN, Season.WINTER
_ALL = frozenset(Season)
_EMPTY: frozenset[Season] = frozenset()

# First month of each season, north and south.
_START_MONTH: dict[str, dict[Season, int]] = {
    "north": {_SP: 3, _SU: 6, _AU: 9, _WI: 12},
    "south": {_SP: 9, _SU: 12, _AU: 3, _WI: 6},
}
_MONTH_SEASON: dict[str, tuple[Season, ...]] = {
    h: tuple(next(s for s, m in starts.items() if (month - m) % 12 < 3) for month in range(1, 13))
    for h, starts in _START_MONTH.items()
}

# Season -> years to add to a year the listing states: 0, or -1 for a January/February event,
# which lies in the season that started the previous December (Valentine's 2027: winter 2026).
_Hits = dict[Season, int]

_AW = (_AU, _WI)
_SA = (_SP, _AU)
_SS = (_SP, _SU)


_EN_HEAD, _EN_TAIL = "(?<![a-z])(?:", ")(?![a-z])"
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")

# Kinds of evidence, in the order they decide (see the module docstring).
_FALSE, _ALL_SEASONS, _EXPLICIT, _EVENT, _MODIFIER, _HEAVY, _ITEM, _SLEEVE, _WEAK = range(9)
_Entry = tuple[str, int, object]


def _kind(kind: int, entries: Sequence[tuple[str, object]]) -> list[_Entry]:
    return [(rx, kind, value) for rx, value in entries]


def _prefixed(word: str, prefixes: str) -> str:
    """``a<word>|b<word>|...`` for space-separated prefixes a, b, ..."""
    return "|".join(prefix + word for prefix in prefixes.split())


def _en(words: str) -> str:
    """An English alternative bounded by non-letters (titles glue English to Chinese)."""
    return rf"(?<![a-z])(?:{words})(?![a-z])"


# --- tier 1: all-season -----------------------------------------------------------------
_ALL_SEASON_WORDS = _kind(
    _ALL_SEASONS,
    [
        (r"四季|冬暖夏凉|春夏秋冬", None),
        (
            _en(
                r"all[- ]?seasons?|year[- ]?round|four[- ]seasons?|all[- ]year|"
                r"[34][- ]season"
            ),
            None,
        ),
    ],
)

# --- false friends, removed before tiers 2, 4–7 (events are read before this) --------------
_FALSE_FRIENDS = _kind(
    _FALSE,
    [
        (
            # Chinese: words that contain a season character but are not about a season.
            r"冬瓜|春卷|夏普|冬虫夏草|冬阴功|秋刀鱼|秋千|青春|华夏|长春|宜春|冬枣|春风|秋葵|"
            r"夏威夷果|麦冬|天冬|冬青|春秋航空|四季青|四季豆|回春|春药|冬菇|夏枯草|夏利|春兰|千秋|"
            r"春晚|宁夏|秋叶原|夏新(?![款品装])|春雨|冬凌草|春城|秋林|反季|"
            # Chinese words that hide an item word: cotton fabric (纯棉衣服 is not a 棉衣), sweater
            # chains, wardrobes, kettles, work gloves, computer fans, flaxseed.
            r"纯棉|全棉|精梳棉|长绒棉|新疆棉|棉麻|毛衣链|大衣柜|大衣架|电热水|亚麻籽|"
            # Every Chinese alternative starts with a literal, so re can skip ahead fast.
            + _prefixed("手套", "一次性 洗碗 橡胶 家务 劳保 园艺 乳胶 丁腈 隔热 烤箱 防烫 拳击")
            + "|"
            + _prefixed("手套", "防割 厨房 手术 pvc 检查 美容 清洁 骑行 运动 健身 防护 工作")
            + "|"
            + _prefixed("靴", "登山 劳保 工装 安全 防砸 钓鱼")
            + "|"
            + _prefixed("风扇", "电脑 cpu 散热 机箱 显卡"),
            None,
        ),
        (
            _en(
                r"box[- ]?springs?|springs? (?:loaded|water|rolls?|onions?|valley|hinges?|clips?|"
                r"clamps?|pins?|steel|scales?|balance|washers?|mattress|coils?|locks?|latch(?:es)?|"
                r"hooks?|bars?|valves?|assortment|cotter|tension)|spring[- ]loaded|"
                r"(?:compression|extension|torsion|coil|pocket|leaf|gas|tension|return|door|hot|"
                r"wire|trampoline|mattress|valve|clock|main|hair) springs?|"
                r"fall (?:protection|arrest|detection|prevention|alert|resistant|proof|off|"
                r"guys|limiter|harness)|anti[- ]?fall|fall[- ]?proof|free[- ]?fall|drop[- ]fall|"
                r"summer infant|summer fridays|summer'?s eve|donna summer|winter melon|summer rain|"
                r"winter ?green|winter white|spring green|snow leopard|snow peak|"
                r"bikini (?:briefs?|panty|panties|underwear|knickers|cut|line|trimmers?|shavers?)|"
                r"replacement springs?|springs? (?:for|kit|set)|\d+ ?(?:pcs|pieces|pack) springs?|"
                r"(?:pool|patio|garage|greenhouse) heaters?|(?:front|radiator|bumper|car|truck|mesh|"
                r"speaker|vent|grille?) grills?|grill (?:guard|insert|mesh|emblem|badge)s?|"
                r"thermal (?:paste|pads?|printers?|paper|labels?|cameras?|imag\w*|compound|grease|"
                r"tape|transfer|receipt|fuses?|cut-?off|sensors?|switch(?:es)?|binding|laminat\w*|"
                r"carafe|mugs?|cups?|cooker|bottle|flask)|"
                r"(?:car|exhaust|motorcycle|motorbike) mufflers?|mufflers? (?:tip|pipe|delete|clamp|"
                r"bearing|exhaust)s?|"
                r"winter soldier|winter'?s? (?:tale|bone)|snow white|snow cone|jet ski|water ski|"
                r"boxer (?:shorts?|briefs?)|silk scarf|satin scarf|hair scarf|head ?scarf|"
                r"golf tees?|fish tank|water heater|aquarium heater|tank heater|heater core|"
                r"pool (?:table|cue)s?|boot ?cut|boot (?:tray|jack|shaper|rack)s?|car boot|"
                r"(?:disposable|nitrile|latex|vinyl|rubber|work|gardening|garden|kitchen|oven|"
                r"boxing|golf|cycling|bike|medical|cleaning|dish(?:washing)?|cut[- ]resistant|exam|"
                r"mechanic|weight ?lifting|workout|gym|baseball|batting|goalkeeper|grill|bbq|"
                r"welding|surgical|safety|food)\s(?:gloves?|mitts?)|bed linens?|table linens?|"
                r"(?:hiking|work|steel toe|composite toe|safety|wading|fishing|riding|cowboy)"
                r"\sboots?"
            ),
            None,
        ),
    ],
)

# --- tier 2: explicit seasons ------------------------------------------------------------
# A lone 春/夏/秋/冬 counts once false friends, events and items (秋裤) have taken theirs.
_ZH_SEASON_CHARS = _kind(
    _EXPLICIT, [("春", (_SP,)), ("夏", (_SU,)), ("秋", (_AU,)), ("冬", (_WI,))]
)
_EXPLICIT_WORDS = _kind(
    _EXPLICIT,
    [
        (_en(r"(?:mid-?)?spring(?:time)?"), (_SP,)),
        (_en(r"(?:mid-?)?summer(?:time|y)?"), (_SU,)),
        (_en(r"autumn(?:al)?"), (_AU,)),
        (_en(r"(?:mid-?)?winter(?:time|y)?|wintry"), (_WI,)),
        (r"(?<![a-z0-9])s/?s\s?'?(?:20)?\d{2}(?!\d)|(?<![0-9.])(?:20)?\d{2}\s?ss(?![a-z])", _SS),
        (
            r"(?<![a-z0-9])(?:a/?w|f/?w)\s?'?(?:20)?\d{2}(?!\d)"
            r"|(?<![0-9.])(?:20)?\d{2}\s?(?:aw|fw)(?![a-z])",
            _AW,
        ),
        (_en(r"resort(?:wear)?|cruise (?:wear|collection|\d{2,4})"), (_SU,)),
        (_en(r"transitional|transition season|mid-?season|between[- ]seasons?"), _SA),
    ],
)

# --- tier 3: dated events: (pattern, month north, month south) ----------------------------
_EVENT_TABLE: list[tuple[str, int, int]] = [
    (r"七夕(?:情人节)?", 8, 8),
    (r"春节|新春|过年|年货|春联|对联|福字|元宵", 2, 2),
    (r"元旦|新年|寒假", 1, 1),
    (r"情人节", 2, 2),
    (r"圣诞|平安夜", 12, 12),
    (r"万圣", 10, 10),
    (r"中秋|月饼|国庆", 9, 9),
    (r"端午|粽子", 6, 6),
    (r"开学", 9, 2),
    (r"毕业", 6, 12),
    (r"母亲节", 5, 5),
    (r"父亲节", 6, 6),
    (r"清明|复活节", 4, 4),
    (r"感恩节", 11, 11),
    (r"暑假", 7, 7),
    (
        _en(r"christmas|xmas|x-mas|holidays?|santa|stocking stuffers?|advent(?: calendars?)?"),
        12,
        12,
    ),
    (_en(r"(?:lunar|chinese) new year"), 2, 2),
    (_en(r"new year'?s?(?: eve)?"), 1, 1),
    (_en(r"valentine'?s?(?: day)?"), 2, 2),
    (_en(r"easter"), 4, 4),
    (_en(r"mother'?s'? day"), 5, 5),
    (_en(r"father'?s'? day|graduation|grad party"), 6, 6),
    (_en(r"4th of july|fourth of july|independence day"), 7, 7),
    (_en(r"back[- ]to[- ]school"), 9, 2),
    (_en(r"mid-?autumn|mooncakes?"), 9, 9),
    (_en(r"halloween"), 10, 10),
    (_en(r"thanksgiving"), 11, 11),
]
_EVENTS = _kind(_EVENT, [(rx, (north, south)) for rx, north, south in _EVENT_TABLE])

# --- tier 4: warmth / cooling modifiers --------------------------------------------------
_MODIFIERS = _kind(
    _MODIFIER,
    [
        (r"加绒|保暖|防寒", (_WI,)),
        (r"冰丝|凉感|冰感|防晒|空调(?:衫|被|扇|毯|服)|冷风机", (_SU,)),
        (
            _en(
                r"(?:fleece|sherpa|shearling|fur|faux fur|plush|warm|wool|cashmere)[- ]lined|"
                r"thermals?|long johns|cold[- ]weather|"
                r"base ?layers?|thermal (?:underwear|base|leggings|socks|tops?|shirts?|pants|"
                r"set|lined|gloves|hats?|innerwear|undershirts?)|insulated (?:jackets?|coats?|"
                r"vests?|boots?|gloves|pants|bibs?|overalls|parkas?)|heated (?:vests?|"
                r"jackets?|gloves|socks|blankets?|throws?|hoodies?|insoles|scarf|coats?|"
                r"mattress pads?)|electric blankets?"
            ),
            (_WI,),
        ),
        (
            _en(
                r"upf ?\d+\+?|sun protection|uv protection|ice silk|cooling (?:towels?|vests?|"
                r"neck\w*|scarf|sheets?|blankets?|pillows?|mats?|sleeves?|hats?)"
            ),
            (_SU,),
        ),
    ],
)

# --- tier 5a: heavy items, whose season outweighs a lighter garment named beside them
# ("羽绒服...立领夹克" is a down jacket; "貂皮大衣" is a winter fur, not an autumn coat) ----
_HEAVY_ITEMS = _kind(
    _HEAVY,
    [
        (
            r"羽绒(?:马甲|背心|服|衣|被|裤|夹克)?|棉服|棉衣|棉袄|派克服|面包服|貂皮|水貂|貂绒|皮草|裘皮",
            (_WI,),
        ),
        (r"电热毯|电热垫|取暖|暖气片|暖风机|电暖器|油汀|小太阳", (_WI,)),
        (r"泳衣|泳裤|泳装|比基尼|防晒霜|防晒衣|防晒服|空调", (_SU,)),
        (
            _en(
                r"down (?:jackets?|coats?|vests?|parkas?)|puffers?|puffer (?:jackets?|vests?|coats?)|"
                r"bubble (?:jackets?|coats?)|padded (?:jackets?|coats?|vests?|gilets?)|"
                r"parkas?|snowmobile\w*|snocross|"
                r"electric blankets?|space heaters?|radiators? heaters?"
            ),
            (_WI,),
        ),
        (
            _en(
                r"swim\w*|bikinis?|tankinis?|sunscreen|sunblock|sun cream|flip[- ]?flops?|floaters"
            ),
            (_SU,),
        ),
    ],
)

# --- tier 5: item types ------------------------------------------------------------------
_ITEMS = _kind(
    _ITEM,
    [
        # Chinese, specific before generic (the first alternative at a position wins).
        (r"毛绒拖鞋?|毛毛拖鞋?|棉拖鞋?|羽绒(?:马甲|背心|服|衣|被|裤)?|雪地靴?|滑雪", (_WI,)),
        (r"棉服|棉衣|棉袄|棉裤|棉鞋|派克服|面包服|围巾|围脖|手套", (_WI,)),
        (r"毛线帽|针织帽|雷锋帽|毛毛帽|护耳|耳罩|耳套|暖宝宝|暖贴|暖手|暖脚|热水袋", (_WI,)),
        (r"电热毯|电热垫|电热披肩|取暖|电暖器|暖风机|小太阳|油汀|壁炉", (_WI,)),
        (r"雨衣|雨披|雨靴|雨鞋|水鞋|雨裤", _SS),
        (r"毛衣开衫|开衫毛衣|毛衣外套|毛衣|羊毛衫|羊绒衫|毛线衣|大衣|毛呢|呢子|秋衣|秋裤", _AW),
        (r"羊羔毛|羊羔绒", _AW),
        (r"马丁靴|切尔西靴|短靴|长靴|靴子?|抓绒|摇粒绒|珊瑚绒|法兰绒|灯芯绒", _AW),
        (r"风衣|针织衫|针织开衫|开衫|卫衣|冲锋衣|夹克|牛仔外套|棒球服|皮衣", _SA),
        (r"凉鞋|凉拖|人字拖|拖鞋|洞洞鞋|沙滩|泳|比基尼|遮阳|太阳帽|草帽|短裤|吊带|背心", (_SU,)),
        (r"亚麻|雪纺|凉席|风扇|蚊帐|驱蚊|防蚊|蚊香|花露水|冰袖|夏威夷|冰淇淋|雪糕|冰棍", (_SU,)),
        (r"风筝|明前", (_SP,)),
        # English.
        (
            _en(
                r"down (?:jackets?|coats?|vests?|parkas?|comforters?|duvets?)|puffers?|"
                r"puffer (?:jackets?|vests?|coats?)|parkas?|"
                r"snow(?:suits?|boards?|man|men|flakes?|\s?(?:boots?|pants|bibs?|gloves|"
                r"jackets?|shovels?|brush|sleds?|globes?|blowers?|throwers?|chains?))|"
                r"ski(?:s|ing|wear)?(?:\s(?:goggles|jackets?|pants|masks?|gloves|helmets?|"
                r"socks|suits?|bibs?|boots?))?|sleds?|sledges?|toboggans?|ice scrapers?|"
                r"beanies?|scarf|scarves|gloves?|mittens?|earmuffs?|ear warmers?|neck warmers?|"
                r"balaclavas?|(?:hand|foot|toe) warmers?|space heaters?|heaters?|mufflers?|fleece|"
                r"hot water bottles?|firewood|fireplaces?|(?:fuzzy|fluffy|furry|plush|sherpa|fleece|faux fur|cozy)"
                r"\s(?:\w+\s){0,2}slippers?"
            ),
            (_WI,),
        ),
        (
            _en(
                r"rain ?(?:coats?|jackets?|boots?|ponchos?|suits?|pants|gear|shoes|wear|slickers?)"
            ),
            _SS,
        ),
        (
            _en(
                r"cardigan sweaters?|sweater cardigans?|sweaters?|turtlenecks?|shearling|sherpa|cable[- ]knit|chunky[- ]knit|overcoats?|pea ?coats?|"
                r"wool coats?|corduroy|flannel|boots?|booties?"
            ),
            _AW,
        ),
        (
            _en(
                r"trench(?: coats?)?|windbreakers?|cardigans?|hoodies?|sweatshirts?|"
                r"bomber(?: jackets?)?|denim jackets?|jean jackets?|shackets?|varsity jackets?|"
                r"letterman(?: jackets?)?"
            ),
            _SA,
        ),
        (
            _en(
                r"shorts|sandals?|flip[- ]?flops?|swim\w*|bikinis?|tankinis?|rash ?guards?|"
                r"sun ?hats?|straw hats?|sunscreen|sunblock|sun cream|after[- ]sun|"
                r"tank tops?|camisoles?|camis?|linen|sundress(?:es)?|beach\w*|"
                r"(?:pool|swim) floats?|pool (?:floats?|noodles?|toys?)|inflatable pool|"
                r"kiddie pool|water (?:guns?|balloons?|slides?|shoes|tables?)|squirt guns?|"
                r"sprinklers?|mosquito\w*|bug (?:spray|repellent)|insect repellent|citronella|"
                r"grills?|bbq|barbecues?|"
                r"(?:handheld|portable|neck|desk|electric|table|tower|pedestal|misting|clip[- ]on|"
                r"personal|mini|usb) fans?|hawaiian|aloha shirts?|ice cream|popsicles?|ice pops?"
            ),
            (_SU,),
        ),
        (_en(r"kites?"), (_SP,)),
    ],
)

# --- tier 6: sleeve length; tier 7: weak items ---------------------------------------------
_SLEEVES = _kind(
    _SLEEVE,
    [
        (r"长袖", _SA),
        (_en(r"long[- ]?sleeves?d?"), _SA),
        (r"短袖|半袖|无袖", (_SU,)),
        (_en(r"short[- ]?sleeves?d?|sleeveless"), (_SU,)),
    ],
)
_WEAK_ITEMS = _kind(
    _WEAK, [(r"t恤|体恤|polo衫", (_SU,)), (_en(r"t-?shirts?|tees?|polo shirts?"), (_SU,))]
)


class _Lexicon:
    """Every pattern of every kind, scanned in one pass per script.

    One regex for Chinese and one for English (sharing a single word-boundary check) run
    far faster than a regex per kind: named groups or per-alternative lookbehinds stop
    ``re`` from skipping ahead, so the alternative that matched is looked up afterwards from
    the matched text. At any position the first listed alternative wins, so false friends
    come first (they swallow "box spring", 冬瓜) and the lone season characters last.
    """

    __slots__ = ("_cache", "_en", "_entries", "_zh")

    def __init__(self, entries: Sequence[_Entry]) -> None:
        zh = [rx for rx, _, _ in entries if _HAS_CJK.search(rx)]
        en = [
            rx[len(_EN_HEAD) : -len(_EN_TAIL)] if rx.startswith(_EN_HEAD) else rx
            for rx, _, _ in entries
            if not _HAS_CJK.search(rx)
        ]
        self._zh = re.compile("|".join(zh))
        # The lookahead rejects positions that cannot start an English alternative (every
        # Chinese character) before the alternatives are tried.
        self._en = re.compile(r"(?<![a-z])(?=[a-z0-9])(?:" + "|".join(en) + _EN_TAIL)
        assert self._zh.groups == self._en.groups == 0, "use (?:...) in patterns"
        self._entries = [(re.compile(rx), kind, value) for rx, kind, value in entries]
        self._cache: dict[str, tuple[int, object]] = {}

    def _lookup(self, matched: str) -> tuple[int, object]:
        found = self._cache.get(matched)
        if found is None:
            found = next((k, v) for rx, k, v in self._entries if rx.fullmatch(matched))
            if len(self._cache) > 4096:
                self._cache.clear()  # codes such as "fw2026" make the key set open-ended
            self._cache[matched] = found
        return found

    def scan(self, text: str) -> list[tuple[int, object]]:
        """(kind, value) of every match in normalised ``text``."""
        found = [self._lookup(m) for m in self._en.findall(text)]
        if not text.isascii():
            found.extend(self._lookup(m) for m in self._zh.findall(text))
        return found


_LEXICON = _Lexicon(
    [
        *_FALSE_FRIENDS,
        *_ALL_SEASON_WORDS,
        *_EVENTS,
        *_EXPLICIT_WORDS,
        *_MODIFIERS,
        *_HEAVY_ITEMS,
        *_ITEMS,
        *_SLEEVES,
        *_WEAK_ITEMS,
        *_ZH_SEASON_CHARS,
    ]
)


def _normalise(text: str) -> str:
    """Full-width to ASCII (ＳＳ２７ → ss27) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


# "Fall" is a season only where a seller means one: next to another season or a year, before
# a word of the trade (fall collection, fall decor, fall jacket), after "for/early/late/pre-",
# or opening the title. Elsewhere it is a verb or a name ("If Angels Fall", "slip fall trip",
# "Fall Protection"). Such a "fall" is rewritten to "autumn" before the scan.
_FALL_WORD = re.compile(r"(?<![a-z])fall(?![a-z])")
_FALL_BEFORE = re.compile(
    r"(?:(?:spring|summer|winter|autumn)\s?(?:[/&,+-]|and)?\s?"
    r"|(?<![a-z])(?:for|early|late|this|perfect for|pre-?)\s?|^\s*|\|\s*)$"
)
_FALL_AFTER = re.compile(
    r"\s?(?:[/&,+-]|and)?\s?(?:winter|spring|summer|autumn)(?![a-z])|\s?['’]?(?:20)?\d{2}(?!\d)"
    r"|\s(?:collection|season|fashion|decor|decorations?|wreaths?|leaves|outfits?|clothes|"
    r"clothing|wear|jackets?|coats?|boots?|sweaters?|dress(?:es)?|colou?rs?|harvest|home|door|"
    r"table|porch|mantel|garland|pumpkins?|candles?|scents?|style|edition|line|look|range|"
    r"favou?rites?|must-?haves?|essentials|new|arrivals|trends?|plaid|flannel|cardigans?|"
    r"tops?|shirts?|skirts?|pants|leggings|hats?|scarf|scarves|sign|centerpiece|pillows?|"
    r"tablecloth|runner|mums|foliage|floral|flowers?|ornaments?|bundle|sale)(?![a-z])"
)
_FALL_NOT_AFTER = re.compile(
    r"\s?(?:protection|arrest|detection|prevention|alert|resistant|proof|off|guys|limiter|"
    r"harness|out boy|risk|damage)(?![a-z])"
)


def _seasonal_fall(text: str) -> str:
    """``text`` with every "fall" that names the season rewritten to "autumn"."""
    if "fall" not in text:
        return text

    def swap(match: re.Match[str]) -> str:
        start, end = match.span()
        if _FALL_NOT_AFTER.match(text, end):
            return "fall"
        if _FALL_AFTER.match(text, end) or _FALL_BEFORE.search(text[max(0, start - 20) : start]):
            return "autumn"
        return "fall"

    return _FALL_WORD.sub(swap, text)


# Electronics name their model generation by season and year: "MacBook Air (Summer 2012)",
# "Chromebook (Fall 2019)". In a title that is about a computer or device, such a dated
# season in parentheses is a model name, not a season.
_DEVICE = re.compile(
    r"(?<![a-z])(?:laptop|notebook|macbook|imac|ipad|iphone|computer|chromebook|tablet|pc|"
    r"desktop|ssd|ram|cpu|gpu|intel|amd|core i\d|ryzen|gb|tb|笔记本|电脑|平板|手机)(?![a-z])"
)
_MODEL_DATE = re.compile(
    r"\((?:[^()]{0,40}[ ,])?(?:early|mid|late|spring|summer|fall|autumn|winter)[ -]?(?:20)?\d{2}\)"
)


def _drop_model_dates(text: str) -> str:
    if "(" in text and _DEVICE.search(text):
        return _MODEL_DATE.sub(" ", text)
    return text


def _event_hits(events: list[tuple[int, int]], hemisphere: str) -> _Hits:
    hits: _Hits = {}
    month_season = _MONTH_SEASON[hemisphere]
    for north_month, south_month in events:
        month = south_month if hemisphere == "south" else north_month
        season = month_season[month - 1]
        # January/February belong to the season that started the previous December.
        offset = -1 if month <= 2 and _START_MONTH[hemisphere][season] == 12 else 0
        hits.setdefault(season, offset)
    return hits


def _hemisphere(hemisphere: str) -> str:
    key = hemisphere.strip().lower()
    if key not in _START_MONTH:
        raise ValueError(f"hemisphere must be 'north' or 'south', not {hemisphere!r}")
    return key


def _analyse(
    title: str,
    tags: Sequence[str],
    product_type: str | None,
    description: str | None,
    hemisphere: str,
) -> _Hits:
    """Seasons of a listing, each with the offset to add to a year the listing states."""
    hemisphere = _hemisphere(hemisphere)
    parts = [title, *tags]
    if product_type:
        parts.append(product_type)
    text = _seasonal_fall(_drop_model_dates(_normalise(" | ".join(parts))))
    hits = _tiers(text, hemisphere, full=True)
    if hits is None and description:
        # Descriptions name other products and uses; only stated seasons and events count,
        # and a description naming three or more seasons is describing an all-year item.
        hits = _tiers(_seasonal_fall(_normalise(description)), hemisphere, full=False)
        if hits is not None and len(hits) >= 3:
            return {}
    return hits or {}


def _tiers(text: str, hemisphere: str, *, full: bool) -> _Hits | None:
    """The first kind with evidence ({} for all-season), or None when there is none."""
    by_kind: dict[int, list] = {}
    for kind, value in _LEXICON.scan(text):
        by_kind.setdefault(kind, []).append(value)
    if _ALL_SEASONS in by_kind:
        return {}
    hits: _Hits = {}
    for kind in (_EXPLICIT, _EVENT, _MODIFIER, _HEAVY, _ITEM, _SLEEVE, _WEAK):
        if kind == _MODIFIER and not full:
            break
        values = by_kind.get(kind)
        if values:
            if kind == _EVENT:
                hits = _event_hits(values, hemisphere)
            else:
                hits = {season: 0 for seasons in values for season in seasons}
            break
    if not hits:
        return None
    if len(hits) == len(_ALL):
        return {}
    return hits


def seasons_of(
    title: str,
    tags: Sequence[str] = (),
    product_type: str | None = None,
    description: str | None = None,
    *,
    hemisphere: str = "north",
) -> frozenset[Season]:
    """The season(s) a listing is for; empty when it has none or is for all seasons.

    ``hemisphere`` matters only for dated events (Christmas is summer in the south).
    """
    hits = _analyse(title, tags, product_type, description, hemisphere)
    return frozenset(hits) if hits else _EMPTY


# --- years ---------------------------------------------------------------------------------
_YEAR_MIN, _YEAR_MAX = 2000, 2099
_DIGIT = re.compile(r"\d")
_SEASON_WORDS = r"spring|summer|fall|autumn|winter|resort|cruise"
_STRONG_YEAR = re.compile(
    # The lookahead skips positions no alternative can start at before trying them all.
    r"(?=[0-9safwrchnx])(?:"
    + "|".join(
        [
            # Collection codes: SS27, FW2026, A/W 26, 2027SS, 26aw.
            r"(?<![a-z0-9])(?:s/?s|a/?w|f/?w)\s?['’]?(?P<a>20\d{2}|\d{2})(?!\d)",
            r"(?<![0-9.])(?P<b>20\d{2}|\d{2})\s?(?:ss|aw|fw)(?![a-z])",
            # Chinese: 2027年, 2027新款, 2027款, 27年, 27春, 26秋冬.
            r"(?<![0-9.])(?P<c>20\d{2})\s?(?=年|新款|新品|款|上新|[春夏秋冬])",
            r"(?<![0-9.])(?P<d>\d{2})(?=年|早春|初秋|[春夏秋冬])",
            # English: Spring 2027, Fall '26, Holiday 2026, 2027 Summer, new for 2027.
            rf"(?<![a-z])(?:{_SEASON_WORDS}|holiday|collection|new for|christmas|xmas)"
            r"\s?(?P<e>20\d{2})(?![0-9])",
            rf"(?<![a-z])(?:{_SEASON_WORDS})\s?['’](?P<f>\d{{2}})(?![0-9])",
            rf"(?<![0-9.])(?P<g>20\d{{2}})\s?(?={_SEASON_WORDS}|holiday|collection|christmas)",
        ]
    )
    + ")"
)
# "NN年" that is a duration, not a year: 10年质保, 15年老店, 质保10年.
_DURATION_AFTER = re.compile(
    r"年(?:以上|质保|保修|老店|经验|陈|历史|工艺|专注|品质|寿命|保质|使用|内|左右|前|后|龄)"
)
_DURATION_BEFORE = ("质保", "保修", "专注", "窖藏", "老店", "经验", "保质期", "寿命", "使用")
_PLAIN_YEAR = re.compile(
    r"(?<![0-9.,/:x*#-])(?P<y>20\d{2})(?![0-9.,:x*×]|\s?(?:mah|ml|mm|cm|kw|w|g|kg|mg|l|v|lm|"
    r"rpm|dpi|pcs?|px|ppi|hz|mhz|gb|mb|tb|lbs?|oz|ft|m|k|p|毫安|毫升|克|千克|米|瓦|元|块|只|个|"
    r"件|片|包|袋|支|张|码|号|型)(?![a-z]))"
)
# A model name right before the number: RTX 2080, DDR4 2400, M2024, 型号2021.
_MODEL_BEFORE = re.compile(
    r"(?:[a-z]|(?:rtx|gtx|rx|ddr\d?|model|no\.?|型号|款号|货号|iphone|galaxy|ryzen|core|sku|art|ref)"
    r"\s?)$"
)


def _strong_year(text: str) -> int | None:
    """The first season-linked year in normalised text."""
    for match in _STRONG_YEAR.finditer(text):
        raw = next(g for g in match.groups() if g)
        if len(raw) == 2 and text.startswith("年", match.end()):
            start = match.start()
            if _DURATION_AFTER.match(text, match.end()) or text[max(0, start - 4) : start].endswith(
                _DURATION_BEFORE
            ):
                continue
        year = int(raw) + (2000 if len(raw) == 2 else 0)
        if _YEAR_MIN <= year <= _YEAR_MAX:
            return year
    return None


def stated_year(text: str) -> int | None:
    """A year (2000–2099) the listing states, or None.

    Season-linked forms win (SS27, FW2026, 2027年, 27年, 2027新款, 27春, "Spring 2027",
    "Fall '26"), the first in the text; else the first free-standing 20xx that is not a
    quantity (2000mAh, 2000ml, 2048x1080) or a model number (RTX 2080, M2024).
    """
    text = _normalise(text)
    if not _DIGIT.search(text):
        return None
    year = _strong_year(text)
    if year is not None:
        return year
    for match in _PLAIN_YEAR.finditer(text):
        if not _MODEL_BEFORE.search(text, 0, match.start()):
            return int(match.group("y"))
    return None


def season_year(season: Season, when: date, hemisphere: str = "north") -> int:
    """The year label of the season's occurrence that contains ``when`` or comes next.

    A season is labelled with the year it starts in: north winter 2026 is Dec 2026–Feb 2027.
    """
    start = _START_MONTH[_hemisphere(hemisphere)][Season(season)]
    # Months since this season's start in when's year; 0–2 means inside it.
    since = when.month - start
    if since < 0 and since + 12 < 3:
        return when.year - 1  # Jan/Feb inside a season that started last December.
    if since < 0 or since < 3:
        return when.year
    return when.year + 1


def listing_season_years(
    title: str,
    tags: Sequence[str] = (),
    product_type: str | None = None,
    description: str | None = None,
    when: date | None = None,
    hemisphere: str = "north",
) -> dict[Season, int]:
    """Each season of the listing with its year.

    The year is the one the listing states (title, tags, product type; the description only
    in season-linked form), else the season's next occurrence at ``when`` (default: today).
    A stated year names the calendar year of a January/February event, which belongs to the
    previous year's winter (north): "2027春节" is winter 2026.
    """
    hits = _analyse(title, tags, product_type, description, hemisphere)
    if not hits:
        return {}
    head = " | ".join([title, *tags, product_type or ""])
    year = stated_year(head)
    if year is None and description:
        year = _strong_year(_normalise(description))
    if year is not None:
        return {season: year + offset for season, offset in hits.items()}
    when = when or date.today()
    return {season: season_year(season, when, hemisphere) for season in hits}
