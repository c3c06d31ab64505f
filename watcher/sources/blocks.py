"""Is this page a bot challenge, a captcha or a login wall rather than the page asked for?

The rule: **a page that yields a product (or catalog items) is never a block page.** Real
product pages carry reCAPTCHA/hCaptcha/Turnstile widgets in their newsletter, review and
login forms, "Sign in" links (every Amazon page) and anti-bot scripts that run on every
page; none of that makes them a challenge. Only when a page yields nothing do we ask why:

* **challenge signatures** — markup only the challenge pages themselves carry: Cloudflare's
  interstitial (``<title>Just a moment...</title>``, ``window._cf_chl_opt``, the old
  ``cf-browser-verification`` / ``jschl-answer`` forms, "Attention Required! | Cloudflare"),
  Amazon's robot check (a form posting to ``/errors/validateCaptcha``, the
  ``captchacharacters`` field, "Type the characters you see in this image"), Taobao/Tmall's
  punish page (``/_____tmd_____/punish``, ``x5secdata``, the ``nc_1_wrapper`` slider,
  滑块验证), JD's risk page (``risk_handler``, 安全验证 with its slider), DataDome,
  PerimeterX, Imperva/Incapsula, Akamai's "Access Denied ... Reference #";
* **weak markers** — the words "captcha", 验证码, "robot check", "access denied" and a
  login form (a password field) — count only on a page that is a short interstitial or
  whose title or main heading says so;
* **an empty shell** — almost no visible text plus a script from a challenge or anti-bot
  vendor.
"""

from __future__ import annotations

import re

SCAN = 400_000
"""Only the first characters of a page are scanned (hostile input stays cheap)."""

CHALLENGE_SIGNATURES = (
    # Cloudflare
    "<title>just a moment...</title>",
    "<title>just a moment…</title>",
    "window._cf_chl_opt",
    "cf-browser-verification",
    "jschl-answer",
    "jschl_vc",
    "checking your browser before accessing",
    "attention required! | cloudflare",
    "cf-challenge-running",
    # Amazon robot check
    "/errors/validatecaptcha",
    'id="captchacharacters"',
    "type the characters you see in this image",
    "enter the characters you see below",
    "sorry, we just need to make sure you're not a robot",
    # Taobao / Tmall / Alibaba punish pages
    "/_____tmd_____/",
    "x5secdata",
    "nc_1_wrapper",
    "punish?x5",
    # JD risk page
    "risk_handler",
    "jdjrv-wrap",
    "验证一下，购物无忧",
    # DataDome, PerimeterX, Imperva, Akamai, others
    "captcha-delivery.com",
    "px-captcha",
    "_incapsula_resource",
    "incapsula incident id",
    "pardon our interruption",
    "you don't have permission to access",
    # the words challenge pages use
    "verify you are human",
    "verify you are a human",
    "are you a robot",
    "i'm not a robot",
    "unusual traffic from your computer",
    "请输入验证码",
    "人机验证",
    "滑动验证",
    "滑块验证",
    "拖动滑块",
    "请拖动下方滑块",
)
WEAK_MARKERS = (
    "captcha",
    "验证码",
    "安全验证",
    "访问验证",
    "access denied",
    "robot check",
    "bot detection",
    "security check",
)
LOGIN_WORDS = (
    "login",
    "log in",
    "sign in",
    "signin",
    "anmelden",
    "einloggen",
    "connexion",
    "se connecter",
    "iniciar sesión",
    "accedi",
    "inloggen",
    "giriş",
    "登录",
    "登陆",
)
SHELL_SCRIPTS = (
    "challenge",
    "captcha",
    "awsc.js",
    "punish",
    "/_sec/",
    "perimeterx",
    "datadome",
    "incapsula",
    "akamai",
)
SHORT_TEXT = 1500
"""A page with less visible text than this is an interstitial, not a shop page."""

_TAGS = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.S | re.I)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1", re.S | re.I)
_SCRIPT_SRC = re.compile(r"<script[^>]+src\s*=\s*[\"']?([^\"'\s>]+)", re.I)
_PASSWORD = re.compile(r"""type\s*=\s*["']?password""")


def visible_text(html: str) -> str:
    """The page's text without tags, scripts and styles, whitespace collapsed (rough)."""
    return " ".join(_TAGS.sub(" ", html[:SCAN]).split())


def _headline(html: str) -> str:
    parts = [m.group(1) for m in (_TITLE.search(html), _H1.search(html)) if m]
    return " ".join(visible_text(p) for p in parts).lower()


def challenge_reason(html: str) -> str | None:
    """The challenge signature the page carries, as a reason, or None."""
    low = html[:SCAN].lower()
    for marker in CHALLENGE_SIGNATURES:
        if marker in low:
            return f"the shop answered with a bot challenge/captcha ({marker!r})"
    return None


def blocked_reason(html: str, *, yielded_nothing: bool) -> str | None:
    """Why a page looks like a captcha, bot challenge or login wall, or None.

    Never a reason when the page yielded a product or items (``yielded_nothing`` False).
    """
    if not yielded_nothing:
        return None
    reason = challenge_reason(html)
    if reason:
        return reason
    low = html[:SCAN].lower()
    text = visible_text(low)
    short = len(text) < SHORT_TEXT
    headline = _headline(low)
    for marker in WEAK_MARKERS:
        if marker in low and (short or marker in headline):
            return f"the shop answered with a captcha or block page ({marker!r})"
    if _PASSWORD.search(low) and any(w in (headline if not short else low) for w in LOGIN_WORDS):
        return "the shop answered with a login wall"
    if len(text) < 200:
        for src in _SCRIPT_SRC.findall(low):
            if any(s in src for s in SHELL_SCRIPTS):
                return f"the shop answered with an empty page running a challenge script ({src[:80]!r})"
    return None
