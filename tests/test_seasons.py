"""Season and year of a listing: rules, year logic and accuracy on the labelled titles."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from watcher.text.seasons import (
    Season,
    listing_season_years,
    season_year,
    seasons_of,
    stated_year,
)

SP, SU, AU, WI = Season.SPRING, Season.SUMMER, Season.AUTUMN, Season.WINTER
DATA = Path(__file__).parent / "data" / "season_titles.tsv"
# Real marketplace titles, labelled by hand before the code ran on them (sources per row).
REAL = Path(__file__).parent / "data" / "season_titles_real.tsv"


def _set(*seasons: Season) -> frozenset[Season]:
    return frozenset(seasons)


def test_season_is_a_str_enum() -> None:
    assert [str(s) for s in Season] == ["spring", "summer", "autumn", "winter"]
    assert Season("autumn") is AU


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("2027春装新款女士衬衫", _set(SP)),
        ("早春小香风外套", _set(SP)),
        ("盛夏碎花连衣裙", _set(SU)),
        ("初秋复古衬衫", _set(AU)),
        ("秋冬季高领打底衫", _set(AU, WI)),
        ("春秋款夹克", _set(SP, AU)),
        ("春夏新款开衫", _set(SP, SU)),
        ("冬装新款", _set(WI)),
        ("Women's Spring Midi Skirt", _set(SP)),
        ("Men's Summer Shirt", _set(SU)),
        ("Fall Outfits Cable Knit", _set(AU)),
        ("Autumn Leaves Wreath", _set(AU)),
        ("Midwinter Sale Candle", _set(WI)),
        ("Spring/Fall Bomber", _set(SP, AU)),
        ("Women's Fall Winter Shacket", _set(AU, WI)),
    ],
)
def test_explicit_season_words(title: str, expected: frozenset[Season]) -> None:
    assert seasons_of(title) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("SS27 Poplin Shirt", _set(SP, SU)),
        ("S/S 2027 Swim Shorts", _set(SP, SU)),
        ("2027SS新款衬衫", _set(SP, SU)),
        ("FW26 Overcoat", _set(AU, WI)),
        ("AW27 Merino Knit", _set(AU, WI)),
        ("FW2026 Leather Boots", _set(AU, WI)),
        ("Resort 2027 Crochet Dress", _set(SU)),
        ("Cruise Collection Kaftan", _set(SU)),
        ("Pre-Fall Collection Trousers", _set(AU)),
        ("Transitional Jacket", _set(SP, AU)),
        ("304 SS Water Bottle", _set()),
    ],
)
def test_collection_codes(title: str, expected: frozenset[Season]) -> None:
    assert seasons_of(title) == expected


@pytest.mark.parametrize(
    "title",
    [
        "冬瓜茶柠檬饮料",
        "手工春卷皮",
        "夏普电视55英寸",
        "冬虫夏草正品",
        "冬阴功汤料",
        "儿童秋千户外",
        "青春活力洗面奶",
        "夏威夷果奶油味",
        "春风250sr摩托车配件",
        "Box Spring Queen",
        "Spring Loaded Door Stopper",
        "Natural Spring Water 24 Pack",
        "Frozen Spring Roll Wrappers",
        "Compression Spring Assortment Kit",
        "Hot Springs Souvenir Mug",
        "Fall Protection Harness",
        "Anti-Fall Phone Case",
        "Waterfall Fountain",
        "Summer Infant Baby Monitor",
        "Summer Fridays Lip Balm",
        "Winter Melon Tea",
        "Wintergreen Oil",
    ],
)
def test_false_friends_have_no_season(title: str) -> None:
    assert seasons_of(title) == frozenset()


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("男士羽绒服白鸭绒", _set(WI)),
        ("棉服女短款面包服", _set(WI)),
        ("高领毛衣女", _set(AU, WI)),
        ("针织开衫女", _set(SP, AU)),
        ("毛衣开衫女", _set(AU, WI)),
        ("围巾女羊毛", _set(WI)),
        ("雪地靴女", _set(WI)),
        ("纯棉秋裤男", _set(AU, WI)),
        ("呢子大衣女", _set(AU, WI)),
        ("风衣女中长款", _set(SP, AU)),
        ("连帽卫衣男", _set(SP, AU)),
        ("冲锋衣男", _set(SP, AU)),
        ("雨衣成人", _set(SP, SU)),
        ("女士凉鞋", _set(SU)),
        ("拖鞋男浴室", _set(SU)),
        ("棉拖鞋男", _set(WI)),
        ("连体泳衣", _set(SU)),
        ("运动短裤", _set(SU)),
        ("风筝", _set(SP)),
        ("Down Jacket Men", _set(WI)),
        ("Puffer Vest", _set(WI)),
        ("Cable Knit Sweater", _set(AU, WI)),
        ("Knit Cardigan Sweater", _set(AU, WI)),
        ("Open Front Cardigan", _set(SP, AU)),
        ("Snow Boots Women", _set(WI)),
        ("Chelsea Boots", _set(AU, WI)),
        ("Rain Boots Kids", _set(SP, SU)),
        ("Trench Coat", _set(SP, AU)),
        ("Cargo Shorts", _set(SU)),
        ("Flip Flops", _set(SU)),
        ("Bikini Set", _set(SU)),
        ("Beanie Hat", _set(WI)),
    ],
)
def test_item_types(title: str, expected: frozenset[Season]) -> None:
    assert seasons_of(title) == expected


@pytest.mark.parametrize(
    "title",
    [
        "一次性手套食品级",
        "真丝丝巾",
        "毛绒玩具公仔",
        "加厚垃圾袋",
        "纯棉四件套",
        "毛衣链长款项链",
        "Nitrile Disposable Gloves",
        "Boxer Shorts 5 Pack",
        "Silk Scarf Square",
        "Thermal Label Printer",
        "Insulated Water Bottle",
        "Hiking Boots Men",
        "Laptop Cooling Pad",
        "Golf Tees 100 Pack",
        "Bootcut Jeans",
    ],
)
def test_item_words_inside_other_things(title: str) -> None:
    assert seasons_of(title) == frozenset()


def test_explicit_season_beats_item_and_modifier() -> None:
    assert seasons_of("冬季短袖保暖内衣") == _set(WI)
    assert seasons_of("秋装卫衣加绒") == _set(AU)
    assert seasons_of("Spring 2027 Linen Blazer") == _set(SP)
    assert seasons_of("Summer Holiday Beach Bag") == _set(SU)


def test_modifier_beats_item() -> None:
    assert seasons_of("加绒卫衣女") == _set(WI)
    assert seasons_of("冰丝针织衫短袖") == _set(SU)
    assert seasons_of("Sherpa Lined Hoodie") == _set(WI)
    assert seasons_of("Thermal Underwear Set") == _set(WI)


def test_sleeve_length_decides_only_without_a_stronger_item() -> None:
    assert seasons_of("纯棉短袖T恤") == _set(SU)
    assert seasons_of("长袖T恤男") == _set(SP, AU)
    assert seasons_of("Long Sleeve T-Shirt") == _set(SP, AU)
    assert seasons_of("Long Sleeve Sweater") == _set(AU, WI)
    assert seasons_of("Graphic Tee") == _set(SU)
    assert seasons_of("Sleeveless Midi Dress") == _set(SU)
    assert seasons_of("Midi Dress Wrap") == frozenset()
    assert seasons_of("法式连衣裙") == frozenset()


def test_all_season_wording_means_no_season() -> None:
    assert seasons_of("四季款休闲裤") == frozenset()
    assert seasons_of("冬暖夏凉枕头") == frozenset()
    assert seasons_of("春夏秋冬通用宠物窝") == frozenset()
    assert seasons_of("All Season Tires") == frozenset()
    assert seasons_of("Year Round Comforter") == frozenset()
    assert seasons_of("Spring Summer Autumn Winter Duvet") == frozenset()
    assert seasons_of("杭州四季青2027春季连衣裙") == _set(SP)


def test_events_follow_the_hemisphere() -> None:
    assert seasons_of("Christmas Tree") == _set(WI)
    assert seasons_of("Christmas Tree", hemisphere="south") == _set(SU)
    assert seasons_of("Holiday Gift Set") == _set(WI)
    assert seasons_of("Back to School Backpack") == _set(AU)
    assert seasons_of("Back to School Backpack", hemisphere="south") == _set(SU)
    assert seasons_of("Halloween Costume") == _set(AU)
    assert seasons_of("Easter Basket") == _set(SP)
    assert seasons_of("2027春节对联") == _set(WI)
    assert seasons_of("中秋月饼礼盒") == _set(AU)
    assert seasons_of("端午粽子") == _set(SU)
    assert seasons_of("七夕情人节礼物") == _set(SU)
    assert seasons_of("情人节礼物") == _set(WI)
    assert seasons_of("新年红色毛衣") == _set(WI)


def test_tags_product_type_and_description() -> None:
    assert seasons_of("Relaxed Tee", tags=["Winter", "sale"]) == _set(WI)
    assert seasons_of("Cotton Top", product_type="Swimwear") == _set(SU)
    assert seasons_of("Utility Jacket", description="Our autumn essential.") == _set(AU)
    # The description is not read when the title decides, and never for item types.
    assert seasons_of("Graphic Tee", description="Great for winter layering.") == _set(SU)
    assert seasons_of("Utility Jacket", description="Pair it with sandals.") == frozenset()
    assert (
        seasons_of("Utility Jacket", description="For spring, summer and autumn days.")
        == frozenset()
    )


def test_full_width_text_is_normalised() -> None:
    assert seasons_of("ＳＳ２７ 衬衫") == _set(SP, SU)
    assert seasons_of("ＷＩＮＴＥＲ Coat") == _set(WI)


def test_unknown_hemisphere_is_rejected() -> None:
    with pytest.raises(ValueError, match="hemisphere"):
        seasons_of("Christmas Tree", hemisphere="east")
    with pytest.raises(ValueError, match="hemisphere"):
        season_year(WI, date(2026, 1, 1), hemisphere="equator")


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("2027", 2027),
        ("2027年春季新款", 2027),
        ("27年新款", 2027),
        ("SS27 Shirt", 2027),
        ("FW26 Coat", 2026),
        ("FW2026 Boots", 2026),
        ("A/W 26", 2026),
        ("2027SS", 2027),
        ("27春装", 2027),
        ("26秋冬新款", 2026),
        ("2027新款羽绒服", 2027),
        ("Spring 2027 Collection", 2027),
        ("Fall '26 Drop", 2026),
        ("2027 Summer Edition", 2027),
        ("Calendar 2027", 2027),
        ("FW26/27 Coat", 2026),
        ("iPhone 15 Case", None),
        ("Power Bank 2000mAh", None),
        ("1000ml 保温杯", None),
        ("2000毫安充电宝", None),
        ("RTX 2080 Graphics Card", None),
        ("M2024 Router", None),
        ("2048x1080 Monitor", None),
        ("10年质保", None),
        ("老店15年", None),
        ("1927年老字号", None),
        ("Summer 12 Pack", None),
        ("No year here", None),
    ],
)
def test_stated_year(text: str, year: int | None) -> None:
    assert stated_year(text) == year


@pytest.mark.parametrize(
    ("season", "when", "hemisphere", "year"),
    [
        # The brief's examples.
        (SP, date(2026, 12, 10), "north", 2027),
        (WI, date(2026, 9, 1), "north", 2026),
        (AU, date(2026, 10, 15), "north", 2026),
        # Boundaries, north: first and last day of a season.
        (SP, date(2026, 2, 28), "north", 2026),
        (SP, date(2026, 3, 1), "north", 2026),
        (SP, date(2026, 5, 31), "north", 2026),
        (SP, date(2026, 6, 1), "north", 2027),
        (WI, date(2026, 11, 30), "north", 2026),
        (WI, date(2026, 12, 1), "north", 2026),
        (WI, date(2027, 2, 28), "north", 2026),
        (WI, date(2027, 3, 1), "north", 2027),
        (SU, date(2026, 8, 31), "north", 2026),
        (SU, date(2026, 9, 1), "north", 2027),
        # South: six months later; summer 2026 is Dec 2026 - Feb 2027.
        (SU, date(2026, 12, 15), "south", 2026),
        (SU, date(2027, 1, 15), "south", 2026),
        (SU, date(2027, 3, 1), "south", 2027),
        (WI, date(2026, 7, 1), "south", 2026),
        (WI, date(2026, 9, 1), "south", 2027),
        (SP, date(2026, 9, 1), "south", 2026),
        (AU, date(2026, 2, 28), "south", 2026),
        (AU, date(2026, 6, 1), "south", 2027),
        ("winter", date(2026, 1, 1), "North", 2025),
    ],
)
def test_season_year(season: Season, when: date, hemisphere: str, year: int) -> None:
    assert season_year(season, when, hemisphere) == year


def test_listing_season_years() -> None:
    sept = date(2026, 9, 1)
    assert listing_season_years("羽绒服男", when=sept) == {WI: 2026}
    assert listing_season_years("Spring Dress", when=date(2026, 12, 10)) == {SP: 2027}
    assert listing_season_years("SS27 Shirt", when=sept) == {SP: 2027, SU: 2027}
    assert listing_season_years("2026秋冬新款大衣", when=date(2027, 1, 5)) == {AU: 2026, WI: 2026}
    # A January/February event's stated year is the calendar year: 春节 2027 is winter 2026.
    assert listing_season_years("2027春节对联", when=sept) == {WI: 2026}
    assert listing_season_years("Valentine's Day Necklace", when=date(2027, 1, 10)) == {WI: 2026}
    assert listing_season_years("Christmas Tree", when=date(2026, 10, 1), hemisphere="south") == {
        SU: 2026
    }
    assert listing_season_years("Down Jacket", when=date(2026, 3, 1), hemisphere="south") == {
        WI: 2026
    }
    assert listing_season_years("Phone Case 2027", when=sept) == {}
    # A year stated only in the description counts in season-linked form only.
    assert listing_season_years(
        "Winter Coat", description="From our FW27 line. Founded 2015.", when=sept
    ) == {WI: 2027}
    assert listing_season_years("Winter Coat", description="Founded 2015.", when=sept) == {WI: 2026}


def _labelled(path: Path = DATA) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.mark.parametrize("path", [DATA, REAL], ids=["hand-written", "real"])
def test_labelled_set_is_well_formed(path: Path) -> None:
    rows = _labelled(path)
    langs = Counter(row["lang"] for row in rows)
    assert len(rows) >= 300
    assert set(langs) == {"zh", "en"}
    assert min(langs.values()) >= 0.4 * len(rows)
    assert sum(row["seasons"] == "none" for row in rows) >= 0.2 * len(rows)
    for row in rows:
        if row["seasons"] != "none":
            assert {Season(s) for s in row["seasons"].split(",")}


@pytest.mark.parametrize("path", [DATA, REAL], ids=["hand-written", "real"])
def test_accuracy_on_labelled_titles(path: Path) -> None:
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    wrong = []
    for row in _labelled(path):
        expected = frozenset() if row["seasons"] == "none" else frozenset(row["seasons"].split(","))
        got = frozenset(str(s) for s in seasons_of(row["title"]))
        total[row["lang"]] += 1
        if got == expected:
            right[row["lang"]] += 1
        else:
            wrong.append((row["title"], sorted(expected), sorted(got)))
    accuracy = sum(right.values()) / sum(total.values())
    assert accuracy >= 0.90, wrong
    for lang in total:
        assert right[lang] / total[lang] >= 0.90, (lang, wrong)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("羽绒服男冬季短款", _set(WI)),
        ("女士棉服中长款", _set(WI)),
        ("海宁貂皮大衣女整貂", _set(WI)),
        ("加绒卫衣男", _set(WI)),
        ("保暖内衣套装", _set(WI)),
        ("纯棉短袖T恤", _set(SU)),
        ("平底凉鞋女", _set(SU)),
        ("冰丝防晒衣女", _set(SU)),
        ("格力空调 1.5匹 变频挂机", _set(SU)),
        ("暖气片家用水暖", _set(WI)),
        ("美的取暖器电暖器", _set(WI)),
        ("彩虹电热毯单人", _set(WI)),
        ("【官方旗舰店】羽绒服男短款轻薄款中年立领夹克", _set(WI)),
        ("Men's Puffer Jacket Hooded", _set(WI)),
        ("Women's Bubble Jacket Cropped", _set(WI)),
        ("Padded Jacket with Hood", _set(WI)),
        ("Men's Thermal Top Crew Neck", _set(WI)),
        ("Polar Fleece Pullover", _set(WI)),
        ("Wool Muffler for Men", _set(WI)),
        ("Cuffed Beanie Hat", _set(WI)),
        ("Havaianas Flip-Flops", _set(SU)),
        ("Sparx Floaters for Men", _set(SU)),
        ("Mineral Sunscreen SPF 50", _set(SU)),
        ("Women's Swimwear One Piece", _set(SU)),
        ("Weber Charcoal Grill 22 Inch", _set(SU)),
        ("FXR Mens Snowmobile Helix Jacket", _set(WI)),
        ("Marvel Pop! Advent Calendar (2019)", _set(WI)),
    ],
)
def test_items_imply_their_season(title: str, expected: frozenset[Season]) -> None:
    assert seasons_of(title) == expected


@pytest.mark.parametrize(
    "title",
    [
        "宁夏枸杞 特级 500g",
        "长春特产 人参",
        "秋叶原 HDMI线 2米",
        "夏新 蓝牙耳机",
        "夏普(SHARP) 46英寸LED电视",
        "春雨面膜 蜂蜜 10片",
        "冬凌草含片",
        "冬虫夏草 5g 礼盒",
        "四季青茶 500g",
        "Winter Green Cream 60g",
        "Wintergreen Essential Oil",
        "Summer Rain Lipstick Matte",
        "Replacement Spring for Door Closer",
        "Sofa Cover, Colour Snow",
        "Bikini Briefs for Women 5 Pack",
        "Dell Latitude E6430 Laptop (Summer 2012)",
        "Arctic Thermal Paste for CPU",
        "Car Muffler Tip Stainless",
        "Front Grill for Toyota Tacoma",
        "Pool Heater Display Board",
        "If Angels Fall (Tom Reed Series Book 1)",
        "Gorilla Tread Tape black safety stairs steps boats slip fall trip",
        "Waterfall Fountain Indoor",
    ],
)
def test_false_friends_of_items_and_seasons(title: str) -> None:
    assert seasons_of(title) == _set(), title


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Fall Decor Pumpkins Set", _set(AU)),
        ("Women's Fall Winter Coat", _set(AU, WI)),
        ("New for Fall 2026 Cardigan", _set(AU)),
        ("Fall Outfits Cable Knit", _set(AU)),
        ("Spring/Fall Bomber", _set(SP, AU)),
    ],
)
def test_fall_is_a_season_in_a_season_context(title: str, expected: frozenset[Season]) -> None:
    assert seasons_of(title) == expected
