"""The dashboard application: :func:`create_app` wires the config, the store, the
templates and the security layers around the routes of :mod:`watcher.web.routes`."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.templating import Jinja2Templates

from watcher.config import Config
from watcher.i18n import Language, language
from watcher.readable import clean, safe_url
from watcher.store import Store
from watcher.web.auth import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    AuthGate,
    LoginLimiter,
    LoopbackHostOnly,
    SecurityHeaders,
    host_of,
)
from watcher.web.fmt import Formatter
from watcher.web.state import WebState

__all__ = ["create_app", "templates_env"]


def _finalize(value: Any) -> Any:
    # Every fetched string printed into a page loses control characters and bidi
    # overrides (autoescape then makes it inert HTML); Markup is our own and kept.
    if isinstance(value, str) and not isinstance(value, Markup):
        return clean(value)
    return "" if value is None else value


def templates_env(lang: Language) -> jinja2.Environment:
    """The Jinja environment of one language: autoescape on, gettext installed."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("watcher.web", "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(lang.translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters["safe_url"] = safe_url
    return env


def create_app(config: Config, store: Store | None = None) -> Starlette:
    """The dashboard for ``config``; reads ``store`` (opened from the config if None)."""
    from watcher.web.routes import exception_handlers, routes

    store = store or Store(config.watcher.database)
    lang = language(config.watcher.language)
    fmt = Formatter(lang, ZoneInfo(config.watcher.timezone))
    env = templates_env(lang)
    env.globals["fmt"] = fmt  # also for the macros, which see no page context
    templates = Jinja2Templates(env=env)
    password = config.serve.password
    public = urlsplit(config.serve.public_url) if config.serve.public_url else None
    middleware = [Middleware(SecurityHeaders)]
    if not password:
        extra = frozenset({host_of(public.netloc)}) if public else frozenset()
        middleware.append(Middleware(LoopbackHostOnly, extra=extra))
    middleware += [
        Middleware(
            SessionMiddleware,
            # A new key per start: sessions end with the process, nothing secret on disk.
            secret_key=secrets.token_urlsafe(32),
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE,
            same_site="strict",
            https_only=bool(public and public.scheme == "https"),
        ),
        Middleware(AuthGate, enabled=bool(password)),
    ]
    app = Starlette(routes=routes(), middleware=middleware, exception_handlers=exception_handlers())
    app.state.web = WebState(config, store, lang, fmt, templates, LoginLimiter(), password)
    return app
