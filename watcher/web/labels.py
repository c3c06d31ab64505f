"""The words for stored codes (severities, seasons, delivery and shop states, roles) on
the pages. Marked with :func:`~watcher.i18n.N_` so they are extracted into the catalogs
and translated when shown. Finding kinds are named by their own modules
(:func:`watcher.models.kind_names`); the catalogs translate those names too."""

from __future__ import annotations

from watcher.i18n import N_

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
