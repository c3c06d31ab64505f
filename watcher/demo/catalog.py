"""Shop and product data of the sample marketplace: the default demo world and the
generated scale worlds. Everything is deterministic (titles, prices, ids, images); only
dates are relative to the moment the world is built, so "published 3 days ago" stays true.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")

# Image seeds whose 64-bit pHashes are pairwise > 20 bits apart and whose stolen copies
# stay within a few bits (checked by tests/test_demo_server.py). Products take them in order.
IMAGE_SEEDS: tuple[int, ...] = (
    1,
    2,
    3,
    4,
    5,
    7,
    9,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    22,
    23,
    24,
    26,
    27,
    30,
    31,
    32,
    33,
    34,
    36,
    37,
    38,
    39,
    42,
    43,
    44,
    45,
    46,
    47,
    49,
    50,
    53,
    54,
    56,
    59,
    61,
    62,
    63,
    64,
    67,
    69,
    71,
    74,
    78,
    83,
    86,
    87,
    88,
    89,
    92,
    93,
    95,
    96,
    97,
    100,
    102,
    104,
    105,
    106,
    107,
    109,
    111,
    114,
    115,
    117,
    119,
    121,
    124,
    128,
    130,
    132,
    134,
    135,
    140,
    141,
    142,
    143,
    144,
    145,
    148,
    150,
    151,
    152,
    154,
    155,
    158,
    160,
    163,
    165,
    167,
    168,
    179,
    182,
    185,
    188,
    190,
    196,
    197,
    198,
    201,
    211,
    213,
    218,
    225,
    229,
    232,
    237,
    239,
    250,
    251,
    252,
    255,
    261,
    263,
    267,
    276,
    277,
    291,
    298,
    299,
    305,
    309,
    314,
    315,
    317,
    324,
    327,
    335,
    343,
    345,
    352,
    359,
    364,
    366,
    368,
    370,
    378,
    379,
    382,
    395,
)


@dataclass
class Review:
    """One customer review as the shop shows it."""

    id: int
    author: str
    rating: int
    text: str
    date: datetime
    verified: bool = True


@dataclass
class Product:
    """One listing. ``image`` is an image name served at ``/cdn/<image>.jpg``."""

    id: int
    title: str
    handle: str
    price: Decimal
    image: str
    product_type: str = ""
    tags: list[str] = field(default_factory=list)
    description: str = ""
    vendor: str = ""
    compare_at: Decimal | None = None
    available: bool = True
    sizes: tuple[str, ...] = ("S", "M", "L")
    created_at: datetime = datetime(2026, 1, 1, tzinfo=TZ)
    published_at: datetime = datetime(2026, 1, 1, tzinfo=TZ)
    updated_at: datetime = datetime(2026, 1, 1, tzinfo=TZ)
    reviews: list[Review] = field(default_factory=list)
    sales: int = 0
    seller: str = ""
    price_max: Decimal | None = None
    graph: bool = False

    @property
    def rating(self) -> Decimal | None:
        """Average star rating, two decimals, or None without reviews."""
        if not self.reviews:
            return None
        total = Decimal(sum(r.rating for r in self.reviews))
        return (total / len(self.reviews)).quantize(CENT)


@dataclass
class ShopData:
    """One shop's catalogue. ``factory`` builds the products on first use (scale worlds)."""

    name: str
    role: str
    kind: str
    currency: str
    price_style: str = "yen"
    page_kb: int = -1
    per_page: int = 12
    seed: int = 0
    factory: Callable[[], list[Product]] | None = None
    _products: list[Product] | None = None
    version: int = 0

    @property
    def products(self) -> list[Product]:
        """All products (built lazily for scale worlds)."""
        if self._products is None:
            self._products = self.factory() if self.factory else []
        return self._products

    @property
    def built(self) -> bool:
        """True once the products exist in memory."""
        return self._products is not None

    def by_handle(self, handle: str) -> Product | None:
        """The product with this handle (or slug)."""
        return next((p for p in self.products if p.handle == handle), None)

    def by_id(self, pid: int) -> Product | None:
        """The product with this id."""
        return next((p for p in self.products if p.id == pid), None)

    def best_selling(self) -> list[Product]:
        """Products in best-selling order (ties by id)."""
        return sorted(self.products, key=lambda p: (-p.sales, p.id))

    def touch(self) -> None:
        """Record a change so cached pages are re-rendered."""
        self.version += 1


def money(value: str | float | Decimal) -> Decimal:
    """A price with two decimals."""
    return Decimal(str(value)).quantize(CENT)


# --- the default demo world -------------------------------------------------------------

OWN = "山茶小铺 Camellia Studio"
FENGSHANG = "风尚女装 Fengshang"
URBAN = "Urban Threads"
FAWN = "小鹿服饰 Fawn"
MARKET = "Demo Market"
COPY_SELLER = "某某服饰旗舰店"

# (title, handle, price, product_type, tags, description) in best-selling order.
OWN_PRODUCTS: list[tuple[str, str, str, str, list[str], str]] = [
    (
        "山茶花刺绣真丝衬衫 Camellia Embroidered Silk Blouse",
        "camellia-embroidered-silk-blouse",
        "299.00",
        "衬衫 Blouses",
        ["真丝", "刺绣", "衬衫", "silk", "blouse"],
        "22姆米桑蚕丝，手工山茶花刺绣。22 momme mulberry silk with hand-embroidered camellias.",
    ),
    (
        "高腰阔腿西装裤 垂感显瘦 High-Waist Wide-Leg Trousers",
        "high-waist-wide-leg-trousers",
        "169.00",
        "裤装 Trousers",
        ["阔腿裤", "西装裤", "高腰", "trousers"],
        "垂感面料，高腰设计拉长腿部比例。Fluid suiting fabric, high waist, full-length wide leg.",
    ),
    (
        "羊毛混纺格纹半身裙 Wool Blend Plaid Midi Skirt",
        "wool-blend-plaid-midi-skirt",
        "239.00",
        "半身裙 Skirts",
        ["半身裙", "格纹", "羊毛", "skirt"],
        "50%羊毛混纺，A字版型，中长款。50% wool blend, A-line, midi length.",
    ),
    (
        "法式碎花茶歇连衣裙 收腰显瘦 French Floral Tea Dress",
        "french-floral-tea-dress",
        "268.00",
        "连衣裙 Dresses",
        ["连衣裙", "碎花", "法式", "dress"],
        "V领泡泡袖，收腰设计，100%粘胶。V neck, puff sleeves, fitted waist, 100% viscose.",
    ),
    (
        "珍珠发夹套装 Pearl Hair Clip Set",
        "pearl-hair-clip-set",
        "129.00",
        "配饰 Accessories",
        ["发夹", "珍珠", "配饰", "hair clip"],
        "一套五枚，仿珍珠与金属合金。Set of five clips, faux pearl and alloy.",
    ),
    (
        "V领羊绒针织开衫 V-Neck Cashmere Cardigan",
        "v-neck-cashmere-cardigan",
        "359.00",
        "针织 Knitwear",
        ["开衫", "羊绒", "cardigan"],
        "30%羊绒混纺。30% cashmere blend.",
    ),
    (
        "亚麻休闲衬衫 Relaxed Linen Shirt",
        "relaxed-linen-shirt",
        "159.00",
        "衬衫 Blouses",
        ["亚麻", "衬衫", "linen"],
        "100%亚麻，宽松版型。100% linen, relaxed fit.",
    ),
    (
        "帆布托特包 大容量 Canvas Tote Bag",
        "canvas-tote-bag",
        "89.00",
        "包袋 Bags",
        ["托特包", "帆布", "tote"],
        "加厚帆布，内袋两个。Heavy canvas, two inner pockets.",
    ),
    (
        "桑蚕丝印花方巾 Mulberry Silk Square Scarf",
        "mulberry-silk-square-scarf",
        "139.00",
        "配饰 Accessories",
        ["丝巾", "真丝", "scarf"],
        "53×53厘米。53 × 53 cm.",
    ),
    (
        "复古金属耳环 Vintage Gold Hoop Earrings",
        "vintage-gold-hoop-earrings",
        "79.00",
        "配饰 Accessories",
        ["耳环", "复古", "earrings"],
        "S925银针。Sterling silver posts.",
    ),
    (
        "针扣真皮腰带 Leather Pin-Buckle Belt",
        "leather-pin-buckle-belt",
        "99.00",
        "配饰 Accessories",
        ["腰带", "真皮", "belt"],
        "头层牛皮。Full-grain leather.",
    ),
    (
        "羊毛贝雷帽 Wool Beret",
        "wool-beret",
        "109.00",
        "配饰 Accessories",
        ["贝雷帽", "羊毛", "beret"],
        "100%羊毛。100% wool.",
    ),
]

# (author, rating, text, days ago) per top-5 product: all clearly positive at step 0.
OWN_REVIEWS: list[list[tuple[str, int, str, int]]] = [
    [
        (
            "Lily Chen",
            5,
            "The embroidery is so delicate and the silk drapes beautifully. True to size.",
            64,
        ),
        ("小雨", 5, "做工很精致，刺绣很好看，面料舒服，很满意！", 51),
        ("Sophie M.", 4, "Lovely blouse, elegant and comfortable. Would buy again.", 40),
        ("阿琳", 5, "第二次购买了，质量一如既往的好，推荐", 22),
        ("Hannah W.", 5, "Gorgeous colour and quality, got many compliments at work.", 9),
    ],
    [
        ("晓晓", 5, "裤子垂感很好，显腿长，版型很正", 58),
        ("Grace L.", 5, "Super comfortable and flattering, I bought two colours.", 44),
        ("美美", 4, "面料有质感，穿着不闷，很喜欢", 30),
        ("Olivia", 5, "Perfect fit and great quality for the price.", 12),
    ],
    [
        ("Emma T.", 5, "Warm, well made and the plaid is beautiful.", 70),
        ("林林", 5, "颜色很正，面料很舒服，很百搭", 36),
        ("Chloe", 4, "Very pretty skirt, lovely quality.", 15),
    ],
    [
        ("糖糖", 5, "裙子太美了，收腰设计很显瘦，拍照很好看", 80),
        ("Isabella", 5, "Beautiful print and the fit is perfect. Love it!", 61),
        ("Mia K.", 5, "Exactly as pictured, soft fabric and lovely details.", 47),
        ("悠悠", 4, "很仙的一条裙子，面料舒服，物流也快", 33),
        ("Ava", 5, "My favourite dress, so flattering.", 20),
        ("可可", 5, "质量很好，做工精细，会回购", 6),
    ],
    [
        ("Zoe", 5, "Cute and sturdy, they hold my hair all day.", 90),
        ("菲菲", 5, "发夹很精致，珍珠很有光泽，送朋友也很合适", 75),
        ("Nora", 4, "Pretty set, nicely packaged.", 63),
        ("七七", 5, "很好看，夹得很稳，值这个价", 50),
        ("Ella P.", 5, "Elegant and great value, bought a second set as a gift.", 38),
        ("橙子", 5, "包装精美，质感很好，好评", 26),
        ("Ruby", 4, "Lovely clips, exactly as described.", 14),
        ("安安", 5, "颜值很高，戴上很显气质", 4),
    ],
]

FENGSHANG_PRODUCTS: list[tuple[str, str, str, str]] = [
    ("法式方领泡泡袖衬衫", "square-neck-puff-sleeve-blouse", "169.00", "衬衫"),
    ("高腰直筒牛仔裤 显瘦百搭", "high-rise-straight-jeans", "189.00", "裤装"),
    ("醋酸缎面半身裙 垂感鱼尾裙", "acetate-satin-mermaid-skirt", "199.00", "半身裙"),
    ("小香风粗花呢短外套", "tweed-cropped-jacket", "399.00", "外套"),
    ("纯棉条纹长袖T恤", "striped-cotton-long-sleeve-tee", "79.00", "T恤"),
    ("复古格纹西装外套", "vintage-check-blazer", "329.00", "外套"),
    ("针织背心 叠穿马甲", "knit-vest", "99.00", "针织"),
    ("印花伞裙", "printed-flared-skirt", "139.00", "半身裙"),
    ("简约圆领纯色卫衣", "plain-crew-sweatshirt", "129.00", "卫衣"),
    ("休闲工装阔腿裤", "utility-wide-leg-pants", "159.00", "裤装"),
    ("翻领polo针织衫", "polo-collar-knit-top", "119.00", "针织"),
    ("法式丝绒连衣裙", "french-velvet-dress", "289.00", "连衣裙"),
    ("真丝吊带背心", "silk-camisole", "149.00", "上衣"),
    ("圆领打底针织衫", "crew-neck-knit-base-layer", "99.00", "针织"),
    ("高腰A字牛仔半身裙", "high-waist-a-line-denim-skirt", "139.00", "半身裙"),
    ("双排扣西装外套", "double-breasted-blazer", "459.00", "外套"),
    ("蕾丝拼接衬衫", "lace-panel-blouse", "179.00", "衬衫"),
    ("百褶半身裙 中长款", "pleated-midi-skirt", "149.00", "半身裙"),
    ("短款皮衣外套 机车风", "cropped-biker-jacket", "499.00", "外套"),
    ("格纹A字半身裙", "check-a-line-skirt", "169.00", "半身裙"),
    ("宽松oversize白衬衫", "oversized-white-shirt", "139.00", "衬衫"),
    ("九分烟管裤 西装裤", "cropped-cigarette-trousers", "149.00", "裤装"),
    ("荷叶边衬衫", "ruffle-trim-blouse", "129.00", "衬衫"),
    ("收腰衬衫连衣裙", "belted-shirt-dress", "229.00", "连衣裙"),
    ("纯色打底吊带裙", "plain-slip-dress", "119.00", "连衣裙"),
    ("复古碎花半身裙", "vintage-floral-skirt", "149.00", "半身裙"),
    ("开叉针织半身裙", "split-hem-knit-skirt", "159.00", "半身裙"),
    ("短款针织开衫", "cropped-knit-cardigan", "129.00", "针织"),
    ("菱格纹马甲", "argyle-vest", "139.00", "针织"),
    ("直筒休闲西装裤", "straight-leg-suit-trousers", "179.00", "裤装"),
]

# product index -> reviews (author, rating, text, days ago): competitors' reviews are not watched.
FENGSHANG_REVIEWS: dict[int, list[tuple[str, int, str, int]]] = {
    0: [("小美", 5, "版型很好看，面料舒服", 40), ("阿紫", 4, "袖子很仙，推荐", 18)],
    1: [("小林", 5, "显腿长，很好搭配", 33)],
    2: [("Jing", 5, "垂感很好，颜色高级", 25), ("小雅", 3, "一般般，有点皱", 12)],
    5: [("May", 5, "很有质感，值得", 60)],
    11: [("苏苏", 5, "丝绒很有光泽，很显气质", 21), ("七月", 4, "好看，就是有点长", 9)],
    23: [("Wendy", 5, "很显瘦，上班穿很合适", 14)],
}

URBAN_PRODUCTS: list[tuple[str, str, str, str, list[str]]] = [
    ("Classic Straight Leg Jeans", "classic-straight-leg-jeans", "79.00", "Jeans", ["denim"]),
    ("Organic Cotton Crew Tee", "organic-cotton-crew-tee", "25.00", "Tops", ["cotton", "basics"]),
    ("Oversized Denim Jacket", "oversized-denim-jacket", "98.00", "Outerwear", ["denim"]),
    ("Ribbed Tank Top", "ribbed-tank-top", "19.00", "Tops", ["basics"]),
    ("Pleated Midi Skirt", "pleated-midi-skirt", "59.00", "Skirts", ["skirt"]),
    ("Relaxed Chino Pants", "relaxed-chino-pants", "65.00", "Pants", ["chino"]),
    ("Cropped Crew Cardigan", "cropped-crew-cardigan", "55.00", "Knitwear", ["knit"]),
    ("Silk Slip Dress", "silk-slip-dress", "89.00", "Dresses", ["silk"]),
    ("Striped Boat Neck Top", "striped-boat-neck-top", "39.00", "Tops", ["stripes"]),
    ("Tailored Cigarette Trousers", "tailored-cigarette-trousers", "72.00", "Pants", ["tailoring"]),
    ("Canvas Low-Top Sneakers", "canvas-low-top-sneakers", "65.00", "Shoes", ["shoes"]),
    ("Leather Crossbody Bag", "leather-crossbody-bag", "120.00", "Bags", ["leather"]),
    ("Utility Cargo Pants", "utility-cargo-pants", "68.00", "Pants", ["utility"]),
    ("Cotton Poplin Shirt", "cotton-poplin-shirt", "48.00", "Tops", ["cotton"]),
    ("Graphic Print Hoodie", "graphic-print-hoodie", "58.00", "Tops", ["hoodie"]),
    ("Mini Denim Skirt", "mini-denim-skirt", "45.00", "Skirts", ["denim"]),
    ("Faux Leather Biker Jacket", "faux-leather-biker-jacket", "135.00", "Outerwear", ["leather"]),
    ("Wrap Midi Dress", "wrap-midi-dress", "85.00", "Dresses", ["dress"]),
    ("Square Neck Bodysuit", "square-neck-bodysuit", "35.00", "Tops", ["basics"]),
    ("High Rise Mom Jeans", "high-rise-mom-jeans", "82.00", "Jeans", ["denim"]),
    ("Structured Blazer", "structured-blazer", "140.00", "Outerwear", ["tailoring"]),
    ("Satin Button-Up Blouse", "satin-button-up-blouse", "62.00", "Tops", ["satin"]),
    ("Ribbed Knit Midi Dress", "ribbed-knit-midi-dress", "70.00", "Dresses", ["knit"]),
    ("Everyday Tote Bag", "everyday-tote-bag", "45.00", "Bags", ["bags"]),
    ("Cotton Bucket Hat", "cotton-bucket-hat", "29.00", "Accessories", ["hats"]),
    ("Slim Fit Mock Neck Top", "slim-fit-mock-neck-top", "42.00", "Tops", ["basics"]),
    ("Wide Strap Leather Belt", "wide-strap-leather-belt", "38.00", "Accessories", ["leather"]),
]

# (title, handle, price, product_type, tags, days since publication): the first launch.
URBAN_WINTER: list[tuple[str, str, str, str, list[str], int]] = [
    (
        "Winter Down Puffer Jacket 羽绒服",
        "winter-down-puffer-jacket",
        "189.00",
        "Outerwear",
        ["winter", "down", "outerwear"],
        3,
    ),
    (
        "Chunky Knit Winter Beanie",
        "chunky-knit-winter-beanie",
        "29.00",
        "Accessories",
        ["winter", "knit", "hats"],
        6,
    ),
    (
        "Merino Wool Winter Scarf",
        "merino-wool-winter-scarf",
        "49.00",
        "Accessories",
        ["winter", "wool", "scarves"],
        9,
    ),
]

FAWN_PRODUCTS: list[tuple[str, str]] = [
    ("小鹿印花T恤 纯棉宽松", "59.00"),
    ("复古波点连衣裙", "199.00"),
    ("高腰牛仔短裙", "119.00"),
    ("法式V领针织衫", "139.00"),
    ("宽松休闲西装外套", "299.00"),
    ("直筒休闲裤 九分", "150.00"),
    ("蝴蝶结发箍", "39.00"),
    ("格纹衬衫 oversize", "129.00"),
    ("纯色吊带长裙", "159.00"),
    ("百搭小白鞋", "169.00"),
    ("编织手提包", "129.00"),
    ("珍珠耳钉", "49.00"),
    ("条纹针织开衫", "149.00"),
    ("A字半身裙 高腰", "129.00"),
    ("泡泡袖娃娃衫", "119.00"),
    ("小众设计感衬衫", "139.00"),
    ("收腰西装马甲", "159.00"),
    ("皮质斜挎小包", "189.00"),
    ("棉麻宽松长裤", "139.00"),
    ("短款牛仔外套", "219.00"),
]
FAWN_REVIEWS: dict[int, list[tuple[str, int, str, int]]] = {
    1: [("豆豆", 5, "波点很可爱，面料舒服", 30), ("Amy", 4, "Nice dress, fits well", 11)],
    4: [("小K", 5, "版型挺括，很好搭", 20)],
    8: [("阿宝", 4, "垂感不错", 16)],
}

# (title, price, seller) of unrelated Demo Market listings.
MARKET_PRODUCTS: list[tuple[str, str, str]] = [
    ("韩版宽松连帽卫衣 女 加绒", "89.00", "潮流女装店"),
    ("纯棉短袖T恤 女 白色 百搭", "39.90", "优品女装"),
    ("真丝衬衫 女 长袖 通勤", "219.00", "都市丽人馆"),
    ("碎花连衣裙 女 长款 度假风", "129.00", "花间集原创"),
    ("格子半身裙 A字 学院风", "79.00", "橘子服饰"),
    ("西装裤 女 直筒 九分", "99.00", "简约主义服饰"),
    ("珍珠耳环 气质 简约", "29.90", "饰界精品"),
    ("发夹 抓夹 鲨鱼夹 大号", "19.90", "饰界精品"),
    ("帆布包 女 单肩 学生", "45.00", "包包小铺"),
    ("针织开衫 女 薄款 外搭", "109.00", "优品女装"),
    ("牛仔外套 女 宽松 复古", "159.00", "潮流女装店"),
    ("羊毛围巾 女 纯色 保暖", "69.00", "暖冬家纺"),
    ("阔腿牛仔裤 女 高腰 拖地", "119.00", "橘子服饰"),
    ("真皮腰带 女 简约 针扣", "59.00", "皮具工坊"),
    ("手机壳 透明 防摔", "15.90", "数码配件城"),
    ("保温杯 不锈钢 大容量", "49.00", "居家好物"),
    ("运动鞋 女 透气 跑步", "199.00", "运动专营店"),
    ("Silk Blouse Women Long Sleeve Office", "35.00", "Lily Fashion"),
    ("Women Floral Midi Dress Summer Beach", "28.50", "Lily Fashion"),
    ("Pearl Hair Clips 6 Pack", "9.90", "Sunny Accessories"),
    ("蕾丝衬衫 女 法式 复古", "89.00", "花间集原创"),
    ("雪纺连衣裙 女 收腰 仙女", "149.00", "都市丽人馆"),
    ("贝雷帽 女 羊毛 画家帽", "39.00", "帽子专卖"),
    ("托特包 大容量 通勤 女", "129.00", "包包小铺"),
    ("休闲裤 女 宽松 垂感 阔腿", "79.00", "简约主义服饰"),
    ("睡衣 女 纯棉 套装", "69.00", "居家好物"),
    ("打底衫 女 长袖 修身", "35.00", "优品女装"),
    ("羽绒服 女 短款 轻薄", "299.00", "暖冬家纺"),
    ("耳环 金色 大圈 复古 欧美", "25.00", "饰界精品"),
    ("衬衫 女 亚麻 宽松 文艺", "99.00", "简约主义服饰"),
]


def _ago(now: datetime, days: float, hour: int = 10) -> datetime:
    return (now - timedelta(days=days)).replace(hour=hour, minute=17, second=31, microsecond=0)


class ImageSeeds:
    """Hands out image names: well-separated seeds first, then fresh ones."""

    def __init__(self, start: int = 0) -> None:
        self.next = start

    def take(self) -> str:
        """The next product photo name (``p<seed>``)."""
        i = self.next
        self.next += 1
        seed = IMAGE_SEEDS[i] if i < len(IMAGE_SEEDS) else 5000 + i
        return f"p{seed}"


def _reviews(
    rows: list[tuple[str, int, str, int]], now: datetime, next_id: list[int]
) -> list[Review]:
    out = []
    for author, rating, text, days in sorted(rows, key=lambda r: -r[3]):
        out.append(Review(next_id[0], author, rating, text, _ago(now, days, 9 + days % 12)))
        next_id[0] += 7
    return out


def default_world(now: datetime, seeds: ImageSeeds) -> list[ShopData]:
    """The five shops of ``watcher demo`` at step 0."""

    review_id = [31001]
    own = ShopData(OWN, "own", "shopify", "CNY", per_page=24)
    for i, (title, handle, price, ptype, tags, desc) in enumerate(OWN_PRODUCTS):
        created = _ago(now, 150 - i * 7)
        reviews = _reviews(OWN_REVIEWS[i], now, review_id) if i < len(OWN_REVIEWS) else []
        last = max([created, *(r.date for r in reviews)])
        own.products.append(
            Product(
                id=8012345600001 + i * 1037,
                title=title,
                handle=handle,
                price=money(price),
                image=seeds.take(),
                product_type=ptype,
                tags=tags,
                description=desc,
                vendor="Camellia Studio",
                created_at=created,
                published_at=created,
                updated_at=last,
                reviews=reviews,
                sales=1000 - i * 60,
                sizes=("S", "M", "L")
                if "Accessories" not in ptype and "Bags" not in ptype
                else ("Default Title",),
            )
        )

    feng = ShopData(FENGSHANG, "competitor", "woocommerce", "CNY")
    review_id = [5201]
    for i, (title, slug, price, cat) in enumerate(FENGSHANG_PRODUCTS):
        created = _ago(now, 200 - i * 5)
        feng.products.append(
            Product(
                id=1201 + i * 7,
                title=title,
                handle=slug,
                price=money(price),
                image=seeds.take(),
                product_type=cat,
                tags=[cat],
                description=f"{title}，精选面料，舒适百搭。",
                vendor=FENGSHANG,
                created_at=created,
                published_at=created,
                updated_at=created,
                reviews=_reviews(FENGSHANG_REVIEWS.get(i, []), now, review_id),
                sales=(i * 37) % 101,
            )
        )

    urban = ShopData(URBAN, "competitor", "shopify", "USD", price_style="usd", per_page=24)
    for i, (title, handle, price, ptype, tags) in enumerate(URBAN_PRODUCTS):
        created = _ago(now, 400 - i * 12)
        urban.products.append(
            Product(
                id=7301200000101 + i * 211,
                title=title,
                handle=handle,
                price=money(price),
                image=seeds.take(),
                product_type=ptype,
                tags=tags,
                description=f"The {title.lower()}, cut for everyday wear.",
                vendor=URBAN,
                created_at=created,
                published_at=created + timedelta(hours=2),
                updated_at=created + timedelta(hours=2),
                sales=(i * 53) % 97,
                sizes=("XS", "S", "M", "L", "XL")
                if ptype not in ("Bags", "Accessories")
                else ("Default Title",),
            )
        )
    for j, (title, handle, price, ptype, tags, days) in enumerate(URBAN_WINTER):
        published = _ago(now, days, 20)
        urban.products.append(
            Product(
                id=7301200009001 + j * 211,
                title=title,
                handle=handle,
                price=money(price),
                image=seeds.take(),
                product_type=ptype,
                tags=tags,
                description=f"New for winter: {title.split(' 羽绒服')[0].lower()}.",
                vendor=URBAN,
                created_at=published - timedelta(days=2),
                published_at=published,
                updated_at=published,
                sales=40 - j,
                sizes=("XS", "S", "M", "L", "XL") if ptype == "Outerwear" else ("Default Title",),
            )
        )

    fawn = ShopData(FAWN, "competitor", "html", "CNY", per_page=12)
    review_id = [801]
    for i, (title, price) in enumerate(FAWN_PRODUCTS):
        created = _ago(now, 120 - i * 4)
        fawn.products.append(
            Product(
                id=20031 + i * 3,
                title=title,
                handle=str(20031 + i * 3),
                price=money(price),
                image=seeds.take(),
                product_type="女装",
                tags=[],
                vendor="小鹿服饰",
                description=f"{title}，小鹿服饰原创设计。",
                created_at=created,
                published_at=created,
                updated_at=created,
                reviews=_reviews(FAWN_REVIEWS.get(i, []), now, review_id),
                sales=(i * 29) % 89,
                price_max=money("89.00") if i == 0 else None,
                graph=i % 3 == 1,
            )
        )

    market = ShopData(MARKET, "marketplace", "html", "CNY", price_style="fullwidth", per_page=20)
    own2 = own.products[1]
    market.products.append(
        copy_of(
            own2,
            660001,
            COPY_SELLER,
            2,
            "包邮 2027新款 " + own2.title.replace("Wide-Leg", "Wide Leg"),
            money(own2.price * Decimal("0.8")),
            now - timedelta(days=12),
        )
    )
    for i, (title, price, seller) in enumerate(MARKET_PRODUCTS):
        created = _ago(now, 90 - i * 2)
        market.products.append(
            Product(
                id=660011 + i * 13,
                title=title,
                handle=str(660011 + i * 13),
                price=money(price),
                image=seeds.take(),
                seller=seller,
                created_at=created,
                published_at=created,
                updated_at=created,
                sales=(i * 17) % 71,
                description=title,
            )
        )
    return [own, feng, urban, fawn, market]


def copy_of(
    original: Product, pid: int, seller: str, k: int, title: str, price: Decimal, when: datetime
) -> Product:
    """A copy shop's listing of ``original``: stolen photo variant ``k``, edited title."""
    seed = original.image.removeprefix("p")
    return Product(
        id=pid,
        title=title,
        handle=str(pid),
        price=price,
        image=f"s{seed}-{k}",
        product_type=original.product_type,
        tags=list(original.tags),
        vendor=seller,
        description=title,
        seller=seller,
        created_at=when,
        published_at=when,
        updated_at=when,
        sales=55,
    )


# --- scale worlds -----------------------------------------------------------------------

ZH_STYLE = [
    "法式",
    "复古",
    "韩版",
    "宽松",
    "修身",
    "高腰",
    "简约",
    "小众",
    "气质",
    "休闲",
    "通勤",
    "甜美",
    "文艺",
    "设计感",
    "百搭",
]
ZH_FABRIC = ["纯棉", "真丝", "亚麻", "针织", "醋酸", "牛仔", "羊毛混纺", "棉麻", "缎面", "皮质"]
ZH_ITEM = [
    "连衣裙",
    "半身裙",
    "衬衫",
    "T恤",
    "阔腿裤",
    "西装外套",
    "开衫",
    "卫衣",
    "牛仔裤",
    "吊带裙",
    "马甲",
    "短裤",
    "发夹",
    "托特包",
    "耳环",
    "丝巾",
    "腰带",
    "长裤",
]
ZH_TAIL = ["女", "新款", "显瘦", "百搭", "ins风", "中长款", "短款", "大码"]
EN_STYLE = [
    "Classic",
    "Relaxed",
    "Vintage",
    "Slim",
    "Oversized",
    "Cropped",
    "High-Rise",
    "Everyday",
    "Tailored",
    "Soft",
    "Boxy",
    "Fitted",
]
EN_FABRIC = [
    "Cotton",
    "Linen",
    "Silk",
    "Denim",
    "Satin",
    "Jersey",
    "Knit",
    "Leather",
    "Twill",
    "Poplin",
]
EN_ITEM = [
    "Midi Dress",
    "Shirt",
    "Blouse",
    "Trousers",
    "Jeans",
    "Blazer",
    "Cardigan",
    "Skirt",
    "Tee",
    "Hoodie",
    "Tote Bag",
    "Belt",
    "Earrings",
    "Shorts",
    "Jacket",
    "Tank Top",
]
EN_COLOUR = ["Black", "Ivory", "Navy", "Sage", "Camel", "Rose", "Olive", "Charcoal", "Sky Blue"]

IMAGE_POOL = 300


def _scale_product(rng: random.Random, shop_index: int, i: int, zh: bool, now: datetime) -> Product:
    if zh:
        item = rng.choice(ZH_ITEM)
        title = (
            f"{rng.choice(ZH_STYLE)}{rng.choice(ZH_FABRIC)}{item} "
            f"{rng.choice(ZH_TAIL)} {rng.choice(ZH_STYLE)}"
        )
        tags = [item, "女装"]
    else:
        item = rng.choice(EN_ITEM)
        title = f"{rng.choice(EN_STYLE)} {rng.choice(EN_FABRIC)} {item} - {rng.choice(EN_COLOUR)}"
        tags = [item.lower(), "women"]
    created = _ago(now, 30 + rng.random() * 600)
    price = money(rng.choice((39, 59, 79, 99, 129, 159, 199, 259, 299, 399)) + rng.choice((0, 0.9)))
    return Product(
        id=(shop_index + 1) * 100000 + i * 3 + 1,
        title=title,
        handle=f"item-{shop_index}-{i}",
        price=price,
        image=f"p{9000 + (shop_index * 7919 + i) % IMAGE_POOL}",
        product_type=item,
        tags=tags,
        description=f"{title}. " * 3,
        vendor=f"Shop {shop_index}",
        created_at=created,
        published_at=created,
        updated_at=created,
        sales=rng.randint(0, 5000),
        sizes=("S", "M", "L"),
    )


def scale_price_changes(shop: ShopData, index: int, seed: int, step: int, now: datetime) -> int:
    """Step ``step`` of a scale world: about 5% of this shop's prices move. Returns the count."""
    changed = 0
    rng = random.Random(f"{seed}:{index}:step{step}")
    factors = [Decimal(x) for x in ("0.8", "0.85", "0.9", "1.1", "1.15", "1.2")]
    for p in shop.products:
        if rng.random() < 0.05:
            p.price = money(p.price * rng.choice(factors))
            p.updated_at = now
            changed += 1
    return changed


def scale_world(
    shops: int, listings: int, page_kb: int, seed: int, now: datetime, step: Callable[[], int]
) -> list[ShopData]:
    """One own Shopify shop plus ``shops`` competitors (alternating Shopify / WooCommerce),
    each with ``listings`` products built on first use."""

    def factory(index: int, zh: bool, own: bool) -> Callable[[], list[Product]]:
        def build() -> list[Product]:
            rng = random.Random(f"{seed}:{index}")
            products = [_scale_product(rng, index, i, zh, now) for i in range(listings)]
            if own:
                review_id = [index * 1000000 + 1]
                for r, p in enumerate(sorted(products, key=lambda p: (-p.sales, p.id))[:5]):
                    p.image = f"p{IMAGE_SEEDS[r] if r < len(IMAGE_SEEDS) else 8000 + r}"
                    p.reviews = _reviews(OWN_REVIEWS[r], now, review_id)
            data = ShopData("", "", "", "", _products=products)
            for s in range(1, step() + 1):
                scale_price_changes(data, index, seed, s, now)
            return products

        return build

    out = [
        ShopData(
            OWN,
            "own",
            "shopify",
            "CNY",
            page_kb=page_kb,
            per_page=24,
            factory=factory(0, True, True),
            seed=seed,
        )
    ]
    for n in range(1, shops + 1):
        kind = "shopify" if n % 2 else "woocommerce"
        out.append(
            ShopData(
                f"Rival {n:03d}",
                "competitor",
                kind,
                "CNY",
                page_kb=page_kb,
                per_page=24,
                factory=factory(n, n % 4 in (1, 2), False),
                seed=seed,
            )
        )
    return out
