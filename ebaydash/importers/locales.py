"""Locale data of eBay's sites, from Babel (the Unicode CLDR), instead of tables of our own.

- :func:`month_number`: month names and abbreviations in the languages of eBay's sites, as Seller
  Hub writes them (``Dez``, ``Mär``, ``déc.``, ``dic``, ``Sept``) — CLDR's format and stand-alone,
  abbreviated and wide forms, plus their first three letters where those name one month only.
- :func:`decimal_mark`: the decimal separator of a locale (``de`` → ``,``, ``en_US`` → ``.``),
  which settles amounts like ``1.234`` that are ambiguous on their own.
- :data:`CURRENCY_SYMBOLS`: the symbols sellers see on eBay's sites (``$``, ``£``, ``€``, ``A$``,
  ``CA$``, ``CHF`` …), each naming one currency; eBay's own spellings (``AU $``, ``C $``, ``US $``)
  are added, as CLDR does not have them.
- :data:`SITES`: eBay marketplace ids with their locale, home time zone and address; the currency
  is CLDR's for the locale's territory (:func:`site_currency`).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from babel import Locale
from babel.dates import get_month_names
from babel.numbers import get_currency_symbol, get_decimal_symbol, get_territory_currencies


@dataclass(frozen=True, slots=True)
class Site:
    """One eBay site: the locale its pages and reports are written in, its address, and the zone of
    the times it shows.

    ``zone`` is the site's home time, an IANA tz database name: the country's zone; for Australia
    and Canada, which span several, that of their largest city (Sydney, Toronto); for ebay.com,
    Pacific time, eBay's "official time", in which the US site shows and reports its times. A new
    account created from a site's files takes it (:mod:`ebaydash.services.imports`).
    """

    locale: str
    zone: str
    domain: str


# eBay marketplace id (Sell APIs' MarketplaceIdEnum) -> its site.
SITES: dict[str, Site] = {
    "EBAY_US": Site("en_US", "America/Los_Angeles", "ebay.com"),
    "EBAY_MOTORS_US": Site("en_US", "America/Los_Angeles", "ebay.com"),
    "EBAY_GB": Site("en_GB", "Europe/London", "ebay.co.uk"),
    "EBAY_AU": Site("en_AU", "Australia/Sydney", "ebay.com.au"),
    "EBAY_CA": Site("en_CA", "America/Toronto", "ebay.ca"),
    "EBAY_IE": Site("en_IE", "Europe/Dublin", "ebay.ie"),
    "EBAY_DE": Site("de_DE", "Europe/Berlin", "ebay.de"),
    "EBAY_AT": Site("de_AT", "Europe/Vienna", "ebay.at"),
    "EBAY_CH": Site("de_CH", "Europe/Zurich", "ebay.ch"),
    "EBAY_FR": Site("fr_FR", "Europe/Paris", "ebay.fr"),
    "EBAY_BE": Site("fr_BE", "Europe/Brussels", "ebay.be"),
    "EBAY_IT": Site("it_IT", "Europe/Rome", "ebay.it"),
    "EBAY_ES": Site("es_ES", "Europe/Madrid", "ebay.es"),
    "EBAY_NL": Site("nl_NL", "Europe/Amsterdam", "ebay.nl"),
    "EBAY_PL": Site("pl_PL", "Europe/Warsaw", "ebay.pl"),
}
# the languages of the report headers we recognise (see seller_hub.HEADERS)
LANGUAGES = ("en", "de", "fr", "it", "es")
_MONTH_LOCALES = (
    "en_US",
    "en_GB",
    "en_AU",
    "en_CA",
    "de_DE",
    "de_AT",
    "de_CH",
    "fr_FR",
    "fr_CA",
    "it_IT",
    "es_ES",
)


def fold(text: str) -> str:
    """Lower case without accents or dots: ``Mär`` → ``mar``, ``déc.`` → ``dec``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


@functools.cache
def _months() -> dict[str, int]:
    names: dict[str, set[int]] = {}
    for locale in _MONTH_LOCALES:
        for context in ("format", "stand-alone"):
            for width in ("abbreviated", "wide"):
                for number, name in get_month_names(width, context, locale).items():
                    key = fold(name)
                    names.setdefault(key, set()).add(number)
                    names.setdefault(key[:3], set()).add(number)
                    names.setdefault(key[:4], set()).add(number)
    # a spelling that names two months (French "jui": juin or juillet) names none
    return {key: numbers.pop() for key, numbers in names.items() if len(numbers) == 1 and len(key) >= 3}


def month_number(name: str) -> int | None:
    """1–12 for a month name or abbreviation in any of the sites' languages, else ``None``."""
    return _months().get(fold(name))


@functools.cache
def decimal_mark(locale: str) -> str:
    return get_decimal_symbol(locale)


@functools.cache
def site_currency(marketplace: str) -> str | None:
    """The currency of an eBay site, e.g. ``EBAY_AU`` → ``AUD``; ``None`` for an unknown site."""
    site = SITES.get(marketplace)
    if site is None:
        return None
    territory = Locale.parse(site.locale).territory
    found = get_territory_currencies(territory) if territory else []
    return found[0] if found else None


def site_for(currency: str | None, language: str | None) -> str | None:
    """The eBay site a report comes from, told by its money and its header language: ``EUR`` and
    German is ``EBAY_DE``, ``GBP`` is ``EBAY_GB``, ``USD`` is ``EBAY_US``. ``None`` when unsure."""
    if currency is None:
        return None
    candidates = [site for site in SITES if site != "EBAY_MOTORS_US" and site_currency(site) == currency]
    if language is not None:
        same_language = [s for s in candidates if SITES[s].locale.split("_")[0] == language]
        candidates = same_language or candidates
    return candidates[0] if candidates else None


def _symbols() -> dict[str, str]:
    currencies = ("USD", "GBP", "EUR", "AUD", "CAD", "CHF", "NZD", "PLN", "SEK", "DKK", "HKD", "SGD")
    locales = (
        "en_US",
        "en_GB",
        "en_AU",
        "en_CA",
        "de_DE",
        "de_CH",
        "fr_FR",
        "fr_CA",
        "it_IT",
        "es_ES",
        "pl_PL",
    )
    seen: dict[str, set[str]] = {}
    for currency in currencies:
        for locale in locales:
            symbol = get_currency_symbol(currency, locale)
            for spelling in {symbol, symbol.replace("\xa0", " "), symbol.replace("\xa0", "")}:
                seen.setdefault(spelling, set()).add(currency)
    table = {symbol: found.pop() for symbol, found in seen.items() if len(found) == 1}
    # "$" is the dollar of the US, Australia and Canada alike: on eBay it is the US dollar (the
    # Australian and Canadian sites write AU $ and C $)
    table["$"] = "USD"
    table.update({"US $": "USD", "AU $": "AUD", "C $": "CAD", "CA $": "CAD", "NZ $": "NZD"})
    return table


CURRENCY_SYMBOLS: dict[str, str] = _symbols()
