"""How Transaction reports are written on each eBay site: column names, type words, numbers, dates.

The seller picks the report's columns, and each site words and formats them its own way. This
module turns that back into canonical fields and exact values; amounts and dates end in the
shared parsers of :mod:`ebaydash.importers.values`, so every money value passes the same checks
(two places, a bounded size, a known currency) as an order's.

Wordings, by how sure we are of them:

- English (US/CA "Shipping and handling", UK/AU "Postage and packaging"): from eBay's report and
  public parsers of it.
- German: the columns public German parsers read ("Datum der Transaktionserstellung", "Typ",
  "Bestellnummer", "Betrag abzügl. Kosten", "Transaktionsbetrag (inkl. Kosten)", "Auszahlung Nr.",
  "Fixer/Variabler Anteil der Verkaufsprovision", "Bestandseinheit" …); the others are our
  translation.
- French, Italian and Spanish: our translation of the English headers; no public export was at
  hand to check them (an unmatched wording only means a column is not recognised, and a missing
  required column is reported by name).

Numbers: the decimal mark is the one the file's amounts use (``12,34`` or ``12.34``), else its
language's; the other mark is accepted only as a thousands separator in groups of three, and
spaces (also non-breaking ones) between digits are thousands separators. Anything else that is
ambiguous is refused rather than guessed. ``--`` (and ``—``, ``–``, ``n/a``) means empty.

Dates: ``Sep 30, 2026`` (US), ``30 Sep 2026`` (UK/AU), ``30.09.2026`` and ``30. Sep. 2026``
(DE), ``30 sept. 2026`` (FR), ``30 set 2026`` (IT), ``30 de septiembre de 2026`` (ES), ISO
``2026-09-30``, numeric ``30/09/2026`` or ``09/30/2026`` (the order is settled by the file's
unambiguous dates, else month first in English files and day first in others), each optionally
with a time ``23:45[:00]`` and a zone abbreviation; Seller Hub's ``Sep-30-26 23:45:00`` too.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from ebaydash.importers import values
from ebaydash.importers.values import ValueProblem

# -- column names -------------------------------------------------------------------------------

# canonical field -> (language, wording); compared after normalise()
ALIASES: dict[str, tuple[tuple[str, str], ...]] = {
    "date": (
        ("en", "Transaction creation date"),
        ("en", "Transaction date"),
        ("de", "Datum der Transaktionserstellung"),
        ("fr", "Date de création de la transaction"),
        ("it", "Data di creazione della transazione"),
        ("es", "Fecha de creación de la transacción"),
    ),
    "type": (("en", "Type"), ("en", "Transaction type"), ("de", "Typ"), ("it", "Tipo"), ("es", "Tipo")),
    "order_id": (
        ("en", "Order number"),
        ("en", "Order ID"),
        ("de", "Bestellnummer"),
        ("fr", "Numéro de commande"),
        ("it", "Numero dell'ordine"),
        ("it", "Numero ordine"),
        ("es", "Número de pedido"),
    ),
    "legacy_order_id": (
        ("en", "Legacy order ID"),
        ("de", "Alte Bestellnummer"),
        ("fr", "Ancien numéro de commande"),
        ("it", "Numero ordine precedente"),
        ("es", "Número de pedido anterior"),
    ),
    "buyer": (
        ("en", "Buyer username"),
        ("de", "Nutzername des Käufers"),
        ("fr", "Pseudo de l'acheteur"),
        ("it", "Nome utente dell'acquirente"),
        ("es", "Nombre de usuario del comprador"),
    ),
    "buyer_name": (
        ("en", "Buyer name"),
        ("de", "Name des Käufers"),
        ("fr", "Nom de l'acheteur"),
        ("it", "Nome dell'acquirente"),
        ("es", "Nombre del comprador"),
    ),
    "net": (
        ("en", "Net amount"),
        ("de", "Betrag abzügl. Kosten"),
        ("de", "Nettobetrag"),
        ("fr", "Montant net"),
        ("it", "Importo netto"),
        ("es", "Importe neto"),
    ),
    "payout_currency": (
        ("en", "Payout currency"),
        ("de", "Auszahlungswährung"),
        ("fr", "Devise du versement"),
        ("it", "Valuta del pagamento"),
        ("es", "Divisa del pago"),
    ),
    "payout_date": (
        ("en", "Payout date"),
        ("de", "Auszahlungsdatum"),
        ("fr", "Date du versement"),
        ("it", "Data del pagamento"),
        ("es", "Fecha del pago"),
    ),
    "payout_id": (
        ("en", "Payout ID"),
        ("de", "Auszahlung Nr."),
        ("de", "Auszahlungs-ID"),
        ("fr", "Numéro du versement"),
        ("it", "ID pagamento"),
        ("es", "ID del pago"),
    ),
    "payout_method": (
        ("en", "Payout method"),
        ("de", "Auszahlungsmethode"),
        ("fr", "Mode de versement"),
        ("it", "Metodo di pagamento"),
        ("es", "Método de pago"),
    ),
    "payout_status": (
        ("en", "Payout status"),
        ("de", "Auszahlungsstatus"),
        ("fr", "Statut du versement"),
        ("it", "Stato del pagamento"),
        ("es", "Estado del pago"),
    ),
    "hold_reason": (
        ("en", "Reason for hold"),
        ("de", "Grund für die Zurückbehaltung"),
        ("fr", "Motif du blocage"),
        ("it", "Motivo della sospensione"),
        ("es", "Motivo de la retención"),
    ),
    "item_id": (
        ("en", "Item ID"),
        ("en", "Item number"),
        ("de", "Artikelnummer"),
        ("fr", "Numéro de l'objet"),
        ("it", "Numero oggetto"),
        ("es", "Número de artículo"),
    ),
    "line_item_id": (
        ("en", "Transaction ID"),
        ("de", "Transaktionsnummer"),
        ("fr", "Numéro de transaction"),
        ("it", "ID transazione"),
        ("es", "ID de transacción"),
    ),
    "title": (
        ("en", "Item title"),
        ("de", "Artikelbezeichnung"),
        ("fr", "Titre de l'objet"),
        ("it", "Titolo dell'oggetto"),
        ("es", "Título del artículo"),
    ),
    "sku": (
        ("en", "Custom label"),
        ("de", "Bestandseinheit"),
        ("de", "Bestandseinheit (SKU)"),
        ("fr", "Étiquette personnalisée"),
        ("it", "Etichetta personalizzata"),
        ("es", "Etiqueta personalizada"),
    ),
    "quantity": (
        ("en", "Quantity"),
        ("de", "Anzahl"),
        ("de", "Menge"),
        ("fr", "Quantité"),
        ("it", "Quantità"),
        ("es", "Cantidad"),
    ),
    "item_subtotal": (
        ("en", "Item subtotal"),
        ("de", "Zwischensumme Artikel"),
        ("fr", "Sous-total de l'objet"),
        ("it", "Subtotale oggetto"),
        ("es", "Subtotal del artículo"),
    ),
    "shipping": (
        ("en", "Shipping and handling"),
        ("en", "Postage and packaging"),
        ("de", "Verpackung und Versand"),
        ("fr", "Livraison et emballage"),
        ("it", "Spedizione e imballaggio"),
        ("es", "Envío y manipulación"),
    ),
    "seller_tax": (
        ("en", "Seller collected tax"),
        ("de", "Vom Verkäufer erhobene Steuer"),
        ("fr", "Taxe perçue par le vendeur"),
        ("it", "Imposta riscossa dal venditore"),
        ("es", "Impuesto recaudado por el vendedor"),
    ),
    "ebay_tax": (
        ("en", "eBay collected tax"),
        ("de", "Von eBay erhobene Steuer"),
        ("fr", "Taxe perçue par eBay"),
        ("it", "Imposta riscossa da eBay"),
        ("es", "Impuesto recaudado por eBay"),
    ),
    "fvf_fixed": (
        ("en", "Final Value Fee - fixed"),
        ("de", "Fixer Anteil der Verkaufsprovision"),
        ("fr", "Frais sur la valeur finale - fixes"),
        ("it", "Commissione sul valore finale - fissa"),
        ("es", "Comisión por valor final - fija"),
    ),
    "fvf_variable": (
        ("en", "Final Value Fee - variable"),
        ("de", "Variabler Anteil der Verkaufsprovision"),
        ("fr", "Frais sur la valeur finale - variables"),
        ("it", "Commissione sul valore finale - variabile"),
        ("es", "Comisión por valor final - variable"),
    ),
    "regulatory_fee": (
        ("en", "Regulatory operating fee"),
        ("de", "Gebühr für regulatorische Betriebskosten"),
        ("fr", "Frais de fonctionnement réglementaires"),
        ("it", "Commissione per costi operativi normativi"),
        ("es", "Tarifa operativa reglamentaria"),
    ),
    "inad_fee": (
        ("en", 'Very high "item not as described" fee'),
        ("de", "Gebühr für sehr hohe Quote an „nicht wie beschriebenen Artikeln“"),
        ("de", "Gebühr für sehr hohe Quote"),
        ("fr", "Frais pour taux très élevé d'objets non conformes à la description"),
        ("it", "Commissione per tasso molto elevato di oggetti non conformi alla descrizione"),
        ("es", "Tarifa por tasa muy alta de artículos no conformes con la descripción"),
    ),
    "below_standard_fee": (
        ("en", "Below standard performance fee"),
        ("de", "Gebühr für unterdurchschnittlichen Servicestatus"),
        ("fr", "Frais pour niveau de service inférieur aux normes"),
        ("it", "Commissione per livello di prestazioni inferiore agli standard"),
        ("es", "Tarifa por rendimiento inferior al estándar"),
    ),
    "international_fee": (
        ("en", "International fee"),
        ("de", "Internationale Gebühr"),
        ("fr", "Frais internationaux"),
        ("it", "Commissione internazionale"),
        ("es", "Tarifa internacional"),
    ),
    "charity_donation": (
        ("en", "Charity donation"),
        ("de", "Spende für gemeinnützige Organisation"),
        ("fr", "Don à une association"),
        ("it", "Donazione in beneficenza"),
        ("es", "Donación benéfica"),
    ),
    "deposit_fee": (
        ("en", "Deposit processing fee"),
        ("de", "Bearbeitungsgebühr für Anzahlung"),
        ("fr", "Frais de traitement de l'acompte"),
        ("it", "Commissione di elaborazione del deposito"),
        ("es", "Tarifa de procesamiento del depósito"),
    ),
    "gross": (
        ("en", "Gross transaction amount"),
        ("de", "Transaktionsbetrag (inkl. Kosten)"),
        ("fr", "Montant brut de la transaction"),
        ("it", "Importo lordo della transazione"),
        ("es", "Importe bruto de la transacción"),
    ),
    "currency": (
        ("en", "Transaction currency"),
        ("de", "Transaktionswährung"),
        ("fr", "Devise de la transaction"),
        ("it", "Valuta della transazione"),
        ("es", "Divisa de la transacción"),
    ),
    "exchange_rate": (
        ("en", "Exchange rate"),
        ("de", "Wechselkurs"),
        ("fr", "Taux de change"),
        ("it", "Tasso di cambio"),
        ("es", "Tipo de cambio"),
    ),
    "reference_id": (
        ("en", "Reference ID"),
        ("de", "Referenznummer"),
        ("fr", "Numéro de référence"),
        ("it", "ID riferimento"),
        ("es", "ID de referencia"),
    ),
    "description": (
        ("en", "Description"),
        ("de", "Beschreibung"),
        ("fr", "Description"),
        ("it", "Descrizione"),
        ("es", "Descripción"),
    ),
}

REQUIRED: dict[str, str] = {
    "date": "when the transaction was created",
    "type": "the transaction type (Order, Refund, Other fee …)",
    "order_id": "the order number",
    "net": "the net amount",
    "gross": "the gross transaction amount",
}
SHOWN = {key: wordings[0][1] for key, wordings in ALIASES.items()}
"""The English wording of each canonical field, used in problems."""

_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−"), "-")
_QUOTES = dict.fromkeys(map(ord, "\"'„“”‚‘’«»"), None)


def fold(text: str) -> str:
    """Lower case without accents, one kind of dash, no quotes; for comparing words."""
    text = unicodedata.normalize("NFKD", text.replace("\ufeff", "").casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.translate(_DASHES).translate(_QUOTES)


def normalise(header: str) -> str:
    """A header cell as compared with :data:`ALIASES`: folded, punctuation as spaces."""
    return " ".join(re.sub(r"[.:#_()]", " ", fold(header)).replace(" - ", " ").split())


LOOKUP: dict[str, tuple[str, str]] = {
    normalise(wording): (key, language) for key, wordings in ALIASES.items() for language, wording in wordings
}
"""Normalised wording → (canonical field, language)."""

# -- transaction types --------------------------------------------------------------------------

TYPE_WORDS: dict[str, str] = {
    word: kind
    for kind, words in {
        "sale": (
            "order",
            "sale",
            "bestellung",
            "verkauf",
            "commande",
            "vente",
            "ordine",
            "vendita",
            "pedido",
        ),
        "refund": ("refund", "ruckerstattung", "erstattung", "remboursement", "rimborso", "reembolso"),
        "credit": ("credit", "gutschrift", "accredito", "credito"),
        "dispute": (
            "dispute",
            "payment dispute",
            "zahlungskonflikt",
            "zahlungsstreit",
            "litige",
            "litige de paiement",
            "contestazione",
            "contestazione di pagamento",
            "disputa",
            "disputa de pago",
        ),
        "claim": ("claim", "fall", "reklamation", "reclamation", "reclamo", "reclamacion"),
        "non_sale_charge": (
            "other fee",
            "other fees",
            "andere gebuhr",
            "sonstige gebuhr",
            "autres frais",
            "altra tariffa",
            "altre commissioni",
            "otra tarifa",
            "otras tarifas",
        ),
        "shipping_label": (
            "shipping label",
            "postage label",
            "versandetikett",
            "etiquette d expedition",
            "etiquette d'expedition",
            "etichetta di spedizione",
            "etiqueta de envio",
        ),
        "transfer": ("transfer", "ubertragung", "uberweisung", "transfert", "trasferimento", "transferencia"),
        "balance_transfer": ("balance transfer",),
        "adjustment": ("adjustment", "anpassung", "ajustement", "rettifica", "ajuste"),
        "withdrawal": ("withdrawal", "abhebung", "retrait", "prelievo", "retirada"),
        "loan_repayment": (
            "loan repayment",
            "kreditruckzahlung",
            "remboursement de pret",
            "rimborso prestito",
        ),
        "purchase": ("purchase", "kauf", "achat", "acquisto", "compra"),
        "hold": ("hold", "zuruckbehaltung", "einbehaltung", "blocage", "trattenuta", "retencion"),
        "charge": ("charge", "belastung", "addebito", "cargo"),
        "payout": ("payout", "auszahlung", "versement", "pagamento al venditore", "pago al vendedor"),
    }.items()
    for word in words
}
"""A report's "Type" (folded) → our type; ``payout`` rows become :class:`Payout` records."""


@functools.lru_cache(maxsize=1024)  # a report repeats a handful of type words
def type_of(word: str) -> str | None:
    return TYPE_WORDS.get(" ".join(fold(word).split()))


# -- payout states ------------------------------------------------------------------------------

# The report words a payout's state as the API's payoutStatusDescription does; eBay's reference
# lists them: INITIATED "Preparing to send", SUCCEEDED "Funds sent", REVERSED "Money rejected by
# seller's bank", RETRYABLE_FAILED "Waiting to retry", TERMINAL_FAILED "Payout failed".
PAYOUT_STATES: tuple[str, ...] = ("INITIATED", "SUCCEEDED", "REVERSED", "RETRYABLE_FAILED", "TERMINAL_FAILED")
PAYOUT_STATUS_WORDS: dict[str, str] = {
    "preparing to send": "INITIATED",
    "initiated": "INITIATED",
    "funds sent": "SUCCEEDED",
    "sent": "SUCCEEDED",
    "succeeded": "SUCCEEDED",
    "paid": "SUCCEEDED",
    "gesendet": "SUCCEEDED",
    "ausgezahlt": "SUCCEEDED",
    "money rejected by seller's bank": "REVERSED",
    "reversed": "REVERSED",
    "waiting to retry": "RETRYABLE_FAILED",
    "payout failed": "TERMINAL_FAILED",
    "failed": "TERMINAL_FAILED",
}


def payout_status_of(word: str) -> str | None:
    folded = " ".join(fold(word).split())
    if word.strip().upper() in PAYOUT_STATES:
        return word.strip().upper()
    return PAYOUT_STATUS_WORDS.get(folded.replace("'", "")) or PAYOUT_STATUS_WORDS.get(folded)


# -- numbers ------------------------------------------------------------------------------------

EMPTY = frozenset({"", "--", "-", "—", "–", "n/a", "na", "k. a.", "k.a."})
_SPACES_IN_NUMBER = re.compile(r"(?<=\d)[\s\u00a0\u202f'’](?=\d)")
_GROUPED = {
    ".": re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?"),  # 1,234.56 or 1234.56
    ",": re.compile(r"\d{1,3}(\.\d{3})+(,\d+)?|\d+(,\d+)?"),  # 1.234,56 or 1234,56
}
_DIGITS = re.compile(r"\d[\d.,]*")
DECIMAL_COMMA_LANGUAGES = frozenset({"de", "fr", "it", "es"})


def is_empty(text: str) -> bool:
    return text.strip().casefold() in EMPTY


def decimal_mark_of(samples: list[str], language: str) -> str:
    """``.`` or ``,``: the mark the file's amounts end their cents with (``12.34`` or ``12,34``),
    else the language's when no amount settles it or the amounts disagree."""
    seen = {mark for sample in samples if (mark := _cents_mark(sample)) is not None}
    if len(seen) == 1:
        return seen.pop()
    return "," if language in DECIMAL_COMMA_LANGUAGES else "."


def _cents_mark(sample: str) -> str | None:
    match = _DIGITS.search(_SPACES_IN_NUMBER.sub("", sample))
    if match is None:
        return None
    number = match.group().rstrip(".,")
    last = max(number.rfind("."), number.rfind(","))
    if last < 0 or len(number) - last - 1 not in (1, 2):
        return None  # no separator, or three digits after it: could be a thousands separator
    return number[last]


def amount(text: str, decimal_mark: str) -> tuple[Decimal, str | None]:
    """An amount as the report writes it (``-1.234,56``, ``£12.34``, ``(5.00)``, ``1 234,56 €``).

    Returns the exact amount and the currency a symbol names (``None`` without one). Raises
    :class:`ValueProblem` for anything that is not an amount in this file's number format.
    """
    raw = _SPACES_IN_NUMBER.sub("", text.strip().replace("\u2212", "-"))
    match = _DIGITS.search(raw)
    if match is None:
        raise ValueProblem(f"{_short(text)} is not an amount")
    number = match.group()
    if not _GROUPED[decimal_mark].fullmatch(number):
        example = "1,234.56" if decimal_mark == "." else "1.234,56"
        raise ValueProblem(f"{_short(text)} is not an amount in this report's number format (e.g. {example})")
    thousands = "," if decimal_mark == "." else "."
    plain = number.replace(thousands, "").replace(decimal_mark, ".")
    # values.money_text reads the sign, brackets, symbol and cents of the now unambiguous text
    return values.money_text(raw[: match.start()] + plain + raw[match.end() :])


def rate(text: str, decimal_mark: str) -> Decimal:
    """An exchange rate: a positive number with up to 12 decimal places.

    Rates carry no thousands separators, so a lone ``.`` or ``,`` is the decimal mark, whatever
    the file's; only one followed by exactly three digits in the file's *other* mark (``1.000`` in
    a decimal-comma file) is ambiguous and refused.
    """
    raw = _SPACES_IN_NUMBER.sub("", text.strip())
    marks = [c for c in raw if c in ".,"]
    if len(marks) > 1 and len(set(marks)) == 2:
        mark = marks[-1]
        raw = raw.replace("," if mark == "." else ".", "")
    elif len(marks) == 1:
        mark = marks[0]
        if mark != decimal_mark and re.fullmatch(r"\d{1,3}[.,]\d{3}", raw):
            raise ValueProblem(
                f"{_short(text)} is ambiguous: is it a rate of {raw[: raw.index(mark)]}.{raw[-3:]} "
                f"or of {raw.replace(mark, '')}?"
            )
    else:
        mark = decimal_mark
    raw = raw.replace(mark, ".") if mark == "," else raw
    if not re.fullmatch(r"\d{1,9}(\.\d{1,12})?", raw):
        raise ValueProblem(f"{_short(text)} is not an exchange rate (expected e.g. 1.2345)")
    value = Decimal(raw)
    if value <= 0:
        raise ValueProblem(f"the exchange rate must be positive, got {_short(text)}")
    return value


def api_rate(value: object) -> Decimal:
    """An ``exchangeRate`` from the Finances API (a string or a number read as Decimal)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueProblem(f'expected an exchange rate such as "1.2345", got {type(value).__name__}')
    return rate(str(value), ".")


def _short(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


# -- dates --------------------------------------------------------------------------------------

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "jan january januar janv janvier gen gennaio ene enero",
        "feb february februar fevr fevrier febbraio febrero",
        "mar march marz mars marzo",
        "apr april avr avril aprile abr abril",
        "may mai mag maggio mayo",
        "jun june juni juin giu giugno junio",
        "jul july juli juil juillet lug luglio julio",
        "aug august aout ago agosto",
        "sep sept september septembre set settembre septiembre",
        "oct october okt oktober octobre ott ottobre octubre",
        "nov november novembre noviembre",
        "dec december dez dezember decembre dic dicembre diciembre",
    ),
    start=1,
):
    MONTHS.update(dict.fromkeys(_names.split(), _number))

_TIME = r"(?:[ T,]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:\s*(?P<ampm>[ap]\.?m\.?))?)?"
_ZONE = r"(?:\s*(?P<zone>[A-Za-z]{2,4}))?"
_NAMED_MONTH_FIRST = re.compile(
    r"(?P<mon>[^\W\d_]+)\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})" + _TIME + _ZONE, re.IGNORECASE
)
_NAMED_DAY_FIRST = re.compile(
    r"(?P<d>\d{1,2})\.?\s+(?:de\s+)?(?P<mon>[^\W\d_]+)\.?\s+(?:de\s+)?(?P<y>\d{4})" + _TIME + _ZONE,
    re.IGNORECASE,
)
_DOTTED = re.compile(r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})" + _TIME + _ZONE, re.IGNORECASE)
SLASHED = re.compile(r"(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4}|\d{2})" + _TIME + _ZONE, re.IGNORECASE)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([ T].*)?")


@dataclass(frozen=True, slots=True)
class When:
    """A report date: the calendar day in the seller's zone, and the UTC instant when a time is
    given (else the start of that day)."""

    day: dt.date
    instant: dt.datetime
    time_known: bool


def day_instant(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The start of ``day`` in ``zone``, as UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


@functools.lru_cache(maxsize=8192)  # a report repeats its days
def when(text: str, zone: ZoneInfo, *, month_first: bool) -> When:
    """A report date in any of the spellings in the module docstring. ``month_first`` settles
    numeric dates like ``03/04/2026``. Raises :class:`ValueProblem`."""
    raw = " ".join(text.strip().split())
    if not raw:
        raise ValueProblem("the date is empty")
    if _ISO.fullmatch(raw):
        if len(raw) == 10:
            try:
                day = dt.date.fromisoformat(raw)
            except ValueError:
                raise ValueProblem(f"{_short(text)} is not a valid date") from None
            return When(day, day_instant(day, zone), False)
        instant = values.local_instant(raw, zone)
        return When(instant.astimezone(zone).date(), instant, True)
    match = _NAMED_MONTH_FIRST.fullmatch(raw) or _NAMED_DAY_FIRST.fullmatch(raw)
    if match is not None:
        month = MONTHS.get(fold(match["mon"]))
        if month is None:
            raise ValueProblem(f"{_short(text)}: {match['mon']!r} is not a month")
        day_number, year = int(match["d"]), int(match["y"])
    elif (match := _DOTTED.fullmatch(raw)) is not None:
        day_number, month, year = int(match["d"]), int(match["m"]), int(match["y"])
    elif (match := SLASHED.fullmatch(raw)) is not None:
        first, second, year = int(match["a"]), int(match["b"]), int(match["y"])
        day_number, month = (second, first) if month_first else (first, second)
    else:
        try:  # Seller Hub's own spelling, e.g. Sep-30-26 23:45:00
            instant = values.local_instant(raw, zone)
        except ValueProblem:
            raise ValueProblem(
                f"{_short(text)} is not a date in a known format (expected e.g. Sep 30, 2026 or 30.09.2026)"
            ) from None
        return When(instant.astimezone(zone).date(), instant, ":" in raw)
    year = values.full_year(year)
    try:
        day = dt.date(year, month, day_number)
    except ValueError as exc:
        raise ValueProblem(f"{_short(text)} is not a valid date ({exc})") from None
    if match["h"] is None:
        return When(day, day_instant(day, zone), False)
    hour, minute, second_number = int(match["h"]), int(match["mi"]), int(match["s"] or 0)
    ampm = (match["ampm"] or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueProblem(f"{_short(text)}: {hour} is not an hour on a 12-hour clock")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    stamp = f"{day.isoformat()} {hour:02d}:{minute:02d}:{second_number:02d}"
    if not (hour < 24 and minute < 60 and second_number < 60):
        raise ValueProblem(f"{_short(text)} is not a valid time")
    if match["zone"]:
        offset = values.ZONE_ABBREVIATIONS.get(match["zone"].upper())
        if offset is None:
            raise ValueProblem(f"{_short(text)}: unknown time zone {match['zone']!r}")
        stamp += f"{offset:+03d}:00"
    instant = values.local_instant(stamp, zone)
    return When(instant.astimezone(zone).date(), instant, True)


def slashed_order(texts: list[str]) -> bool | None:
    """Whether a file's numeric ``a/b/yyyy`` dates put the month first: ``True``/``False`` when an
    unambiguous date settles it, ``None`` when none does. Raises :class:`ValueProblem` when the
    file has both kinds."""
    month_first = day_first = False
    for text in texts:
        match = SLASHED.fullmatch(" ".join(text.strip().split()))
        if match is None:
            continue
        first, second = int(match["a"]), int(match["b"])
        month_first = month_first or second > 12
        day_first = day_first or first > 12
    if month_first and day_first:
        raise ValueProblem("the dates mix day/month/year and month/day/year")
    if month_first or day_first:
        return month_first
    return None
