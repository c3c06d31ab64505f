"""Stock wording as shops print it, in the languages of the shops watcher reads (zh, en, de,
fr, es, it, nl, tr): "库存紧张", "仅剩3件", "only 3 left" and "Nur noch 5 auf Lager" are in
stock; "售罄", "暂时缺货", "sold out", "currently unavailable", "zur Zeit nicht lieferbar"
and "Nachbestellt, Liefertermin unbekannt" are out.

Out-of-stock phrases are checked first: most of them contain an in-stock phrase ("not
available", "nicht lieferbar", "non disponibile", "stokta yok").
"""

from __future__ import annotations

import re

from watcher.sources.structured import availability

OUT_OF_STOCK = (
    # en
    "out of stock",
    "out-of-stock",
    "sold out",
    "soldout",
    "currently unavailable",
    "temporarily unavailable",
    "unavailable",
    "not available",
    "no longer available",
    "discontinued",
    "not in stock",
    "back-ordered",
    "backordered",
    "notify me when available",
    # zh
    "售罄",
    "已售罄",
    "已售完",
    "缺货",
    "无货",
    "暂时缺货",
    "暂无库存",
    "库存不足",
    "已下架",
    "已抢光",
    "补货中",
    "到货通知",
    # de
    "nicht lieferbar",
    "nicht verfügbar",
    "nicht auf lager",
    "nicht vorrätig",
    "ausverkauft",
    "vergriffen",
    "nachbestellt",
    "liefertermin unbekannt",
    "derzeit nicht",
    "zur zeit nicht",
    "momentan nicht",
    # fr
    "rupture de stock",
    "épuisé",
    "indisponible",
    "non disponible",
    "plus disponible",
    # es
    "agotado",
    "sin stock",
    "no disponible",
    "fuera de stock",
    "sin existencias",
    # it
    "esaurito",
    "non disponibile",
    "non più disponibile",
    # nl
    "uitverkocht",
    "niet op voorraad",
    "niet leverbaar",
    "niet beschikbaar",
    # tr
    "tükendi",
    "stokta yok",
    "stok yok",
    "temin edilemiyor",
)
IN_STOCK = (
    # en
    "in stock",
    "instock",
    "ready to ship",
    "ships same day",
    "ships today",
    "available",
    # zh
    "有货",
    "现货",
    "库存紧张",
    "库存充足",
    # de
    "auf lager",
    "lagernd",
    "sofort lieferbar",
    "lieferbar",
    "verfügbar",
    "versandbereit",
    "sofort versandfertig",
    # fr
    "en stock",
    "disponible",
    # es
    "en existencia",
    # it
    "disponibile",
    "disponibilità immediata",
    # nl
    "op voorraad",
    "leverbaar",
    "beschikbaar",
    # tr
    "stokta",
    "stokta var",
)
BUY_LABELS = (
    "add to cart",
    "add to bag",
    "add to basket",
    "buy now",
    "加入购物车",
    "立即购买",
    "in den warenkorb",
    "ajouter au panier",
    "añadir a la cesta",
    "añadir al carrito",
    "aggiungi al carrello",
    "in winkelwagen",
    "sepete ekle",
)
"""Labels of a buy button: a stock label that is only a button says "in stock"."""
_FEW_LEFT = re.compile(
    r"仅剩\s*\d+\s*件|只剩\s*\d+\s*件|剩余\s*\d+\s*件|库存\s*\d+\s*件|\bonly\s+\d+\s+left"
    r"|\bnur noch\s+\d+|\bplus que\s+\d+|\bsolo quedan?\s+\d+|\bultimi?\s+\d+|\bnog\s+\d+\s"
    r"|\bson\s+\d+\s+ürün|\d+\s+adet\s+ürün\s+stokta",
    re.I,
)
_OUT_RE = re.compile("|".join(re.escape(p) for p in sorted(OUT_OF_STOCK, key=len, reverse=True)))
_IN_RE = re.compile("|".join(re.escape(p) for p in sorted(IN_STOCK, key=len, reverse=True)))
_BUY_RE = re.compile("|".join(re.escape(p) for p in sorted(BUY_LABELS, key=len, reverse=True)))


def stock_from_text(text: str, *, buttons: bool = True) -> bool | None:
    """True (can be ordered), False (cannot) or None from a stock label or sentence.

    A schema.org availability (URL or name) is read first; then "only N left" forms, then
    out-of-stock phrases, then in-stock phrases, then (unless ``buttons`` is False) the
    labels of buy buttons.
    """
    if not text:
        return None
    s = text.strip()[:400]
    known = availability(s)
    if known is not None:
        return known
    low = s.lower()
    few = _FEW_LEFT.search(low)
    if few:
        return any(c in "123456789" for c in few.group(0))  # "库存0件" is none left
    if _OUT_RE.search(low):
        return False
    if _IN_RE.search(low) or (buttons and _BUY_RE.search(low)):
        return True
    return None
