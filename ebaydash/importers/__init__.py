"""Reading sellers' own order files: Fulfillment API ``getOrders`` JSON and Seller Hub CSV.

``read_file`` detects the format and returns a :class:`ParsedFile`: validated, normalised
:class:`~ebaydash.models.OrderRecord` objects and a :class:`RowError` for every problem (all of
them, not the first). ``checks`` holds the rules that look across files (duplicates, one currency
per account); ``rejects`` writes the error report as CSV. Nothing here touches the database.
"""

from ebaydash.importers.detect import decode, detect, read_file
from ebaydash.importers.records import FORMAT_LABELS, ParsedFile, RowError

__all__ = [
    "FORMAT_LABELS",
    "ParsedFile",
    "RowError",
    "decode",
    "detect",
    "read_file",
]
