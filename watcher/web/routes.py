"""The dashboard's routes. Page handlers are plain functions: Starlette runs them in its
thread pool, so database reads never block the event loop a daemon shares with them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from loguru import logger
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from watcher.errors import StorageError
from watcher.web import queries
from watcher.web.auth import (
    FormError,
    check_csrf,
    csrf_token,
    password_matches,
    read_form,
    safe_next,
)
from watcher.web.chart import price_chart, timeline
from watcher.web.state import WebState

__all__ = ["exception_handlers", "routes"]

_KEY = re.compile(r"[0-9a-f]{40}")
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _web(request: Request) -> WebState:
    web: WebState = request.app.state.web
    return web


def _int(value: str | None, default: int, lo: int = 0, hi: int = 10**12) -> int:
    try:
        return max(lo, min(hi, int(value))) if value is not None else default
    except ValueError:
        return default


def _render(request: Request, name: str, context: Mapping[str, Any], status: int = 200) -> Response:
    web = _web(request)
    base = {
        "lang": web.lang.code,
        "tz": web.config.watcher.timezone,
        "csrf": csrf_token(request),
        "logged_in": bool(web.password and request.session.get("user")),
        "path": request.url.path,
        "now": datetime.now(UTC),
        "redact": web.config.secrets.redact,
    }
    return web.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _not_found(request: Request, what: str) -> Response:
    return _render(request, "error.html", {"status": 404, "message": what}, 404)


# --- pages ---------------------------------------------------------------------------------


def overview(request: Request) -> Response:
    """``/``: the shops, today's and this week's alerts, what needs a person."""
    web = _web(request)
    data = queries.overview(web.store, web.config, datetime.now(UTC))
    return _render(request, "overview.html", {"o": data})


def _filters(request: Request) -> queries.AlertFilters:
    q = request.query_params
    return queries.AlertFilters(
        kind=q.get("kind", ""),
        shop=q.get("shop", ""),
        severity=q.get("severity", ""),
        delivery=q.get("delivery", ""),
    )


def alerts(request: Request) -> Response:
    """``/alerts``: the timeline, filtered by ``kind``, ``shop``, ``severity``."""
    web = _web(request)
    filters = _filters(request)
    before = request.query_params.get("before")
    data = queries.alert_list(web.store, filters, _int(before, 0, 1) if before else None)
    retried = request.query_params.get("retried")
    return _render(
        request,
        "alerts.html",
        {
            "a": data,
            "filters": filters,
            "retried": _int(retried, -1) if retried is not None else None,
        },
    )


async def retry_alerts(request: Request) -> Response:
    """``POST /alerts/retry``: failed deliveries are due again now."""
    web = _web(request)
    try:
        form = await read_form(request)
    except FormError as e:
        return PlainTextResponse(str(e), 400)
    if not check_csrf(request, form):
        return _render(request, "error.html", {"status": 403, "message": "csrf"}, 403)
    n = await run_in_threadpool(web.store.requeue_failed)
    logger.info("dashboard: {} delivery(ies) queued again", n)
    return RedirectResponse(f"/alerts?retried={n}", 303)


def listings(request: Request) -> Response:
    """``/listings``: every stored listing, by shop and title."""
    web = _web(request)
    shop = request.query_params.get("shop", "")
    q = request.query_params.get("q", "")
    page = _int(request.query_params.get("page"), 1, 1, 10**6)
    data = queries.listing_list(web.store, web.config, shop, q, page)
    return _render(request, "listings.html", {"l": data, "shop": shop, "q": q})


def _days(request: Request) -> int:
    days = _int(request.query_params.get("days"), 365, 0, 36500)
    return days if days in queries.PERIODS else 365


def listing(request: Request) -> Response:
    """``/listings/<id>``: fields, the price and stock chart, figures, states, reviews."""
    web = _web(request)
    days = _days(request)
    page = _int(request.query_params.get("page"), 1, 1, 10**6)
    now = datetime.now(UTC)
    data = queries.listing_page(
        web.store, web.config, request.path_params["listing_id"], days=days, page=page, now=now
    )
    if data is None:
        return _not_found(request, "listing")
    fmt, _ = web.fmt, web.lang.gettext
    currency = data.stats.currency if data.stats else data.listing.currency
    chart = price_chart(
        data.states,
        data.start,
        data.end,
        money=lambda v: fmt.money(v, currency),
        when=lambda t: fmt.when(t),
        tick_label=fmt.tick,
        title=_("Price history of %(title)s") % {"title": data.listing.title},
        labels={"out_of_stock": _("Out of stock")},
    )
    return _render(
        request,
        "listing.html",
        {"d": data, "chart": chart, "days": days, "periods": queries.PERIODS},
    )


def listing_csv(request: Request) -> Response:
    """``/listings/<id>.csv``: every state of the listing."""
    web = _web(request)
    lid = request.path_params["listing_id"]
    data = queries.listing_history(web.store, lid, days=0, now=datetime.now(UTC))
    if data is None:
        return _not_found(request, "listing")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["at", "title", "price", "currency", "compare_at", "available", "image"])

    def cell(value: Any) -> Any:
        # a title starting with "=" must not become a spreadsheet formula
        if isinstance(value, str) and value.startswith(_CSV_FORMULA):
            return "'" + value
        return "" if value is None else value

    for s in data.states:
        w.writerow(
            [
                web.fmt.iso(s.at),
                *(cell(v) for v in (s.title, s.price, s.currency, s.compare_at)),
                "" if s.available is None else str(s.available).lower(),
                cell(s.image),
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="listing-{lid}.csv"'},
    )


def copies(request: Request) -> Response:
    """``/copies``: per own listing, its copies."""
    web = _web(request)
    return _render(
        request,
        "copies.html",
        {"groups": queries.copies(web.store), "shown": queries.COPIES_SHOWN},
    )


def evidence(request: Request) -> Response:
    """``/copies/<alert id>``: the printable evidence of one copy."""
    web = _web(request)
    data = queries.evidence(web.store, web.config, request.path_params["alert_id"])
    if data is None:
        return _not_found(request, "copy")
    return _render(request, "evidence.html", {"e": data})


def launches(request: Request) -> Response:
    """``/launches``: per season, which competitors started when, with what."""
    web = _web(request)
    fmt, _ = web.fmt, web.lang.gettext
    everything = request.query_params.get("all") == "1"
    seasons = queries.launches(web.store, web.config, everything=everything)
    older = 0 if everything else max(0, len(seasons) - queries.SEASONS_SHOWN)
    seasons = seasons if everything else seasons[: queries.SEASONS_SHOWN]
    charts = []
    for s in seasons:
        start, end = s.span
        label = _("%(season)s %(year)s") % {"season": fmt.season(s.season), "year": s.year}
        charts.append(
            timeline(
                [(c.shop, c.started, [i.at for i in c.items if i.at]) for c in s.competitors],
                start,
                end,
                tick_label=fmt.tick,
                when=fmt.date,
                title=label,
                not_started=_("not started"),
            )
        )
    return _render(
        request,
        "launches.html",
        {
            "seasons": list(zip(seasons, charts, strict=True)),
            "older": older,
            "items_shown": queries.ITEMS_SHOWN,
        },
    )


def thumbnail(request: Request) -> Response:
    """``/thumbs/<key>``: a stored thumbnail (competitors' photos are never hotlinked)."""
    key = request.path_params["key"]
    if not _KEY.fullmatch(key):
        return PlainTextResponse("not found", 404)
    t = _web(request).store.thumbnails.get(key)
    if t is None:
        return PlainTextResponse("not found", 404)
    return Response(
        t.data, media_type=t.content_type, headers={"Cache-Control": "private, max-age=604800"}
    )


def healthz(request: Request) -> Response:
    """``/healthz``: 200 when the database answers and checks are recent, else 503."""
    web = _web(request)
    h = queries.health(web.store.history, web.config, datetime.now(UTC))
    return JSONResponse(h.to_json(), 200 if h.status == "ok" else 503)


# --- JSON API --------------------------------------------------------------------------------


def _delivery_json(d: Any, redact: Callable[[str], str]) -> dict[str, Any]:
    return {
        "channel": d.channel,
        "state": d.state,
        "attempts": d.attempts,
        "last_error": redact(d.last_error) if d.last_error else None,
        "sent_at": d.sent_at.isoformat() if d.sent_at else None,
        "next_attempt_at": d.next_attempt_at.isoformat()
        if d.next_attempt_at and d.state == "pending"
        else None,
    }


def api_alerts(request: Request) -> Response:
    """``/api/alerts``: alerts newest first (same filters as ``/alerts``, plus ``before``
    and ``limit``)."""
    web = _web(request)
    before = request.query_params.get("before")
    limit = _int(request.query_params.get("limit"), 50, 1, 500)
    data = queries.alert_list(
        web.store, _filters(request), _int(before, 0, 1) if before else None, limit
    )
    return JSONResponse(
        {
            "alerts": [
                {
                    "id": a.id,
                    "created_at": a.created_at.isoformat(),
                    **a.payload,
                    "deliveries": [
                        _delivery_json(d, web.config.secrets.redact) for d in a.deliveries
                    ],
                }
                for a in data.alerts
            ],
            "next_before": data.next_before,
        }
    )


def api_history(request: Request) -> Response:
    """``/api/listings/<id>/history``: the listing and its states over ``days``."""
    web = _web(request)
    data = queries.listing_history(
        web.store, request.path_params["listing_id"], days=_days(request), now=datetime.now(UTC)
    )
    if data is None:
        return JSONResponse({"error": "no such listing"}, 404)
    item, stats = data.listing, data.stats
    return JSONResponse(
        {
            "listing": {
                "id": item.id,
                "shop": item.shop,
                "role": item.role,
                "url": item.url,
                "title": item.title,
                "price": item.price,
                "currency": item.currency,
                "compare_at": item.compare_at,
                "available": item.available,
                "first_seen": item.first_seen.isoformat(),
                "last_seen": item.last_seen.isoformat(),
                "removed_at": item.removed_at.isoformat() if item.removed_at else None,
            },
            "from": data.start.isoformat(),
            "to": data.end.isoformat(),
            "states": [
                {
                    "at": s.at.isoformat(),
                    "title": s.title,
                    "price": s.price,
                    "currency": s.currency,
                    "compare_at": s.compare_at,
                    "available": s.available,
                }
                for s in data.states
            ],
            "stats": None
            if stats is None
            else {
                "min": stats.low,
                "max": stats.high,
                "median": stats.median,
                "current": stats.current,
                "lowest_in_days": stats.lowest_days,
            },
        }
    )


# --- login -------------------------------------------------------------------------------------


def login_page(request: Request) -> Response:
    """``GET /login``."""
    if not _web(request).password:
        return RedirectResponse("/", 303)
    return _render(
        request, "login.html", {"next": safe_next(request.query_params.get("next")), "error": None}
    )


async def login(request: Request) -> Response:
    """``POST /login``: rate-limited, constant-time password check, fresh session."""
    web = _web(request)
    if not web.password:
        return RedirectResponse("/", 303)
    try:
        form = await read_form(request)
    except FormError as e:
        return PlainTextResponse(str(e), 400)
    target = safe_next(form.get("next"))
    client = request.client.host if request.client else "?"

    def again(error: str, status: int, headers: dict[str, str] | None = None) -> Response:
        response = _render(request, "login.html", {"next": target, "error": error}, status)
        response.headers.update(headers or {})
        return response

    if not check_csrf(request, form):
        return again("expired", 403)
    wait = web.limiter.retry_after(client)
    if wait > 0:
        return again("limited", 429, {"Retry-After": str(int(wait) + 1)})
    if not password_matches(form.get("password", ""), web.password):
        web.limiter.failed(client)
        logger.warning("dashboard: failed login from {}", client)
        return again("wrong", 401)
    web.limiter.succeeded(client)
    request.session.clear()
    request.session["user"] = 1
    csrf_token(request)
    return RedirectResponse(target, 303)


async def logout(request: Request) -> Response:
    """``POST /logout``."""
    try:
        form = await read_form(request)
    except FormError as e:
        return PlainTextResponse(str(e), 400)
    if check_csrf(request, form):
        request.session.clear()
    return RedirectResponse("/login" if _web(request).password else "/", 303)


def favicon(request: Request) -> Response:
    """``/favicon.ico``, for browsers that ask before reading the page's icon link."""
    return RedirectResponse("/static/favicon.svg", 301)


def routes() -> list[BaseRoute]:
    """Every route of the dashboard."""
    page: Callable[..., Route] = Route
    return [
        page("/", overview),
        page("/alerts", alerts),
        page("/alerts/retry", retry_alerts, methods=["POST"]),
        page("/listings", listings),
        page("/listings/{listing_id:int}.csv", listing_csv),
        page("/listings/{listing_id:int}", listing),
        page("/copies", copies),
        page("/copies/{alert_id:int}", evidence),
        page("/launches", launches),
        page("/healthz", healthz),
        page("/api/alerts", api_alerts),
        page("/api/listings/{listing_id:int}/history", api_history),
        page("/thumbs/{key}", thumbnail),
        page("/login", login_page),
        page("/login", login, methods=["POST"]),
        page("/logout", logout, methods=["POST"]),
        page("/favicon.ico", favicon),
        Mount("/static", StaticFiles(packages=[("watcher.web", "static")]), name="static"),
    ]


def exception_handlers() -> dict[Any, Callable[..., Any]]:
    """Error pages: 404 and friends as pages, a database failure as 503."""

    def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, exc.status_code)
        return _render(
            request, "error.html", {"status": exc.status_code, "message": "http"}, exc.status_code
        )

    def storage_error(request: Request, exc: Exception) -> Response:
        logger.error("dashboard: {}", exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "database unavailable"}, 503)
        return PlainTextResponse("database unavailable", 503)

    return {HTTPException: http_error, StorageError: storage_error}
