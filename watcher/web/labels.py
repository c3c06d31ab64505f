"""The words for stored codes (finding kinds, severities, seasons, states) on the pages.
Marked with :func:`~watcher.i18n.N_` so they are extracted into the catalogs and
translated when shown."""

from __future__ import annotations

from watcher.i18n import N_

KINDS: dict[str, str] = {
    "copied_listing": N_("Copied listing"),
    "negative_review": N_("Negative review"),
    "seasonal_launch": N_("Seasonal launch"),
    "price_change": N_("Price change"),
    "stock_change": N_("Stock change"),
    "listing_changed": N_("Own listing changed"),
    "shop_unreachable": N_("Shop unreachable"),
    "price_position": N_("Price position"),
}
"""Finding kind -> its name on the pages (unknown kinds show their code)."""

SEVERITIES: dict[str, str] = {"high": N_("high"), "medium": N_("medium"), "low": N_("low")}

SEASONS: dict[str, str] = {
    "spring": N_("spring"),
    "summer": N_("summer"),
    "autumn": N_("autumn"),
    "winter": N_("winter"),
}
SEASON_ORDER = ("spring", "summer", "autumn", "winter")

DELIVERY: dict[str, str] = {"sent": N_("sent"), "pending": N_("pending"), "failed": N_("failed")}

SHOP_STATUS: dict[str, str] = {
    "ok": N_("ok"),
    "partial": N_("partial"),
    "failing": N_("failing"),
    "unchecked": N_("not checked yet"),
}

ROLES: dict[str, str] = {
    "own": N_("own shop"),
    "competitor": N_("competitor"),
    "marketplace": N_("marketplace"),
}
