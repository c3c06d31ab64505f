"""Product-page parsing speed: pages per second on one core.

Generates realistic product pages of 100–500 KB (head with meta tags and inline CSS, big
inline scripts, a long nav, product HTML with ~20 reviews, footer, tracking JS, and a
JSON-LD Product with offers, aggregateRating and 20 reviews), then times
:func:`watcher.sources.structured.extract_products` on them. Also times the fallback
paths (microdata-only and OpenGraph-only pages, which build an lxml tree) and the CSS
selector path of the html source (BeautifulSoup), for context.

Run: ``.venv/bin/python bench/bench_html_parse.py [--pages 40] [--seconds 3]``
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable

from bs4 import BeautifulSoup

from watcher.sources.structured import extract_products

ZH = "碎花连衣裙夏季新款收腰显瘦雪纺长裙女装气质温柔风法式复古短袖高腰度假沙滩裙"
EN = [
    "floral",
    "summer",
    "dress",
    "chiffon",
    "waist",
    "slim",
    "vintage",
    "french",
    "short",
    "sleeve",
    "high",
    "waist",
    "beach",
]


def _words(rng: random.Random, n: int) -> str:
    if rng.random() < 0.5:
        return "".join(rng.choice(ZH) for _ in range(n))
    return " ".join(rng.choice(EN) for _ in range(n))


def _css(rng: random.Random, kb: int) -> str:
    rules = []
    while sum(len(r) for r in rules) < kb * 1024:
        cls = f".c{rng.randrange(10**6)}"
        rules.append(
            f"{cls}{{margin:{rng.randrange(40)}px;padding:0 {rng.randrange(20)}px;"
            f"color:#{rng.randrange(0xFFFFFF):06x};font:14px/1.4 sans-serif}}\n"
        )
    return "<style>" + "".join(rules) + "</style>"


def _js(rng: random.Random, kb: int) -> str:
    config = {
        "products": [
            {"id": rng.randrange(10**9), "title": _words(rng, 8), "variants": list(range(8))}
            for _ in range(kb * 3)
        ]
    }
    body = json.dumps(config, ensure_ascii=False)[: kb * 1024]
    return (
        f"<script>window.__STATE__ = {json.dumps(body)};"
        "function t(a,b){return a<b&&'<div>'+a+'</div>';}</script>"
    )


def _nav(rng: random.Random, links: int) -> str:
    items = "".join(
        f'<li class="nav-item"><a href="/c/{i}" class="nav-link" data-track="nav-{i}">'
        f"{_words(rng, 3)}</a></li>"
        for i in range(links)
    )
    return f'<nav class="menu"><ul>{items}</ul></nav>'


def _reviews(rng: random.Random, n: int) -> tuple[list[dict[str, object]], str]:
    data, html = [], []
    for i in range(n):
        text = _words(rng, rng.randrange(10, 60))
        rating = rng.randint(1, 5)
        data.append(
            {
                "@type": "Review",
                "@id": f"#review-{i}",
                "author": {"@type": "Person", "name": f"user{i}"},
                "datePublished": f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "reviewBody": text,
                "reviewRating": {"@type": "Rating", "ratingValue": rating, "bestRating": 5},
            }
        )
        html.append(
            f'<div class="review" id="r{i}"><span class="author">user{i}</span>'
            f'<span class="stars" style="width:{rating * 20}%"></span><p>{text}</p></div>'
        )
    return data, "".join(html)


def make_page(rng: random.Random, size_kb: int, kind: str = "jsonld") -> str:
    """A product page of about ``size_kb`` KB; ``kind`` is jsonld, microdata or og."""
    reviews, reviews_html = _reviews(rng, 20)
    title = _words(rng, 12)
    product = {
        "@context": "https://schema.org",
        "@type": "Product",
        "@id": "https://shop.example/products/p1#product",
        "name": title,
        "sku": f"SKU-{rng.randrange(10**6)}",
        "url": "https://shop.example/products/p1",
        "image": [f"https://cdn.shop.example/p1/{i}.jpg" for i in range(6)],
        "description": _words(rng, 80),
        "brand": {"@type": "Brand", "name": "Brand"},
        "offers": [
            {
                "@type": "Offer",
                "price": f"{rng.randrange(20, 500)}.00",
                "priceCurrency": "CNY",
                "availability": "https://schema.org/InStock",
                "url": f"https://shop.example/products/p1?variant={v}",
            }
            for v in range(6)
        ],
        "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.6", "reviewCount": 20},
        "review": reviews,
    }
    head = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{title}</title>",
        '<link rel="canonical" href="https://shop.example/products/p1">',
        *(f'<meta name="m{i}" content="{_words(rng, 5)}">' for i in range(30)),
        f'<meta property="og:title" content="{title}">',
        '<meta property="og:image" content="https://cdn.shop.example/p1/0.jpg">',
    ]
    if kind == "og":
        head.append('<meta property="og:type" content="product">')
        head.append('<meta property="og:price:amount" content="1,299.00">')
        head.append('<meta property="og:price:currency" content="CNY">')
    budget = size_kb * 1024
    head.append(_css(rng, max(10, size_kb // 5)))
    head.append(_js(rng, max(10, size_kb // 4)))
    if kind == "jsonld":
        head.append(
            '<script type="application/ld+json">'
            + json.dumps(product, ensure_ascii=False)
            + "</script>"
        )
    head.append("</head>")
    body = ["<body>", _nav(rng, 200)]
    if kind == "microdata":
        body.append(
            '<div itemscope itemtype="https://schema.org/Product">'
            f'<h1 itemprop="name">{title}</h1><img itemprop="image" src="/p1/0.jpg">'
            '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
            '<span itemprop="price" content="129.00">¥129</span>'
            '<meta itemprop="priceCurrency" content="CNY">'
            '<link itemprop="availability" href="https://schema.org/InStock"></div></div>'
        )
    else:
        body.append(f'<h1 class="title">{title}</h1><span class="price">¥129.00</span>')
    body.append(f'<section class="reviews">{reviews_html}</section>')
    page = "".join(head + body)
    tail = _js(rng, 8) + "<footer>©</footer></body></html>"
    size = len(page.encode()) + len(tail.encode())
    filler = []
    while size < budget:
        card = (
            f'<div class="card c{rng.randrange(999)}"><a href="/products/{rng.randrange(10**5)}">'
            f'<img src="/i/{rng.randrange(10**5)}.jpg" loading="lazy"><p>{_words(rng, 10)}</p>'
            f'</a><span class="price">¥{rng.randrange(10, 999)}.00</span></div>'
        )
        filler.append(card)
        size += len(card.encode())
    return page + "".join(filler) + tail


def measure(
    fn: Callable[[object], object], pages: list[object], seconds: float
) -> tuple[float, float]:
    """Pages per second of ``fn`` over ``pages``: (per wall-clock second, per CPU second of
    this process), medians of repeated rounds. On a shared machine the CPU-time figure is
    the per-core throughput; the wall-clock one includes time lost to other processes."""
    wall, cpu = [], []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or not wall:
        start, start_cpu = time.perf_counter(), time.process_time()
        for p in pages:
            fn(p)
        wall.append(len(pages) / (time.perf_counter() - start))
        cpu.append(len(pages) / max(1e-9, time.process_time() - start_cpu))
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    rng = random.Random(7)
    sizes = [100 + (400 * i) // max(1, args.pages - 1) for i in range(args.pages)]
    jsonld = [make_page(rng, s) for s in sizes]
    jsonld_bytes = [p.encode() for p in jsonld]
    micro = [make_page(rng, s, "microdata").encode() for s in sizes[:: max(1, args.pages // 10)]]
    og = [make_page(rng, s, "og").encode() for s in sizes[:: max(1, args.pages // 10)]]
    base = "https://shop.example/products/p1"

    check = extract_products(jsonld_bytes[0], base)
    assert check and check[0].price and len(check[0].reviews or []) == 20, check
    assert extract_products(micro[0], base)[0].price == 129.0
    assert extract_products(og[0], base)[0].price == 1299.0

    mb = statistics.mean(len(p) for p in jsonld_bytes) / 1e6
    rows = [
        (
            "JSON-LD, bytes in (as fetched)",
            measure(lambda p: extract_products(p, base), jsonld_bytes, args.seconds),
        ),  # type: ignore[arg-type]
        ("JSON-LD, str in", measure(lambda p: extract_products(p, base), jsonld, args.seconds)),  # type: ignore[arg-type]
        (
            "microdata only (lxml tree)",
            measure(lambda p: extract_products(p, base), micro, args.seconds),
        ),  # type: ignore[arg-type]
        (
            "OpenGraph only (byte scan)",
            measure(lambda p: extract_products(p, base), og, args.seconds),
        ),  # type: ignore[arg-type]
        (
            "for scale: BeautifulSoup(lxml) parse alone",
            measure(lambda p: BeautifulSoup(p, "lxml"), micro[:4], args.seconds),
        ),  # type: ignore[arg-type]
    ]
    kb = [len(p) // 1024 for p in jsonld_bytes]
    print(
        f"python {platform.python_version()}, {len(jsonld)} JSON-LD pages of "
        f"{min(kb)}–{max(kb)} KB (mean {mb * 1000:.0f} KB), 20 reviews each"
    )
    print("| path | pages/s per CPU-second | pages/s wall clock |")
    print("|---|---|---|")
    for name, (wall, cpu) in rows:
        print(f"| {name} | {cpu:,.0f} | {wall:,.0f} |")


if __name__ == "__main__":
    main()
