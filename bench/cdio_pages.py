"""Product pages for the changedetection.io comparison, and the server that serves them.

``N`` product pages of about 100 KB each, like a mid-sized shop's: a head with ~30
``<meta>`` tags and inline CSS, a long navigation, the product block (title, visible price,
stock label, description, spec table, ~10 reviews in HTML), related-product cards, a big
inline state script, tracking JS, and one JSON-LD ``Product`` with ``offers`` (price,
priceCurrency, availability), ``aggregateRating`` and ~10 reviews.

Every page is a pure function of ``(index, version)``. Version 0 is the baseline; each
later version changes every product's price by 6–14 % (up or down) and flips the stock of
every 10th product, everywhere the page shows them (JSON-LD, visible price, state script).

Run as a server (stdlib, threads, HTTP/1.1 keep-alive, 127.0.0.1, random port)::

    python bench/cdio_pages.py --pages 500 --port-file /tmp/port.json

``GET /p/<i>`` is product ``i``; ``POST /_bench/version?v=N`` renders version ``N`` of
every page, then switches all of them at once, and answers when done; ``GET /_bench/stats``
gives the request count per version.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

WORDS = [
    "linen",
    "cotton",
    "dress",
    "summer",
    "floral",
    "vintage",
    "french",
    "wrap",
    "midi",
    "maxi",
    "sleeve",
    "waist",
    "belted",
    "pleated",
    "organic",
    "soft",
    "breathable",
    "relaxed",
    "tailored",
    "classic",
    "everyday",
    "travel",
    "weekend",
    "ribbed",
    "knit",
    "cardigan",
    "jacket",
    "trench",
    "wool",
    "blend",
    "cropped",
    "wide",
    "leg",
    "trouser",
    "denim",
]
NAMES = ("Kim", "Alex", "Mia", "Jon", "Li Wei", "Sara", "Tom", "Ana", "Noah", "Yuki")
PAGE_BYTES = 100 * 1024


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def base_price(index: int) -> float:
    """The version-0 price of product ``index``."""
    return round(19.0 + (index * 7919 % 18000) / 100, 2)


def price(index: int, version: int) -> float:
    """The price of product ``index`` at ``version``: each version moves it 6–14 %."""
    p = base_price(index)
    for v in range(1, version + 1):
        rng = random.Random(index * 1_000_003 + v)
        step = rng.uniform(0.06, 0.14)
        p = round(p * (1 + step if rng.random() < 0.5 else 1 - step), 2)
    return p


def in_stock(index: int, version: int) -> bool:
    """Every 10th product flips its stock on each version."""
    return index % 10 != 3 or version % 2 == 0


def _reviews(rng: random.Random, n: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for k in range(n):
        out.append(
            {
                "@type": "Review",
                "author": {"@type": "Person", "name": rng.choice(NAMES)},
                "datePublished": f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d}",
                "name": _words(rng, 4).capitalize(),
                "reviewBody": _words(rng, rng.randrange(25, 60)).capitalize() + ".",
                "reviewRating": {
                    "@type": "Rating",
                    "ratingValue": rng.choice((1, 2, 3, 4, 4, 5, 5, 5)),
                    "bestRating": 5,
                },
                "identifier": f"r{k}",
            }
        )
    return out


_PRICE, _AVAIL, _LABEL, _BUTTON, _STOCK = (
    "@@PRICE@@",
    "@@AVAIL@@",
    "@@LABEL@@",
    "@@BUTTON@@",
    "@@STOCK@@",
)


def render(index: int, version: int, base: str, size: int = PAGE_BYTES) -> bytes:
    """Product page ``index`` at ``version`` (UTF-8, about ``size`` bytes)."""
    page = template(index, base, size)
    return fill(page, index, version)


def fill(page: str, index: int, version: int) -> bytes:
    """A :func:`template` with the price and stock of ``version``."""
    amount = price(index, version)
    stock = in_stock(index, version)
    for marker, value in (
        (_PRICE, f"{amount:.2f}"),
        (_AVAIL, "https://schema.org/InStock" if stock else "https://schema.org/OutOfStock"),
        (_LABEL, "In stock" if stock else "Sold out"),
        (_BUTTON, "Add to cart" if stock else "Notify me"),
        (_STOCK, "true" if stock else "false"),
    ):
        page = page.replace(marker, value)
    return page.encode()


def template(index: int, base: str, size: int = PAGE_BYTES) -> str:
    """Page ``index`` with markers where the price and stock go (the rest never changes)."""
    rng = random.Random(index)
    url = f"{base}p/{index}"
    title = f"{_words(rng, 5).title()} #{index}"
    amount, avail = _PRICE, _AVAIL
    reviews = _reviews(rng, 10)
    images = [f"{base}img/{index}-{k}.jpg" for k in range(4)]
    ld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": title,
        "sku": f"SKU-{index:05d}",
        "url": url,
        "image": images,
        "description": _words(rng, 60).capitalize() + ".",
        "brand": {"@type": "Brand", "name": "Rival Apparel"},
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": amount,
            "priceCurrency": "USD",
            "availability": avail,
            "itemCondition": "https://schema.org/NewCondition",
        },
        "aggregateRating": {
            "@type": "AggregateRating",
            "ratingValue": round(3.5 + (index % 15) / 10, 1),
            "reviewCount": 10 + index % 90,
        },
        "review": reviews,
    }
    meta = "".join(f'<meta name="x-tag-{k}" content="{_words(rng, 6)}">\n' for k in range(18)) + (
        f'<meta property="og:type" content="product">\n'
        f'<meta property="og:title" content="{title}">\n'
        f'<meta property="og:url" content="{url}">\n'
        f'<meta property="og:image" content="{images[0]}">\n'
        f'<meta name="description" content="{_words(rng, 20)}">\n'
        f'<link rel="canonical" href="{url}">\n'
    )
    css = "".join(
        f".c{rng.randrange(10**6)}{{margin:{rng.randrange(40)}px;padding:0 "
        f"{rng.randrange(20)}px;color:#{rng.randrange(0xFFFFFF):06x}}}\n"
        for _ in range(220)
    )
    nav = "".join(
        f'<li class="nav-item"><a href="{base}c/{rng.randrange(400)}">{_words(rng, 2)}</a></li>'
        for _ in range(150)
    )
    review_html = "".join(
        f'<div class="review" id="rv-{index}-{k}"><span class="stars">'
        f"{'★' * int(r['reviewRating']['ratingValue'])}</span>"  # type: ignore[index]
        f"<b>{r['author']['name']}</b> <time>{r['datePublished']}</time>"  # type: ignore[index]
        f"<p>{r['reviewBody']}</p></div>\n"
        for k, r in enumerate(reviews)
    )
    spec = "".join(
        f"<tr><th>{_words(rng, 1)}</th><td>{_words(rng, 3)}</td></tr>" for _ in range(20)
    )
    product = (
        f'<main id="product"><nav class="crumbs"><a href="{base}">Home</a> / '
        f'<a href="{base}c/1">Dresses</a></nav>\n'
        f'<h1 class="product-title">{title}</h1>\n'
        f'<div class="price-box"><span class="price" data-price="{amount}">'
        f"${amount}</span></div>\n"
        f'<div class="stock">{_LABEL}</div>\n'
        f'<button class="add">{_BUTTON}</button>\n'
        f'<div class="description"><p>{_words(rng, 220)}</p></div>\n'
        f'<table class="spec">{spec}</table>\n'
        f'<section class="reviews">{review_html}</section></main>\n'
    )
    state = {
        "product": {"id": index, "price": _PRICE, "available": _STOCK, "variants": []},
        "recent": [
            {"id": rng.randrange(10**6), "title": _words(rng, 5), "score": rng.random()}
            for _ in range(60)
        ],
    }
    head = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">\n<title>{title}</title>\n'
        f"{meta}<style>{css}</style>\n"
        f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>\n'
        "</head><body>\n"
    )
    cards: list[str] = []
    tail = (
        "<script>window.__STATE__ = "
        + json.dumps(state).replace(f'"{_PRICE}"', _PRICE).replace(f'"{_STOCK}"', _STOCK)
        + ";</script>\n"
        "<footer><p>&copy; Rival Apparel</p></footer>\n"
    )
    body = f'<header><ul class="nav">{nav}</ul></header>\n{product}'
    used = len(head) + len(body) + len(tail) + 200
    while used < size:
        card = (
            f'<div class="card"><a href="{base}p/{rng.randrange(5000)}">'
            f'<img src="{base}img/t{rng.randrange(5000)}.jpg" alt="{_words(rng, 3)}">'
            f'<span>{_words(rng, 5)}</span></a><span class="p">'
            f"${rng.randrange(1000, 30000) / 100:.2f}</span></div>\n"
        )
        cards.append(card)
        used += len(card)
    related = f'<section class="related">{"".join(cards)}</section>\n'
    js = "<script>(function(){var q=[];window.track=function(e){q.push(e)};})();</script>"
    return head + body + related + tail + js + "</body></html>\n"


class Pages:
    """Every page of the current version, rendered once; switched atomically."""

    def __init__(self, count: int, base: str) -> None:
        self.count, self.base = count, base
        self.version = 0
        self.templates = [template(i, base) for i in range(count)]
        self.pages = self._render(0)
        self.hits: dict[int, int] = {}
        self.lock = threading.Lock()

    def _render(self, version: int) -> list[bytes]:
        return [fill(t, i, version) for i, t in enumerate(self.templates)]

    def switch(self, version: int) -> None:
        """Render ``version`` of every page, then serve it from now on."""
        pages = self._render(version)
        with self.lock:
            self.pages, self.version = pages, version

    def get(self, index: int) -> bytes | None:
        """The current body of page ``index`` (None when there is no such page)."""
        with self.lock:
            if not 0 <= index < self.count:
                return None
            self.hits[self.version] = self.hits.get(self.version, 0) + 1
            return self.pages[index]


class Handler(BaseHTTPRequestHandler):
    """Serves :class:`Pages` (set on the server as ``server.pages``)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """A product page, the stats, or 404."""
        pages: Pages = self.server.pages  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        if path.startswith("/p/") and path[3:].isdigit():
            body = pages.get(int(path[3:]))
            if body is not None:
                self._send(200, body)
                return
        if path == "/_bench/stats":
            with pages.lock:
                data = {"version": pages.version, "hits": pages.hits}
            self._send(200, json.dumps(data).encode(), "application/json")
            return
        self._send(404, b"<!doctype html><title>404</title>not found")

    def do_POST(self) -> None:
        """``/_bench/version?v=N`` switches every page to version N."""
        pages: Pages = self.server.pages  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if parts.path == "/_bench/version":
            pages.switch(int(parse_qs(parts.query).get("v", ["1"])[0]))
            self._send(200, json.dumps({"version": pages.version}).encode(), "application/json")
            return
        self._send(404, b"not found")


class Server(ThreadingHTTPServer):
    """Threaded, with a deep accept queue (changedetection.io and watcher connect at once)."""

    daemon_threads = True
    request_queue_size = 256


def main() -> None:
    """Serve the pages until killed; writes ``{"port": N}`` to ``--port-file`` when ready."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    server.pages = Pages(args.pages, f"http://127.0.0.1:{port}/")  # type: ignore[attr-defined]
    tmp = Path(args.port_file + ".tmp")
    tmp.write_text(json.dumps({"port": port}))
    tmp.replace(args.port_file)
    print(f"serving {args.pages} pages on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
