"""Column headings of Seller Hub "Orders" reports on eBay's sites, mapped onto our fields.

Wordings differ between sites (US, UK, AU, CA, DE, FR, IT, ES), between the old Selling Manager
and today's Seller Hub exports, and between tools that re-save them (``SalesRecordNumber``). A
heading is compared after :func:`normalise` (case, accents, spaces and punctuation ignored), so
``Sales Record Number``, ``sales record no.`` and ``SalesRecordNumber`` are one heading.

Sources: the US and UK/AU wordings are those of eBay's own report (Seller Hub > Orders > Download
report); the German ones those of ebay.de's report; the older "Verkaufsprotokoll" wordings those of
Selling Manager Pro. French, Italian and Spanish ones follow the terms of eBay's sites in those
languages (Numéro de commande, Numero ordine, Número de pedido …).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence

from ebaydash.importers.locales import fold

# field -> language -> wordings. "*" marks wordings shared by several languages.
HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "sales_record": {
        "en": ("Sales Record Number", "Sales Record No", "Sales Record", "Record Number"),
        "de": ("Verkaufsprotokollnummer", "Verkaufsprotokoll-Nr.", "Verkaufsprotokoll Nummer"),
        "fr": ("Numéro de vente", "N° de vente", "Numéro d'enregistrement de la vente"),
        "it": ("Numero record vendita", "Numero record di vendita", "N. record vendita"),
        "es": ("Número de registro de venta", "Número de registro de ventas", "N.º de registro de venta"),
    },
    "order_id": {
        "en": ("Order Number", "Order ID", "Order No", "OrderID", "Order Nr"),
        "de": ("Bestellnummer", "Bestell-Nr.", "Bestellnummer (eBay)"),
        "fr": ("Numéro de commande", "N° de commande"),
        "it": ("Numero ordine", "Numero dell'ordine", "N. ordine"),
        "es": ("Número de pedido", "N.º de pedido"),
    },
    "buyer": {
        "en": ("Buyer Username", "Buyer User ID", "Buyer User Name", "Buyer ID", "User ID", "Username"),
        "de": ("Nutzername des Käufers", "Mitgliedsname", "Käufer-Nutzername", "Mitgliedsname des Käufers"),
        "fr": ("Pseudo de l'acheteur", "Pseudo acheteur", "Nom d'utilisateur de l'acheteur"),
        "it": ("Nome utente acquirente", "Nome utente dell'acquirente", "ID utente acquirente"),
        "es": ("Nombre de usuario del comprador", "Usuario del comprador", "Nombre de usuario de comprador"),
    },
    "buyer_email": {
        "en": ("Buyer Email", "Buyer E-mail", "Buyer Email Address", "Email"),
        "de": ("E-Mail des Käufers", "Käufer-E-Mail", "E-Mail-Adresse des Käufers"),
        "fr": ("Adresse e-mail de l'acheteur", "E-mail de l'acheteur", "E-mail acheteur"),
        "it": ("Email acquirente", "Indirizzo email acquirente", "Email dell'acquirente"),
        "es": ("Correo electrónico del comprador", "Email del comprador"),
    },
    "item_number": {
        "en": ("Item Number", "Item ID", "Item No", "Item Nr"),
        "de": ("Artikelnummer", "Artikel-Nr."),
        "fr": ("Numéro de l'objet", "N° de l'objet", "Numéro d'objet"),
        "it": ("Numero oggetto", "N. oggetto", "Numero dell'oggetto"),
        "es": ("Número de artículo", "N.º de artículo", "Número del artículo"),
    },
    "title": {
        "en": ("Item Title", "Title", "Item Name", "Listing Title"),
        "de": ("Angebotstitel", "Artikelbezeichnung", "Artikeltitel", "Titel"),
        "fr": ("Titre de l'objet", "Intitulé de l'objet", "Titre de l'annonce", "Titre"),
        "it": ("Titolo oggetto", "Titolo dell'oggetto", "Titolo inserzione", "Titolo"),
        "es": ("Título del artículo", "Título del anuncio", "Título"),
    },
    "sku": {
        "en": ("Custom Label", "Custom Label (SKU)", "SKU", "Custom SKU"),
        "de": ("Bestandseinheit", "Benutzerdefinierte Bezeichnung", "Individuelle Bezeichnung"),
        "fr": ("Libellé personnalisé", "Étiquette personnalisée", "Référence personnalisée"),
        "it": ("Etichetta personalizzata", "Codice personalizzato"),
        "es": ("Etiqueta personalizada", "Referencia personalizada"),
    },
    "quantity": {
        "en": ("Quantity", "Qty", "Quantity Sold"),
        "de": ("Anzahl", "Stückzahl", "Menge"),
        "fr": ("Quantité", "Quantité vendue"),
        "it": ("Quantità", "Quantità venduta"),
        "es": ("Cantidad", "Cantidad vendida"),
    },
    "price": {
        "en": ("Sold For", "Item Price", "Sale Price", "Price", "Sold Price"),
        "de": ("Verkauft für", "Verkaufspreis", "Preis"),
        "fr": ("Vendu pour", "Prix de vente", "Prix unitaire", "Prix"),
        "it": ("Venduto per", "Prezzo di vendita", "Prezzo"),
        "es": ("Vendido por", "Precio de venta", "Precio"),
    },
    "shipping": {
        "en": ("Shipping And Handling", "Postage And Packaging", "Shipping", "Postage", "P&P"),
        "de": ("Verpackung und Versand", "Versand und Verpackung", "Versandkosten"),
        "fr": (
            "Livraison et emballage",
            "Frais de livraison",
            "Frais de port et d'emballage",
            "Frais d'envoi",
        ),
        "it": ("Spedizione e imballaggio", "Spese di spedizione", "Spedizione"),
        "es": ("Envío y manipulación", "Gastos de envío", "Envío"),
    },
    "total": {
        "en": ("Total Price", "Order Total", "Total Amount", "Total"),
        "de": ("Gesamtbetrag", "Gesamtpreis", "Gesamtsumme"),
        "fr": ("Prix total", "Montant total"),
        "it": ("Prezzo totale", "Importo totale", "Totale"),
        "es": ("Precio total", "Importe total"),
    },
    "sale_date": {
        "en": ("Sale Date", "Order Date", "Sold Date", "Date Sold", "Order Creation Date"),
        "de": ("Verkauft am", "Verkaufsdatum"),
        "fr": ("Date de vente", "Vendu le"),
        "it": ("Data di vendita", "Data vendita"),
        "es": ("Fecha de venta",),
    },
    "paid_date": {
        "en": ("Paid On Date", "Paid Date", "Payment Date", "Paid On"),
        "de": ("Zahlungsdatum", "Bezahlt am", "Bezahldatum", "Bezahlt am - Datum"),
        "fr": ("Date de paiement", "Payé le"),
        "it": ("Data di pagamento", "Data pagamento", "Pagato il"),
        "es": ("Fecha de pago", "Pagado el"),
    },
    "shipped_date": {
        "en": ("Shipped On Date", "Dispatched On Date", "Posted On Date", "Shipped Date", "Shipped On"),
        "de": ("Verschickt am - Datum", "Verschickt am", "Versanddatum", "Versendet am"),
        "fr": ("Date d'expédition", "Date d'envoi", "Expédié le", "Envoyé le"),
        "it": ("Data di spedizione", "Data spedizione", "Spedito il"),
        "es": ("Fecha de envío", "Enviado el"),
    },
    "transaction_id": {
        "en": ("Transaction ID", "Line Item ID"),
        "de": ("Transaktions-ID", "Transaktionsnummer"),
        "fr": ("ID de transaction", "Numéro de transaction"),
        "it": ("ID transazione", "Numero transazione"),
        "es": ("ID de transacción", "Número de transacción"),
    },
    "status": {
        "en": ("Order Status", "Status"),
        "de": ("Bestellstatus",),
        "fr": ("Statut de la commande", "État de la commande", "Statut"),
        "it": ("Stato dell'ordine", "Stato ordine", "Stato"),
        "es": ("Estado del pedido", "Estado"),
    },
    "refunded": {
        "en": ("Refund Amount", "Refunded Amount", "Refunded", "Total Refunded"),
        "de": ("Erstatteter Betrag", "Rückerstattung", "Rückerstatteter Betrag"),
        "fr": ("Montant remboursé", "Remboursement"),
        "it": ("Importo rimborsato", "Rimborso"),
        "es": ("Importe reembolsado", "Reembolso"),
    },
    "currency": {
        "en": ("Currency", "Currency Code"),
        "de": ("Währung",),
        "fr": ("Devise",),
        "it": ("Valuta",),
        "es": ("Moneda", "Divisa"),
    },
}
# UK and Australian reports say "postage" and "dispatched/posted" where the US one says "shipping"
BRITISH = ("Postage And Packaging", "Dispatched On Date", "Posted On Date", "Postage", "P&P")


def normalise(heading: str) -> str:
    """What two spellings of one heading share: letters and digits, lower case, no accents."""
    return fold(heading.replace("\ufeff", "").replace("&", "and"))


@functools.cache
def lookup() -> dict[str, tuple[str, str]]:
    """normalised heading -> (field, language). Built once; a wording of two fields is an error."""
    table: dict[str, tuple[str, str]] = {}
    for key, by_language in HEADERS.items():
        for language, wordings in by_language.items():
            for wording in wordings:
                norm = normalise(wording)
                found = table.get(norm)
                if found is not None and found[0] != key:
                    raise AssertionError(f"{wording!r} names both {found[0]} and {key}")
                table.setdefault(norm, (key, language))
    return table


def field_of(heading: str) -> str | None:
    found = lookup().get(normalise(heading))
    return found[0] if found else None


def language_of(headings: Sequence[str]) -> str | None:
    """The language most of the recognised headings are in (``en``, ``de``, ``fr``, ``it``,
    ``es``), counting only wordings that belong to one language; ``None`` when none is told."""
    shared = _shared()
    votes = Counter(
        found[1]
        for h in headings
        if (n := normalise(h)) not in shared and (found := lookup().get(n)) is not None
    )
    return votes.most_common(1)[0][0] if votes else None


def english_variant(headings: Sequence[str]) -> str:
    """``en_GB`` when the report says postage/dispatched (UK, AU, IE sites), else ``en_US``."""
    british = {normalise(b) for b in BRITISH}
    return "en_GB" if any(normalise(h) in british for h in headings) else "en_US"


@functools.cache
def _shared() -> frozenset[str]:
    """Wordings the same in two languages (none today; kept honest by a test)."""
    seen: dict[str, set[str]] = {}
    for by_language in HEADERS.values():
        for language, wordings in by_language.items():
            for wording in wordings:
                seen.setdefault(normalise(wording), set()).add(language)
    return frozenset(n for n, languages in seen.items() if len(languages) > 1)


def shown(key: str, language: str | None = None) -> str:
    """The heading to name a field by in a message: the file's own when given, else the first
    English wording."""
    return HEADERS[key].get(language or "en", HEADERS[key]["en"])[0]
