"""The scripted timeline of the default demo world, as data.

Each :class:`Step` is a list of changes plus the human-readable events they cause. Tests
downstream assert exact findings from these constants, so titles, prices and review texts
live here (and in :mod:`watcher.demo.catalog`) and nowhere else.

* step 0 — the world as built: Urban Threads launched 3 winter items 3–9 days ago; Demo
  Market already sells a copy of the own shop's #2 best seller, 20% cheaper (a
  ``price_position`` undercut).
* step 1 — new reviews on own #1 (1★ and 5★) and #3 (5★ with a complaint), 4 spring items
  at Fengshang, Fawn copies own #4 25% cheaper (a copy and a ``price_position`` undercut),
  a Fengshang price drop, an Urban Threads stock-out, own #5's price change.
* step 2 — nothing changes (same bytes, same ETags).
* step 3 — Urban Threads publishes 3 spring items, a 2% Fawn price change, an edited
  review text on own #2, a new 4★ review on own #2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from watcher.demo.catalog import (
    FAWN,
    FENGSHANG,
    OWN,
    URBAN,
    Product,
    Review,
    ShopData,
    copy_of,
    money,
)


class World:
    """What a change needs: the shops by name, the current time and fresh image names."""

    def __init__(self, shops: list[ShopData], images: object) -> None:
        self.shops = {s.name: s for s in shops}
        self.images = images

    def product(self, shop: str, handle: str) -> Product:
        """The product ``handle`` of ``shop`` (KeyError if missing)."""
        p = self.shops[shop].by_handle(handle)
        if p is None:
            raise KeyError(f"{shop}: {handle}")
        return p


@dataclass(frozen=True)
class NewReview:
    """A customer posts a review (newest first on the page)."""

    shop: str
    handle: str
    id: int
    author: str
    rating: int
    text: str

    def apply(self, world: World, now: datetime) -> None:
        """Add the review and bump the product's modification time."""
        p = world.product(self.shop, self.handle)
        p.reviews.append(Review(self.id, self.author, self.rating, self.text, now))
        p.updated_at = now


@dataclass(frozen=True)
class EditReview:
    """A reviewer edits the text of an existing review (same id, same date)."""

    shop: str
    handle: str
    id: int
    text: str

    def apply(self, world: World, now: datetime) -> None:
        """Replace the text."""
        p = world.product(self.shop, self.handle)
        next(r for r in p.reviews if r.id == self.id).text = self.text
        p.updated_at = now


@dataclass(frozen=True)
class SetPrice:
    """A price change; ``sale`` keeps the old price as the regular/compare-at price."""

    shop: str
    handle: str
    old: str
    new: str
    sale: bool = False

    def apply(self, world: World, now: datetime) -> None:
        """Set the new price."""
        p = world.product(self.shop, self.handle)
        assert p.price == money(self.old), (p.title, p.price, self.old)
        p.price = money(self.new)
        p.compare_at = money(self.old) if self.sale else None
        p.updated_at = now


@dataclass(frozen=True)
class SetStock:
    """Every variant goes out of (or back into) stock."""

    shop: str
    handle: str
    available: bool

    def apply(self, world: World, now: datetime) -> None:
        """Flip availability."""
        p = world.product(self.shop, self.handle)
        p.available = self.available
        p.updated_at = now


@dataclass(frozen=True)
class NewProduct:
    """A shop lists a new product; ``id`` is above every existing id of the shop."""

    shop: str
    id: int
    title: str
    handle: str
    price: str
    product_type: str
    tags: tuple[str, ...] = ()

    def apply(self, world: World, now: datetime) -> None:
        """Append the product, published now."""
        shop = world.shops[self.shop]
        image = world.images.take()  # type: ignore[attr-defined]
        shop.products.append(
            Product(
                id=self.id,
                title=self.title,
                handle=self.handle,
                price=money(self.price),
                image=image,
                product_type=self.product_type,
                tags=list(self.tags),
                description=f"{self.title}. New arrival.",
                vendor=self.shop,
                created_at=now,
                published_at=now,
                updated_at=now,
                sales=5,
                sizes=("S", "M", "L") if self.product_type != "Accessories" else ("Default Title",),
                graph=shop.kind == "html" and self.id % 2 == 0,
            )
        )


@dataclass(frozen=True)
class NewCopy:
    """A copy shop lists the seller's product with a stolen photo and an edited title."""

    shop: str
    id: int
    original_shop: str
    original_handle: str
    title: str
    price: str
    variant: int = 1

    def apply(self, world: World, now: datetime) -> None:
        """Append the copy, published now."""
        original = world.product(self.original_shop, self.original_handle)
        world.shops[self.shop].products.append(
            copy_of(original, self.id, self.shop, self.variant, self.title, money(self.price), now)
        )


Change = NewReview | EditReview | SetPrice | SetStock | NewProduct | NewCopy


@dataclass(frozen=True)
class Step:
    """One step of the timeline: what happens, in words (English and Chinese, one line
    each) and as changes."""

    events: tuple[str, ...]
    changes: tuple[Change, ...] = field(default=())
    events_zh: tuple[str, ...] = field(default=())


# The products the timeline touches (handles from catalog.py).
OWN_1 = "camellia-embroidered-silk-blouse"
OWN_2 = "high-waist-wide-leg-trousers"
OWN_3 = "wool-blend-plaid-midi-skirt"
OWN_4 = "french-floral-tea-dress"
OWN_5 = "pearl-hair-clip-set"

REVIEW_1STAR = "Arrived torn, the seams came apart after one wash."
REVIEW_5STAR_PRAISE = "Absolutely love it, the silk is soft and the embroidery is perfect."
REVIEW_5STAR_COMPLAINT = "五星是给快递的，衣服起球严重，洗了一次就变形了"
REVIEW_EDITED_ID = 31036  # own #2's oldest review ("晓晓"), see catalog.OWN_REVIEWS
REVIEW_EDITED_TEXT = "裤子垂感很好，显腿长，版型很正。追评：洗了几次也没有变形，依然很满意"
REVIEW_4STAR = "Lovely colour, fits well"

FAWN_COPY_TITLE = "【包邮】收腰显瘦 French Floral Tea Dress 法式碎花茶歇连衣裙"

STEPS: tuple[Step, ...] = (
    Step(
        events=(
            f"{URBAN}: 3 winter items published 3–9 days ago (Winter Down Puffer Jacket 羽绒服, "
            "Chunky Knit Winter Beanie, Merino Wool Winter Scarf)",
            "Demo Market: 某某服饰旗舰店 sells a copy of own #2 高腰阔腿西装裤 垂感显瘦 High-Waist "
            "Wide-Leg Trousers (stolen photo, 包邮 2027新款 prefix, ¥135.20 vs ¥169.00: "
            "own #2 is undercut by 20%)",
        ),
        events_zh=(
            f"{URBAN}：3 件冬季新品，3–9 天前上架（Winter Down Puffer Jacket 羽绒服、"
            "Chunky Knit Winter Beanie、Merino Wool Winter Scarf）",
            "Demo Market：某某服饰旗舰店 在卖你的 #2 高腰阔腿西装裤 垂感显瘦 High-Waist "
            "Wide-Leg Trousers 的同款（盗图，标题前加了“包邮 2027新款”，¥135.20 对 ¥169.00："
            "#2 被低价跟卖 20%）",
        ),
    ),
    Step(
        events=(
            f"{OWN}: new 1★ review on #1 山茶花刺绣真丝衬衫 Camellia Embroidered Silk Blouse: "
            f"“{REVIEW_1STAR}”",
            f"{OWN}: new 5★ review on #1: “{REVIEW_5STAR_PRAISE}”",
            f"{OWN}: new 5★ review with a complaint on #3 羊毛混纺格纹半身裙 Wool Blend Plaid Midi "
            f"Skirt: “{REVIEW_5STAR_COMPLAINT}”",
            f"{FENGSHANG}: 4 new spring items (早春新款碎花连衣裙, 春季薄款针织开衫, "
            "早春风衣外套 中长款, 春季高腰阔腿裤)",
            f"{FAWN}: lists a copy of own #4 法式碎花茶歇连衣裙 (stolen photo, “{FAWN_COPY_TITLE}”, "
            "¥201.00 vs ¥268.00: own #4 is undercut by 25%)",
            f"{FENGSHANG}: 醋酸缎面半身裙 垂感鱼尾裙 on sale, ¥199.00 → ¥159.00",
            f"{URBAN}: Organic Cotton Crew Tee sold out (all variants unavailable)",
            f"{OWN}: #5 珍珠发夹套装 Pearl Hair Clip Set price ¥129.00 → ¥99.00",
        ),
        events_zh=(
            f"{OWN}：#1 山茶花刺绣真丝衬衫 Camellia Embroidered Silk Blouse 收到新的 1★ 差评："
            f"“{REVIEW_1STAR}”",
            f"{OWN}：#1 收到新的 5★ 好评：“{REVIEW_5STAR_PRAISE}”",
            f"{OWN}：#3 羊毛混纺格纹半身裙 Wool Blend Plaid Midi Skirt 收到一条内容是投诉的 5★ 评价："
            f"“{REVIEW_5STAR_COMPLAINT}”",
            f"{FENGSHANG}：4 件春季新品（早春新款碎花连衣裙、春季薄款针织开衫、"
            "早春风衣外套 中长款、春季高腰阔腿裤）",
            f"{FAWN}：上架了你的 #4 法式碎花茶歇连衣裙 的同款（盗图，“{FAWN_COPY_TITLE}”，"
            "¥201.00 对 ¥268.00：#4 被低价跟卖 25%）",
            f"{FENGSHANG}：醋酸缎面半身裙 垂感鱼尾裙 降价促销，¥199.00 → ¥159.00",
            f"{URBAN}：Organic Cotton Crew Tee 售罄（所有款式都缺货）",
            f"{OWN}：#5 珍珠发夹套装 Pearl Hair Clip Set 改价 ¥129.00 → ¥99.00",
        ),
        changes=(
            NewReview(OWN, OWN_1, 32001, "Megan B.", 1, REVIEW_1STAR),
            NewReview(OWN, OWN_1, 32008, "Jasmine", 5, REVIEW_5STAR_PRAISE),
            NewReview(OWN, OWN_3, 32015, "匿名买家", 5, REVIEW_5STAR_COMPLAINT),
            NewProduct(
                FENGSHANG,
                1421,
                "早春新款碎花连衣裙",
                "early-spring-floral-dress",
                "259.00",
                "连衣裙",
                ("春装", "连衣裙"),
            ),
            NewProduct(
                FENGSHANG,
                1428,
                "春季薄款针织开衫",
                "spring-light-knit-cardigan",
                "169.00",
                "针织",
                ("春装", "针织"),
            ),
            NewProduct(
                FENGSHANG,
                1435,
                "早春风衣外套 中长款",
                "early-spring-trench-coat",
                "399.00",
                "外套",
                ("春装", "外套"),
            ),
            NewProduct(
                FENGSHANG,
                1442,
                "春季高腰阔腿裤",
                "spring-high-waist-wide-leg-pants",
                "179.00",
                "裤装",
                ("春装", "裤装"),
            ),
            NewCopy(FAWN, 20091, OWN, OWN_4, FAWN_COPY_TITLE, "201.00", variant=1),
            SetPrice(FENGSHANG, "acetate-satin-mermaid-skirt", "199.00", "159.00", sale=True),
            SetStock(URBAN, "organic-cotton-crew-tee", False),
            SetPrice(OWN, OWN_5, "129.00", "99.00"),
        ),
    ),
    Step(events=("nothing changes",), events_zh=("没有变化",)),
    Step(
        events=(
            f"{URBAN}: 3 spring items published now (Spring Floral Wrap Dress, Lightweight Spring "
            "Trench Coat, Spring Pastel Knit Cardigan)",
            f"{FAWN}: 直筒休闲裤 九分 price ¥150.00 → ¥147.00 (−2%, below the 5% threshold)",
            f"{OWN}: review {REVIEW_EDITED_ID} on #2 edited (text only): “{REVIEW_EDITED_TEXT}”",
            f"{OWN}: new 4★ review on #2 高腰阔腿西装裤 垂感显瘦 High-Waist Wide-Leg Trousers: "
            f"“{REVIEW_4STAR}”",
        ),
        events_zh=(
            f"{URBAN}：3 件春季新品刚刚上架（Spring Floral Wrap Dress、Lightweight Spring "
            "Trench Coat、Spring Pastel Knit Cardigan）",
            f"{FAWN}：直筒休闲裤 九分 价格 ¥150.00 → ¥147.00（−2%，低于 5% 的提醒门槛）",
            f"{OWN}：#2 的评价 {REVIEW_EDITED_ID} 被修改（只改了内容）：“{REVIEW_EDITED_TEXT}”",
            f"{OWN}：#2 高腰阔腿西装裤 垂感显瘦 High-Waist Wide-Leg Trousers 收到新的 4★ 评价："
            f"“{REVIEW_4STAR}”",
        ),
        changes=(
            NewProduct(
                URBAN,
                7301200019001,
                "Spring Floral Wrap Dress",
                "spring-floral-wrap-dress",
                "88.00",
                "Dresses",
                ("spring", "dress"),
            ),
            NewProduct(
                URBAN,
                7301200019212,
                "Lightweight Spring Trench Coat",
                "lightweight-spring-trench-coat",
                "158.00",
                "Outerwear",
                ("spring", "outerwear"),
            ),
            NewProduct(
                URBAN,
                7301200019423,
                "Spring Pastel Knit Cardigan",
                "spring-pastel-knit-cardigan",
                "64.00",
                "Knitwear",
                ("spring", "knit"),
            ),
            SetPrice(FAWN, "20046", "150.00", "147.00"),
            EditReview(OWN, OWN_2, REVIEW_EDITED_ID, REVIEW_EDITED_TEXT),
            NewReview(OWN, OWN_2, 32022, "Charlotte", 4, REVIEW_4STAR),
        ),
    ),
)


def apply_step(step: Step, world: World, now: datetime) -> None:
    """Apply every change of ``step`` and mark the touched shops as changed."""
    for change in step.changes:
        change.apply(world, now)
        world.shops[change.shop].touch()


def price_ratio(old: str, new: str) -> Decimal:
    """Relative price change, e.g. ``-0.02``."""
    return (Decimal(new) - Decimal(old)) / Decimal(old)


def later(a: datetime, b: datetime) -> datetime:
    """The later of two times, never going back: keeps the timeline monotonic."""
    return max(a, b) if b > a else a + timedelta(seconds=1)
