"""Response bodies of the sample shops, one router per storefront format.

Pure functions of a shop's data and the request: no sockets here (see ``server.py``).
Formats follow shared/platforms.md: Shopify storefront JSON and pages, the WooCommerce
Store API v1, schema.org JSON-LD product pages, and plain HTML shops read by selectors.
"""

from __future__ import annotations

import html
import json
import math
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

from watcher.demo import images
from watcher.demo.catalog import Product, ShopData

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
JPEG = "image/jpeg"


@dataclass
class Request:
    """The parts of an HTTP request the routers look at."""

    path: str
    query: dict[str, list[str]]
    base: str  # "http://127.0.0.1:PORT/"
    empty: bool = False  # the empty_catalog fault: catalog and search results are empty

    def arg(self, name: str, default: str = "") -> str:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Page:
    """One response; ``conditional`` pages get ETag / Last-Modified and can answer 304."""

    status: int = 200
    body: bytes = b""
    content_type: str = HTML
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None
    conditional: bool = False
    etag: str = ""
    gzipped: bytes | None = None


def json_page(data: Any, status: int = 200, **kw: Any) -> Page:
    """A JSON response (compact, UTF-8, like the real APIs)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Page(status, body, JSON, **kw)


def html_page(text: str, status: int = 200, **kw: Any) -> Page:
    """An HTML response."""
    return Page(status, text.encode(), HTML, **kw)


def not_found_html() -> Page:
    """A plain 404 page."""
    return html_page("<!doctype html><title>404 Not Found</title><h1>Page not found</h1>", 404)


# --- helpers ------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def iso(dt: datetime) -> str:
    """``2026-11-19T10:17:31+08:00``."""
    return dt.isoformat(timespec="seconds")


def two(d: Decimal) -> str:
    """``"129.00"``."""
    return f"{d:.2f}"


def minor(d: Decimal) -> str:
    """Minor units as WooCommerce prints them: ``"12900"``."""
    return str(int((d * 100).to_integral_value()))


def fmt_price(d: Decimal, style: str) -> str:
    """A price the way the shop prints it: ``¥1,299.00``, ``￥59起``, ``US$19.99``,
    ``1.299,00 €`` or ``￥59.00``."""
    if style == "usd":
        return f"US${d:,.2f}"
    if style == "eur":
        return f"{d:,.2f} €".replace(",", "_").replace(".", ",").replace("_", ".")
    if style == "from":
        return f"￥{d.normalize():f}起" if d == d.to_integral_value() else f"￥{d:.2f}起"
    if style == "fullwidth":
        return f"￥{d:,.2f}"
    return f"¥{d:,.2f}"


def esc(s: str) -> str:
    """HTML-escape text and attributes."""
    return html.escape(s, quote=True)


def img_url(req: Request, p: Product) -> str:
    """Absolute URL of the product's photo on this shop's CDN path."""
    return f"{req.base}cdn/{p.image}.jpg"


def ld_script(data: Any) -> str:
    """A ``<script type="application/ld+json">`` block."""
    text = json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{text}\n</script>'


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")


def features(text: str) -> set[str]:
    """Search features: lower-cased latin/digit words and CJK character bigrams."""
    t = unicodedata.normalize("NFKC", text).lower()
    out = set(_WORD.findall(t))
    for run in _CJK.findall(t):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            out.add(run)
    return out


def search(products: list[Product], query: str, threshold: float = 0.34) -> list[Product]:
    """A loose storefront search: share of the query's words and character bigrams found
    in the title (or tags), best first. A pasted full title finds edited copies of it."""
    q = features(query)
    if not q:
        return []
    scored = []
    for p in products:
        doc = features(p.title) | features(" ".join(p.tags))
        score = len(q & doc) / len(q)
        if score >= threshold or (query.strip() and query.strip().lower() in p.title.lower()):
            scored.append((score, p.sales, p))
    scored.sort(key=lambda t: (-t[0], -t[1], t[2].id))
    return [p for _, _, p in scored]


_FILLER_WORDS = [
    "新品",
    "上新",
    "热卖",
    "女装",
    "男装",
    "童装",
    "配饰",
    "包袋",
    "鞋履",
    "家居",
    "会员",
    "积分",
    "优惠券",
    "帮助中心",
    "关于我们",
    "联系我们",
    "Shipping",
    "Returns",
    "Privacy",
    "Terms",
    "Careers",
    "Stores",
    "Gift-cards",
    "Journal",
    "Lookbook",
    "Sustainability",
]


def padding(seed: int, kb: int) -> tuple[str, str, str]:
    """(inline CSS, navigation, footer) adding about ``kb`` KB, as real theme pages do."""
    if kb <= 0:
        return "", "", ""
    rng = random.Random(seed)
    target = kb * 1024
    css, nav, foot = [], [], []
    size = 0
    n = 0
    while size < target * 0.45:
        rule = (
            f".c{n}-{rng.randint(0, 999)}{{margin:{rng.randint(0, 24)}px {rng.randint(0, 24)}px;"
            f"color:#{rng.randint(0, 0xFFFFFF):06x};font-size:{rng.randint(11, 22)}px;"
            f"line-height:{rng.choice((1.2, 1.4, 1.5, 1.6))}}}\n"
        )
        css.append(rule)
        size += len(rule)
        n += 1
    while size < target * 0.8:
        word = rng.choice(_FILLER_WORDS)
        link = f'<li class="menu__item"><a href="/pages/{quote(word)}-{n}">{word}</a></li>\n'
        nav.append(link)
        size += len(link.encode())
        n += 1
    while size < target:
        words = " ".join(rng.choice(_FILLER_WORDS) for _ in range(12))
        para = f'<p class="footer__text">{words}</p>\n'
        foot.append(para)
        size += len(para.encode())
    return (
        "<style>\n" + "".join(css) + "</style>",
        '<nav class="header__menu"><ul>\n' + "".join(nav) + "</ul></nav>",
        '<footer class="footer">\n' + "".join(foot) + "</footer>",
    )


def page_kb(shop: ShopData, p: Product) -> int:
    """Target page size: 30–100 KB in the demo world, ``shop.page_kb`` for scale worlds."""
    if shop.page_kb >= 0:
        return shop.page_kb
    return 30 + p.id % 71


def document(
    title: str, body: str, head: str = "", pad: tuple[str, str, str] = ("", "", "")
) -> str:
    """A full HTML document around ``body``."""
    css, nav, foot = pad
    return (
        f'<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title>{css}{head}</head>\n<body>\n{nav}\n<main>\n{body}\n</main>\n"
        f"{foot}\n</body></html>\n"
    )


def review_ld(p: Product, url: str) -> dict[str, Any]:
    """aggregateRating and review list, as review apps add them to the Product."""
    if not p.reviews:
        return {}
    return {
        "aggregateRating": {
            "@type": "AggregateRating",
            "ratingValue": str(p.rating),
            "reviewCount": len(p.reviews),
            "bestRating": 5,
            "worstRating": 1,
        },
        "review": [
            {
                "@type": "Review",
                "@id": f"{url}#review-{r.id}",
                "author": {"@type": "Person", "name": r.author},
                "datePublished": iso(r.date),
                "reviewBody": r.text,
                "reviewRating": {"@type": "Rating", "ratingValue": r.rating, "bestRating": 5},
            }
            for r in sorted(p.reviews, key=lambda r: (r.date, r.id), reverse=True)
        ],
    }


def reviews_html(p: Product) -> str:
    """The visible review widget."""
    if not p.reviews:
        return '<div class="reviews"><p>暂无评价 No reviews yet</p></div>'
    items = []
    for r in sorted(p.reviews, key=lambda r: (r.date, r.id), reverse=True):
        items.append(
            f'<div class="review" id="review-{r.id}"><span class="review-rating" '
            f'data-rating="{r.rating}">{"★" * r.rating}{"☆" * (5 - r.rating)}</span>'
            f'<span class="review-author">{esc(r.author)}</span>'
            f'<time class="review-date" datetime="{iso(r.date)}">{r.date:%Y-%m-%d}</time>'
            f'<p class="review-text">{esc(r.text)}</p></div>'
        )
    return (
        f'<div class="reviews"><h2>评价 Reviews ({len(p.reviews)})</h2>'
        f'<div class="review-summary">{p.rating} / 5</div>{"".join(items)}</div>'
    )


def availability(p: Product) -> str:
    """schema.org availability URL."""
    return "https://schema.org/InStock" if p.available else "https://schema.org/OutOfStock"


def page_slice(items: list[Any], page: int, per_page: int) -> list[Any]:
    """Items of 1-based ``page``."""
    start = (page - 1) * per_page
    return items[start : start + per_page] if page >= 1 else []


def int_arg(req: Request, name: str, default: int) -> int | None:
    """An integer query parameter; None when present but not an integer."""
    raw = req.arg(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def last_modified(products: list[Product]) -> datetime | None:
    """The newest modification time among ``products``."""
    return max((p.updated_at for p in products), default=None)


def robots(text: str) -> Page:
    """A robots.txt response."""
    return Page(200, text.encode(), TEXT)


def cdn(req: Request) -> Page | None:
    """``/cdn/<name>.jpg``: the product photos."""
    m = re.fullmatch(r"/cdn/([a-z0-9-]+)\.jpg", req.path)
    if not m or not images.valid_name(m.group(1)):
        return None
    return Page(200, images.render(m.group(1)), JPEG, {"Cache-Control": "public, max-age=31536000"})


# --- Shopify ------------------------------------------------------------------------------

SHOPIFY_ROBOTS = """# we use Shopify as our ecommerce platform

User-agent: *
Disallow: /admin
Disallow: /cart
Disallow: /orders
Disallow: /checkouts/
Disallow: /checkout
Disallow: /carts
Disallow: /account
Disallow: /collections/*sort_by*
Disallow: /*/collections/*sort_by*
Disallow: /collections/*+*
Disallow: /collections/*%2B*
Disallow: /collections/*%2b*
Disallow: */collections/*filter*&*filter*
Disallow: /blogs/*+*
Disallow: /blogs/*%2B*
Disallow: /blogs/*%2b*
Disallow: /*/blogs/*+*
Disallow: /*?*oseid=*
Disallow: /*preview_theme_id*
Disallow: /*preview_script_id*
Disallow: /policies/
Disallow: /*/policies/
Disallow: /*/*?*ls=*&ls=*
Disallow: /*/*?*ls%3D*%3Fls%3D*
Disallow: /*/*?*ls%3d*%3fls%3d*
Disallow: /search
Allow: /search/
Disallow: /search/?*
Disallow: /apple-app-site-association
Disallow: /.well-known/shopify/monorail
Disallow: /recommendations/products
Disallow: /*/recommendations/products

Sitemap: {base}sitemap.xml
"""

_SORTS: dict[str, tuple[Callable[[Product], Any], bool]] = {
    "best-selling": (lambda p: (-p.sales, p.id), False),
    "title-ascending": (lambda p: p.title.lower(), False),
    "title-descending": (lambda p: p.title.lower(), True),
    "price-ascending": (lambda p: (p.price, p.id), False),
    "price-descending": (lambda p: (p.price, p.id), True),
    "created-ascending": (lambda p: (p.created_at, p.id), False),
    "created-descending": (lambda p: (p.created_at, p.id), True),
    "manual": (lambda p: p.id, False),
}


def _variants(p: Product) -> list[tuple[int, str]]:
    return [(p.id * 10 + 3 + i * 101, size) for i, size in enumerate(p.sizes)]


def shopify_product(
    shop: ShopData, req: Request, p: Product, admin: bool = False
) -> dict[str, Any]:
    """A product of ``/products.json`` (or the Admin shape of ``/products/<h>.json``)."""
    vids = [vid for vid, _ in _variants(p)]
    w, h = images.size(p.image)
    image = {
        "id": p.id + 7,
        "created_at": iso(p.created_at),
        "position": 1,
        "updated_at": iso(p.updated_at),
        "product_id": p.id,
        "variant_ids": [] if len(vids) == 1 else vids,
        "src": img_url(req, p),
        "width": w,
        "height": h,
    }
    if admin:
        image["alt"] = None
    variants = []
    for pos, (vid, size) in enumerate(_variants(p), start=1):
        v: dict[str, Any] = {
            "id": vid,
            "title": size,
            "option1": size,
            "option2": None,
            "option3": None,
            "sku": f"{p.handle[:12].upper()}-{size[:3].upper()}",
            "requires_shipping": True,
            "taxable": True,
            "featured_image": None,
        }
        if admin:
            v.update(
                {
                    "product_id": p.id,
                    "price": two(p.price),
                    "position": pos,
                    "inventory_policy": "deny",
                    "compare_at_price": two(p.compare_at) if p.compare_at else "",
                    "fulfillment_service": "manual",
                    "inventory_management": "shopify",
                    "created_at": iso(p.created_at),
                    "updated_at": iso(p.updated_at),
                    "barcode": "",
                    "grams": 300,
                    "image_id": None,
                    "weight": 0.3,
                    "weight_unit": "kg",
                }
            )
        else:
            v.update(
                {
                    "available": p.available,
                    "price": two(p.price),
                    "grams": 300,
                    "compare_at_price": two(p.compare_at) if p.compare_at else None,
                    "position": pos,
                    "product_id": p.id,
                    "created_at": iso(p.created_at),
                    "updated_at": iso(p.updated_at),
                }
            )
        variants.append(v)
    option_name = "Size" if p.sizes != ("Default Title",) else "Title"
    out: dict[str, Any] = {
        "id": p.id,
        "title": p.title,
        "handle": p.handle,
        "body_html": f"<p>{esc(p.description)}</p>",
        "published_at": iso(p.published_at),
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "vendor": p.vendor,
        "product_type": p.product_type,
        "tags": ", ".join(p.tags) if admin else sorted(p.tags),
        "variants": variants,
        "images": [image],
        "options": [
            {"name": option_name, "position": 1, "values": list(p.sizes)}
            | ({"id": p.id + 11, "product_id": p.id} if admin else {})
        ],
    }
    if admin:
        out.update(
            {"template_suffix": "", "published_scope": "web", "status": "active", "image": image}
        )
    return out


def _card_shopify(req: Request, p: Product, shop: ShopData) -> str:
    url = f"/products/{p.handle}"
    sale = (
        f'<s class="price-item price-item--regular">{fmt_price(p.compare_at, shop.price_style)}</s>'
        if p.compare_at
        else ""
    )
    sold = '<span class="badge">Sold out</span>' if not p.available else ""
    return (
        f'<li class="grid__item"><div class="card-wrapper product-card-wrapper">'
        f'<div class="card__media"><img src="{img_url(req, p)}" alt="{esc(p.title)}" '
        f'width="{images.size(p.image)[0]}" loading="lazy"></div>'
        f'<h3 class="card__heading"><a href="{url}" class="full-unstyled-link">{esc(p.title)}</a></h3>'
        f'<div class="price">{sale}<span class="price-item price-item--sale">'
        f"{fmt_price(p.price, shop.price_style)}</span>{sold}</div></div></li>"
    )


def _shopify_product_page(shop: ShopData, req: Request, p: Product) -> Page:
    url = f"{req.base}products/{p.handle}"
    ld: dict[str, Any] = {
        "@context": "http://schema.org/",
        "@type": "Product",
        "name": p.title,
        "url": url,
        "image": [img_url(req, p)],
        "description": p.description,
        "sku": f"{p.handle[:12].upper()}-{p.sizes[0][:3].upper()}",
        "brand": {"@type": "Brand", "name": p.vendor},
        "offers": [
            {
                "@type": "Offer",
                "availability": availability(p),
                "price": float(p.price),
                "priceCurrency": shop.currency,
                "url": f"{url}?variant={vid}",
            }
            for vid, _ in _variants(p)
        ],
    } | review_ld(p, url)
    body = (
        f'<div class="product" data-product-id="{p.id}"><div class="product__media">'
        f'<img src="{img_url(req, p)}" alt="{esc(p.title)}"></div>'
        f'<div class="product__info"><h1 class="product__title">{esc(p.title)}</h1>'
        f'<div class="price"><span class="price-item">{fmt_price(p.price, shop.price_style)}'
        f'</span></div><div class="product__description rte">'
        f"<p>{esc(p.description)}</p></div>"
        f'<button type="submit" name="add" {"disabled" if not p.available else ""}>'
        f"{'Add to cart' if p.available else 'Sold out'}</button></div></div>"
        f"{reviews_html(p)}"
    )
    head = (
        f'<link rel="canonical" href="{url}"><meta property="og:title" content="{esc(p.title)}">'
        f'<meta property="og:price:amount" content="{fmt_price(p.price, "plain")[1:]}">'
        f'<meta property="og:price:currency" content="{shop.currency}">{ld_script(ld)}'
    )
    text = document(f"{p.title} – {shop.name}", body, head, padding(p.id, page_kb(shop, p)))
    return html_page(text, last_modified=p.updated_at, conditional=True)


def _suggest_product(req: Request, p: Product, q: str, pos: int) -> dict[str, Any]:
    w, h = images.size(p.image)
    return {
        "id": p.id,
        "title": p.title,
        "handle": p.handle,
        "url": f"/products/{p.handle}?_pos={pos}&_psq={quote(q[:40])}&_ss=e&_v=1.0",
        "vendor": p.vendor,
        "type": p.product_type,
        "tags": sorted(p.tags),
        "available": p.available,
        "body": f"<p>{esc(p.description)}</p>",
        "image": img_url(req, p),
        "featured_image": {
            "alt": p.title,
            "aspect_ratio": round(w / h, 3),
            "height": h,
            "url": img_url(req, p),
            "width": w,
        },
        "price": two(p.price),
        "price_min": two(p.price),
        "price_max": two(p.price),
        "compare_at_price_min": two(p.compare_at) if p.compare_at else "0.00",
        "compare_at_price_max": two(p.compare_at) if p.compare_at else "0.00",
    }


def shopify(shop: ShopData, req: Request) -> Page | None:
    """Routes of a Shopify storefront."""
    path = req.path
    if path == "/robots.txt":
        return robots(SHOPIFY_ROBOTS.replace("{base}", req.base))
    if path in ("/products.json", "/collections/all/products.json"):
        limit = int_arg(req, "limit", 30)
        page = int_arg(req, "page", 1)
        limit = 30 if limit is None or limit < 1 else min(limit, 250)
        page = 1 if page is None or page < 1 else page
        if page * limit > 25000:
            return json_page({"errors": "Page * Limit exceeds the 25000 limit."}, 400)
        items = (
            []
            if req.empty
            else sorted(shop.products, key=lambda p: (p.created_at, p.id), reverse=True)
        )
        chunk = page_slice(items, page, limit)
        return json_page(
            {"products": [shopify_product(shop, req, p) for p in chunk]},
            last_modified=last_modified(shop.products),
            conditional=True,
        )
    m = re.fullmatch(r"/products/([^/]+?)(\.json|\.js)?", path)
    if m:
        p = shop.by_handle(m.group(1))
        if p is None:
            return json_page({"errors": "Not Found"}, 404) if m.group(2) else not_found_html()
        if m.group(2) == ".json":
            return json_page(
                {"product": shopify_product(shop, req, p, admin=True)},
                last_modified=p.updated_at,
                conditional=True,
            )
        if m.group(2) == ".js":
            return json_page(_ajax_product(req, p), last_modified=p.updated_at, conditional=True)
        return _shopify_product_page(shop, req, p)
    if path == "/collections/all":
        sort = req.arg("sort_by", "manual")
        key, rev = _SORTS.get(sort, _SORTS["manual"])
        items = [] if req.empty else sorted(shop.products, key=key, reverse=rev)
        page = int_arg(req, "page", 1) or 1
        chunk = page_slice(items, page, shop.per_page)
        pages = max(1, math.ceil(len(items) / shop.per_page))
        nav = ""
        if page < pages:
            nxt = "/collections/all?" + urlencode({"page": page + 1, "sort_by": sort})
            nav = f'<nav class="pagination"><a class="pagination__item--next" href="{esc(nxt)}">Next</a></nav>'
        cards = "".join(_card_shopify(req, p, shop) for p in chunk)
        body = (
            f'<h1 class="collection-hero__title">Products</h1>'
            f'<ul id="product-grid" class="grid product-grid">{cards}</ul>{nav}'
        )
        return html_page(
            document(f"Products – {shop.name}", body),
            last_modified=last_modified(shop.products),
            conditional=True,
        )
    if path in ("/search/suggest.json", "/search/suggest"):
        q = req.arg("q")
        limit = int_arg(req, "resources[limit]", 10)
        limit = 10 if limit is None else max(1, min(limit, 10))
        types = req.arg("resources[type]", "query,product,collection,page").split(",")
        found = [] if req.empty or "product" not in types else search(shop.products, q)
        mode = req.arg("resources[options][unavailable_products]", "last")
        if mode == "hide":
            found = [p for p in found if p.available]
        elif mode == "last":
            found = [p for p in found if p.available] + [p for p in found if not p.available]
        products = [_suggest_product(req, p, q, i) for i, p in enumerate(found[:limit], 1)]
        return json_page({"resources": {"results": {"products": products, "queries": []}}})
    if path == "/":
        cards = "".join(_card_shopify(req, p, shop) for p in shop.best_selling()[:8])
        return html_page(
            document(shop.name, f"<h1>{esc(shop.name)}</h1><ul class='grid'>{cards}</ul>")
        )
    return None


def _ajax_product(req: Request, p: Product) -> dict[str, Any]:
    cents = int(minor(p.price))
    compare = int(minor(p.compare_at)) if p.compare_at else None
    return {
        "id": p.id,
        "title": p.title,
        "handle": p.handle,
        "description": f"<p>{esc(p.description)}</p>",
        "published_at": iso(p.published_at),
        "created_at": iso(p.created_at),
        "vendor": p.vendor,
        "type": p.product_type,
        "tags": sorted(p.tags),
        "price": cents,
        "price_min": cents,
        "price_max": cents,
        "available": p.available,
        "price_varies": False,
        "compare_at_price": compare,
        "compare_at_price_min": compare or 0,
        "compare_at_price_max": compare or 0,
        "compare_at_price_varies": False,
        "variants": [
            {
                "id": vid,
                "title": s,
                "option1": s,
                "option2": None,
                "option3": None,
                "available": p.available,
                "price": cents,
                "compare_at_price": compare,
            }
            for vid, s in _variants(p)
        ],
        "images": [img_url(req, p)],
        "featured_image": img_url(req, p),
        "url": f"/products/{p.handle}",
    }


# --- WooCommerce --------------------------------------------------------------------------

WOO_ROBOTS = """User-agent: *
Disallow: /wp-admin/
Allow: /wp-admin/admin-ajax.php

Sitemap: {base}wp-sitemap.xml
"""

_WOO_SYMBOL = {"CNY": "¥", "USD": "$", "EUR": "€"}


def _woo_error(param: str, message: str) -> Page:
    return json_page(
        {
            "code": "rest_invalid_param",
            "message": f"Invalid parameter(s): {param}",
            "data": {
                "status": 400,
                "params": {param: message},
                "details": {
                    param: {"code": "rest_out_of_bounds", "message": message, "data": None}
                },
            },
        },
        400,
    )


def woo_product(shop: ShopData, req: Request, p: Product) -> dict[str, Any]:
    """One Store API product."""
    symbol = _WOO_SYMBOL.get(shop.currency, "")
    regular = p.compare_at or p.price
    thumb = img_url(req, p)
    cat_id = 15 + sum(map(ord, p.product_type)) % 40
    return {
        "id": p.id,
        "name": p.title,
        "slug": p.handle,
        "parent": 0,
        "type": "simple",
        "variation": "",
        "permalink": f"{req.base}product/{quote(p.handle)}/",
        "sku": f"FS-{p.id}",
        "short_description": "",
        "description": f"<p>{esc(p.description)}</p>",
        "on_sale": p.compare_at is not None,
        "prices": {
            "price": minor(p.price),
            "regular_price": minor(regular),
            "sale_price": minor(p.price),
            "price_range": None,
            "currency_code": shop.currency,
            "currency_symbol": symbol,
            "currency_minor_unit": 2,
            "currency_decimal_separator": ".",
            "currency_thousand_separator": ",",
            "currency_prefix": symbol,
            "currency_suffix": "",
        },
        "price_html": f'<span class="woocommerce-Price-amount amount">{symbol}{two(p.price)}</span>',
        "average_rating": str(p.rating or Decimal("0.00")) if p.reviews else "0",
        "review_count": len(p.reviews),
        "images": [
            {
                "id": p.id + 1,
                "src": thumb,
                "thumbnail": thumb,
                "srcset": f"{thumb} {images.size(p.image)[0]}w",
                "sizes": "(max-width: 600px) 100vw, 600px",
                "name": f"{p.handle}.jpg",
                "alt": p.title,
            }
        ],
        "categories": [
            {
                "id": cat_id,
                "name": p.product_type,
                "slug": quote(p.product_type).lower(),
                "link": f"{req.base}product-category/{quote(p.product_type)}/",
            }
        ],
        "tags": [
            {
                "id": 60 + i,
                "name": t,
                "slug": quote(t).lower(),
                "link": f"{req.base}product-tag/{quote(t)}/",
            }
            for i, t in enumerate(p.tags)
        ],
        "brands": [],
        "attributes": [
            {
                "id": 1,
                "name": "尺码",
                "taxonomy": "pa_size",
                "has_variations": False,
                "terms": [
                    {"id": 30 + i, "name": s, "slug": s.lower(), "default": False}
                    for i, s in enumerate(p.sizes)
                ],
            }
        ],
        "variations": [],
        "grouped_products": [],
        "has_options": False,
        "is_purchasable": p.available,
        "is_in_stock": p.available,
        "is_on_backorder": False,
        "low_stock_remaining": None,
        "stock_availability": {
            "text": "" if p.available else "缺货",
            "class": "in-stock" if p.available else "out-of-stock",
        },
        "sold_individually": False,
        "add_to_cart": {
            "text": "加入购物车",
            "description": f"将“{p.title}”加入您的购物车",
            "url": f"?add-to-cart={p.id}",
            "single_text": "加入购物车",
            "minimum": 1,
            "maximum": 9999,
            "multiple_of": 1,
        },
        "extensions": {},
    }


def _woo_review(shop: ShopData, req: Request, p: Product, r: Any) -> dict[str, Any]:
    local = r.date.replace(tzinfo=None)
    gmt = r.date.astimezone(UTC).replace(tzinfo=None)
    return {
        "id": r.id,
        "date_created": local.isoformat(timespec="seconds"),
        "formatted_date_created": f"{r.date:%B} {r.date.day}, {r.date.year}",
        "date_created_gmt": gmt.isoformat(timespec="seconds"),
        "product_id": p.id,
        "product_name": p.title,
        "product_permalink": f"{req.base}product/{quote(p.handle)}/",
        "product_image": {
            "id": p.id + 1,
            "src": img_url(req, p),
            "thumbnail": img_url(req, p),
            "srcset": "",
            "sizes": "",
            "name": f"{p.handle}.jpg",
            "alt": p.title,
        },
        "reviewer": r.author,
        "review": f"<p>{esc(r.text)}</p>\n",
        "rating": r.rating,
        "verified": r.verified,
        "reviewer_avatar_urls": {"24": "", "48": "", "96": ""},
    }


def _paged(req: Request, items: list[Any], per_page: int, page: int, path: str) -> dict[str, str]:
    total = len(items)
    pages = math.ceil(total / per_page) if per_page else (1 if total else 0)
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    links = []
    params = {k: v[0] for k, v in req.query.items() if k != "page"}
    if page > 1:
        links.append(
            f'<{req.base}{path.lstrip("/")}?{urlencode(params | {"page": page - 1})}>; rel="prev"'
        )
    if page < pages:
        links.append(
            f'<{req.base}{path.lstrip("/")}?{urlencode(params | {"page": page + 1})}>; rel="next"'
        )
    if links:
        headers["Link"] = ", ".join(links)
    return headers


_WOO_ORDER: dict[str, Callable[[Product], Any]] = {
    "date": lambda p: (p.created_at, p.id),
    "modified": lambda p: (p.updated_at, p.id),
    "id": lambda p: p.id,
    "title": lambda p: (p.title, p.id),
    "slug": lambda p: (p.handle, p.id),
    "price": lambda p: (p.price, p.id),
    "popularity": lambda p: (p.sales, p.id),
    "rating": lambda p: (p.rating or 0, p.id),
    "comment_count": lambda p: (len(p.reviews), p.id),
    "menu_order": lambda p: p.id,
}


def _woo_products(shop: ShopData, req: Request) -> Page:
    per_page = int_arg(req, "per_page", 10)
    if per_page is None or not 0 <= per_page <= 100:
        return _woo_error("per_page", "per_page must be between 0 (inclusive) and 100 (inclusive)")
    page = int_arg(req, "page", 1)
    if page is None or page < 1:
        return _woo_error("page", "page must be greater than or equal to 1")
    orderby = req.arg("orderby", "date")
    order = req.arg("order", "desc")
    if orderby not in (*_WOO_ORDER, "include"):
        return _woo_error(
            "orderby", f"orderby is not one of {', '.join([*_WOO_ORDER, 'include'])}."
        )
    if order not in ("asc", "desc"):
        return _woo_error("order", "order is not one of asc, desc.")
    items = [] if req.empty else list(shop.products)
    include = [
        int(x)
        for v in req.query.get("include", []) + req.query.get("include[]", [])
        for x in v.split(",")
        if x.strip().isdigit()
    ]
    if include:
        items = [p for p in items if p.id in include]
    if req.arg("slug"):
        slugs = req.arg("slug").split(",")
        items = [p for p in items if p.handle in slugs]
    q = req.arg("search")
    if q:
        hits = {p.id for p in search(items, q, threshold=0.5)}
        items = [p for p in items if p.id in hits]
    if orderby == "include" and include:
        items.sort(key=lambda p: include.index(p.id))
    else:
        items.sort(key=_WOO_ORDER.get(orderby, _WOO_ORDER["date"]), reverse=order == "desc")
    chunk = items if per_page == 0 else page_slice(items, page, per_page)
    headers = _paged(req, items, per_page, page, req.path)
    return json_page(
        [woo_product(shop, req, p) for p in chunk],
        headers=headers,
        last_modified=last_modified(shop.products),
        conditional=True,
    )


def _woo_reviews(shop: ShopData, req: Request) -> Page:
    per_page = int_arg(req, "per_page", 10)
    if per_page is None or not 0 < per_page <= 100:
        return _woo_error("per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)")
    page = int_arg(req, "page", 1)
    if page is None or page < 1:
        return _woo_error("page", "page must be greater than or equal to 1")
    ids = {
        int(x) for v in req.query.get("product_id", []) for x in v.split(",") if x.strip().isdigit()
    }
    rows = [(p, r) for p in shop.products if not ids or p.id in ids for r in p.reviews]
    orderby = req.arg("orderby", "date")
    keys: dict[str, Callable[[Any], Any]] = {
        "date": lambda pr: (pr[1].date, pr[1].id),
        "date_gmt": lambda pr: (pr[1].date, pr[1].id),
        "id": lambda pr: pr[1].id,
        "rating": lambda pr: (pr[1].rating, pr[1].id),
        "product": lambda pr: (pr[0].id, pr[1].id),
    }
    if orderby not in keys:
        return _woo_error("orderby", f"orderby is not one of {', '.join(keys)}.")
    rows.sort(key=keys[orderby], reverse=req.arg("order", "desc") == "desc")
    chunk = page_slice(rows, page, per_page)
    headers = _paged(req, rows, per_page, page, req.path)
    return json_page(
        [_woo_review(shop, req, p, r) for p, r in chunk],
        headers=headers,
        last_modified=last_modified(shop.products),
        conditional=True,
    )


def _woo_page(shop: ShopData, req: Request, p: Product) -> Page:
    url = f"{req.base}product/{quote(p.handle)}/"
    product: dict[str, Any] = {
        "@type": "Product",
        "@id": f"{url}#product",
        "name": p.title,
        "url": url,
        "description": p.description,
        "image": img_url(req, p),
        "sku": f"FS-{p.id}",
        "offers": [
            {
                "@type": "Offer",
                "price": two(p.price),
                "priceValidUntil": "2027-12-31",
                "priceSpecification": {
                    "price": two(p.price),
                    "priceCurrency": shop.currency,
                    "valueAddedTaxIncluded": "false",
                },
                "priceCurrency": shop.currency,
                "availability": availability(p).replace("https:", "http:"),
                "url": url,
                "seller": {"@type": "Organization", "name": shop.name, "url": req.base},
            }
        ],
    } | review_ld(p, url)
    ld = {
        "@context": "https://schema.org/",
        "@graph": [
            {
                "@type": "BreadcrumbList",
                "itemListElement": [
                    {"@type": "ListItem", "position": 1, "item": {"name": "首页", "@id": req.base}},
                    {"@type": "ListItem", "position": 2, "item": {"name": p.title, "@id": url}},
                ],
            },
            product,
        ],
    }
    price = (
        f"<del>{fmt_price(p.compare_at, shop.price_style)}</del> <ins>{fmt_price(p.price, shop.price_style)}</ins>"
        if p.compare_at
        else fmt_price(p.price, shop.price_style)
    )
    body = (
        f'<div id="product-{p.id}" class="product type-product">'
        f'<div class="woocommerce-product-gallery"><img src="{img_url(req, p)}" alt="{esc(p.title)}"></div>'
        f'<div class="summary entry-summary"><h1 class="product_title entry-title">{esc(p.title)}</h1>'
        f'<p class="price">{price}</p><div class="woocommerce-product-details__short-description">'
        f"<p>{esc(p.description)}</p></div>"
        f'<p class="stock {"in-stock" if p.available else "out-of-stock"}">{"有货" if p.available else "缺货"}</p>'
        f"</div>{reviews_html(p)}</div>"
    )
    text = document(
        f"{p.title} – {shop.name}", body, ld_script(ld), padding(p.id, page_kb(shop, p))
    )
    return html_page(text, last_modified=p.updated_at, conditional=True)


def woocommerce(shop: ShopData, req: Request) -> Page | None:
    """Routes of a WooCommerce shop (Store API v1 and product pages)."""
    path = req.path.rstrip("/") or "/"
    if req.path == "/robots.txt":
        return robots(WOO_ROBOTS.replace("{base}", req.base))
    api = "/wp-json/wc/store/v1"
    if path == f"{api}/products":
        return _woo_products(shop, req)
    if path == f"{api}/products/reviews":
        return _woo_reviews(shop, req)
    m = re.fullmatch(rf"{api}/products/(\d+)", path)
    if m:
        p = shop.by_id(int(m.group(1)))
        if p is None:
            return json_page(
                {
                    "code": "woocommerce_rest_product_invalid_id",
                    "message": "Invalid product ID.",
                    "data": {"status": 404},
                },
                404,
            )
        return json_page(woo_product(shop, req, p), last_modified=p.updated_at, conditional=True)
    m = re.fullmatch(r"/product/([^/]+)", path)
    if m:
        from urllib.parse import unquote

        p = shop.by_handle(unquote(m.group(1)))
        return _woo_page(shop, req, p) if p else not_found_html()
    if path.startswith("/wp-json"):
        return json_page(
            {
                "code": "rest_no_route",
                "message": "未找到匹配URL和请求方式的路由。",
                "data": {"status": 404},
            },
            404,
        )
    if path == "/":
        links = "".join(
            f'<li><a href="/product/{quote(p.handle)}/">{esc(p.title)}</a></li>'
            for p in shop.products[:12]
        )
        return html_page(document(shop.name, f"<h1>{esc(shop.name)}</h1><ul>{links}</ul>"))
    return None


# --- HTML shops and the marketplace -------------------------------------------------------

HTML_ROBOTS = """User-agent: *
Disallow: /cart/
Disallow: /checkout/
Disallow: /account/
"""


def _card_html(req: Request, p: Product, shop: ShopData) -> str:
    style = "from" if p.price_max else shop.price_style
    return (
        f'<div class="product-card"><a class="product-link" href="/item/{p.id}.html">'
        f'<img src="{img_url(req, p)}" alt="{esc(p.title)}"><h3 class="product-title">'
        f'{esc(p.title)}</h3></a><span class="price">{fmt_price(p.price, style)}</span></div>'
    )


def _html_listing(
    req: Request, shop: ShopData, title: str, items: list[Product], page: int, next_href: str | None
) -> Page:
    cards = "\n".join(_card_html(req, p, shop) for p in items)
    nav = (
        f'<div class="pager"><a class="next" href="{esc(next_href)}">下一页</a></div>'
        if next_href
        else ""
    )
    body = f'<h1>{esc(title)}</h1>\n<div class="product-grid">\n{cards}\n</div>\n{nav}'
    return html_page(
        document(f"{title} - {shop.name}", body),
        last_modified=last_modified(shop.products),
        conditional=True,
    )


def _html_product_ld(shop: ShopData, req: Request, p: Product, url: str) -> dict[str, Any]:
    offer: dict[str, Any]
    if p.price_max:
        offer = {
            "@type": "AggregateOffer",
            "lowPrice": two(p.price),
            "highPrice": two(p.price_max),
            "offerCount": 3,
            "priceCurrency": shop.currency,
            "availability": availability(p),
        }
    else:
        offer = {
            "@type": "Offer",
            "price": two(p.price),
            "priceCurrency": shop.currency,
            "availability": availability(p),
            "url": url,
        }
    if p.seller:
        offer["seller"] = {"@type": "Organization", "name": p.seller}
    product: dict[str, Any] = {
        "@type": "Product",
        "name": p.title,
        "image": img_url(req, p),
        "url": url,
        "description": p.description,
        "sku": str(p.id),
        "offers": offer,
    } | review_ld(p, url)
    if p.graph:
        return {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "WebPage", "@id": url, "name": p.title},
                {"@type": "Organization", "name": shop.name, "url": req.base},
                product | {"@id": f"{url}#product"},
            ],
        }
    return {"@context": "https://schema.org"} | product


def _html_product_page(shop: ShopData, req: Request, p: Product, url: str) -> Page:
    style = "from" if p.price_max else shop.price_style
    seller = (
        f'<div class="seller">店铺：<span class="shop-name">{esc(p.seller)}</span></div>'
        if p.seller
        else ""
    )
    body = (
        f'<div class="product-detail"><img class="main-image" src="{img_url(req, p)}" alt="{esc(p.title)}">'
        f'<h1 class="product-title">{esc(p.title)}</h1><span class="price">{fmt_price(p.price, style)}</span>'
        f'{seller}<div class="desc"><p>{esc(p.description)}</p></div></div>{reviews_html(p)}'
    )
    text = document(
        f"{p.title} - {shop.name}",
        body,
        ld_script(_html_product_ld(shop, req, p, url)),
        padding(p.id, page_kb(shop, p)),
    )
    return html_page(text, last_modified=p.updated_at, conditional=True)


def html_shop(shop: ShopData, req: Request) -> Page | None:
    """Routes of an HTML shop: catalogue pages, product pages, search, best sellers."""
    path = req.path
    if path == "/robots.txt":
        return robots(HTML_ROBOTS)
    newest = sorted(shop.products, key=lambda p: (p.created_at, p.id), reverse=True)
    if path in ("/shop/", "/shop"):
        page = int_arg(req, "page", 1) or 1
        items = [] if req.empty else newest
        pages = max(1, math.ceil(len(items) / shop.per_page))
        if page > pages:
            return not_found_html()
        nxt = f"/shop/?page={page + 1}" if page < pages else None
        return _html_listing(
            req, shop, "全部商品", page_slice(items, page, shop.per_page), page, nxt
        )
    if path in ("/best/", "/best"):
        items = [] if req.empty else shop.best_selling()[: shop.per_page]
        return _html_listing(req, shop, "热销榜", items, 1, None)
    if path == "/search":
        items = [] if req.empty else search(shop.products, req.arg("q"))[:24]
        return _html_listing(req, shop, f"搜索：{req.arg('q')}", items, 1, None)
    m = re.fullmatch(r"/item/(\d+)\.html", path)
    if m:
        p = shop.by_id(int(m.group(1)))
        return (
            _html_product_page(shop, req, p, f"{req.base}item/{p.id}.html")
            if p
            else not_found_html()
        )
    if path == "/":
        return html_page(
            document(shop.name, f'<h1>{esc(shop.name)}</h1><a href="/shop/">进入店铺</a>')
        )
    return None


def _result_card(req: Request, p: Product, shop: ShopData) -> str:
    return (
        f'<div class="result"><a href="/p/{p.id}"><img src="{img_url(req, p)}" alt="">'
        f'<span class="title">{esc(p.title)}</span></a>'
        f'<span class="price">{fmt_price(p.price, shop.price_style)}</span>'
        f'<span class="seller">{esc(p.seller)}</span></div>'
    )


def marketplace(shop: ShopData, req: Request) -> Page | None:
    """Routes of the Demo Market: search results from many sellers and product pages."""
    path = req.path
    if path == "/robots.txt":
        return robots(HTML_ROBOTS)
    if path == "/search":
        q = req.arg("q")
        items = [] if req.empty else search(shop.products, q, threshold=0.12)[:20]
        cards = "\n".join(_result_card(req, p, shop) for p in items)
        empty = "" if items else '<p class="no-results">没有找到相关宝贝</p>'
        body = (
            f'<div class="search-header">搜索“{esc(q)}”</div>'
            f'<div class="results">\n{cards}\n</div>{empty}'
        )
        return html_page(
            document(f"{q} - {shop.name}", body),
            last_modified=last_modified(shop.products),
            conditional=True,
        )
    m = re.fullmatch(r"/p/(\d+)", path)
    if m:
        p = shop.by_id(int(m.group(1)))
        return _html_product_page(shop, req, p, f"{req.base}p/{p.id}") if p else not_found_html()
    if path == "/":
        return html_page(
            document(
                shop.name,
                f'<h1>{esc(shop.name)}</h1><form action="/search"><input name="q"></form>',
            )
        )
    return None


ROUTERS: dict[str, Callable[[ShopData, Request], Page | None]] = {
    "shopify": shopify,
    "woocommerce": woocommerce,
    "html": html_shop,
    "marketplace": marketplace,
}


def route(shop: ShopData, req: Request) -> Page:
    """The response of ``shop`` to ``req`` (404 when no route matches)."""
    if req.path.startswith("/cdn/"):
        return cdn(req) or Page(404, b"Not Found", TEXT)
    router = ROUTERS["marketplace" if shop.role == "marketplace" else shop.kind]
    return router(shop, req) or not_found_html()
