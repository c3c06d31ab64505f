"""Which currency and which decimal mark a page most likely uses, from its domain and language.

A price printed without a symbol ("469,-", "349,06", "24.99*") or with a symbol several
currencies share ("$", "kr") needs the page's context: the country-code top-level domain
(``amazon.co.uk`` is GBP, ``bestbuy.ca`` CAD) and then the ``<html lang>`` region or
language (``de-CH`` is CHF, ``tr`` TRY). Generic domains (``.com``, ``.net``...) say
nothing. A language names a currency only where one currency dominates it; English, Spanish,
Portuguese and Arabic do not.

The decimal mark of a language decides a lone separator before three digits
("1.299 €" in German is 1299; "$1,299" in English is 1299).
"""

from __future__ import annotations

from urllib.parse import urlsplit

EURO_TLDS = frozenset(
    [
        "at",
        "be",
        "cy",
        "de",
        "ee",
        "es",
        "eu",
        "fi",
        "fr",
        "gr",
        "hr",
        "ie",
        "it",
        "lt",
        "lu",
        "lv",
        "mt",
        "nl",
        "pt",
        "si",
        "sk",
    ]
)
# second-level labels that mean "commercial" under a ccTLD: ``amazon.com.tr``, ``x.co.uk``
_SECOND_LEVEL = frozenset({"com", "co", "net", "org", "ne", "or", "ac", "gob", "gov"})

TLD_CURRENCY: dict[str, str] = {
    "uk": "GBP",
    "gb": "GBP",
    "us": "USD",
    "ca": "CAD",
    "au": "AUD",
    "nz": "NZD",
    "ch": "CHF",
    "li": "CHF",
    "tr": "TRY",
    "cn": "CNY",
    "hk": "HKD",
    "tw": "TWD",
    "jp": "JPY",
    "kr": "KRW",
    "sg": "SGD",
    "my": "MYR",
    "th": "THB",
    "vn": "VND",
    "id": "IDR",
    "ph": "PHP",
    "in": "INR",
    "pl": "PLN",
    "cz": "CZK",
    "hu": "HUF",
    "ro": "RON",
    "bg": "BGN",
    "se": "SEK",
    "dk": "DKK",
    "no": "NOK",
    "ru": "RUB",
    "ua": "UAH",
    "br": "BRL",
    "mx": "MXN",
    "ar": "ARS",
    "cl": "CLP",
    "pe": "PEN",
    "uy": "UYU",
    "za": "ZAR",
    "il": "ILS",
    "ae": "AED",
    "sa": "SAR",
    "eg": "EGP",
    "ng": "NGN",
    "ke": "KES",
    "pk": "PKR",
    **dict.fromkeys(EURO_TLDS, "EUR"),
}

REGION_CURRENCY: dict[str, str] = {
    **{k.upper(): v for k, v in TLD_CURRENCY.items() if k not in ("uk", "eu")},
    "GB": "GBP",
    "CO": "COP",
    "IS": "ISK",
}

LANGUAGE_CURRENCY: dict[str, str] = {
    "de": "EUR",
    "fr": "EUR",
    "it": "EUR",
    "nl": "EUR",
    "fi": "EUR",
    "el": "EUR",
    "sk": "EUR",
    "sl": "EUR",
    "et": "EUR",
    "lv": "EUR",
    "lt": "EUR",
    "tr": "TRY",
    "zh": "CNY",
    "ja": "JPY",
    "ko": "KRW",
    "pl": "PLN",
    "cs": "CZK",
    "hu": "HUF",
    "ro": "RON",
    "sv": "SEK",
    "da": "DKK",
    "nb": "NOK",
    "no": "NOK",
    "ru": "RUB",
    "uk": "UAH",
    "he": "ILS",
    "th": "THB",
    "vi": "VND",
}

# Languages whose numbers use a decimal comma (and "." or a space to group thousands).
COMMA_LANGUAGES = frozenset(
    [
        "de",
        "fr",
        "es",
        "it",
        "nl",
        "pt",
        "tr",
        "pl",
        "cs",
        "sk",
        "sl",
        "hu",
        "ro",
        "bg",
        "ru",
        "uk",
        "sv",
        "da",
        "nb",
        "no",
        "fi",
        "el",
        "et",
        "lv",
        "lt",
        "hr",
        "sr",
        "id",
        "vi",
    ]
)
POINT_LANGUAGES = frozenset(["en", "zh", "ja", "ko", "th", "he", "ms", "hi"])


def host_of(url: str) -> str:
    """The lower-case host of ``url`` ('' when it has none)."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def tld(url: str) -> str:
    """The country-code label of ``url``'s host (``uk`` for ``www.amazon.co.uk``), or its
    generic TLD (``com``)."""
    return host_of(url).rsplit(".", 1)[-1]


def currency_for_host(url: str) -> str | None:
    """The currency a shop on this domain prices in, when its ccTLD says (else None)."""
    return TLD_CURRENCY.get(tld(url))


def currency_for_language(lang: str | None) -> str | None:
    """The currency implied by an ``<html lang>`` value: its region (``es-MX`` MXN), else
    a language with one dominant currency (``de`` EUR); else None."""
    if not lang:
        return None
    parts = lang.strip().replace("_", "-").split("-")
    if len(parts) > 1 and parts[1].upper() in REGION_CURRENCY:
        return REGION_CURRENCY[parts[1].upper()]
    return LANGUAGE_CURRENCY.get(parts[0].lower())


def decimal_mark(lang: str | None, url: str = "") -> str | None:
    """ "," or "." as the decimal mark of the page's language (region-less), else of its
    domain; None when neither says."""
    base = (lang or "").strip().replace("_", "-").split("-")[0].lower()
    if base in COMMA_LANGUAGES:
        return ","
    if base in POINT_LANGUAGES:
        return "."
    label = tld(url)
    if label in EURO_TLDS or label in ("tr", "pl", "cz", "br", "ar", "cl", "ru", "se", "dk"):
        return ","
    if label in ("uk", "us", "ca", "au", "nz", "cn", "jp", "hk", "tw", "sg", "in", "mx"):
        return "."
    return None


def page_currency(url: str, lang: str | None) -> str | None:
    """The currency a page most likely prices in without saying: the ccTLD first (a shop's
    domain is chosen for its market), then the language."""
    return currency_for_host(url) or currency_for_language(lang)
