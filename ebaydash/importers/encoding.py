"""Turning an uploaded file's bytes into a stream of text lines, whatever encoding it was saved in.

eBay writes UTF-8 (with a byte-order mark from Seller Hub); Excel re-saves as "CSV UTF-8", as
"Unicode Text" (UTF-16 with a BOM, tab-separated), or as plain "CSV" in the Windows code page of the
machine (Windows-1252 in Western Europe and the Americas). How a file's encoding is decided:

1. a byte-order mark names it (UTF-32, UTF-16, UTF-8);
2. UTF-16 without a mark shows itself by a NUL in every other byte of ASCII text;
3. text that is UTF-8 is read as UTF-8. A few broken sequences in otherwise UTF-8 text (a lone
   surrogate, a damaged character) become problems of their rows, named with the line and field,
   instead of refusing the file;
4. anything else is a legacy code page: Windows-1252 when it can read the bytes — the code page
   Excel's plain "CSV" uses on Windows for every language of the sites we read (English, German,
   French, Italian, Spanish) — else the one ``charset-normalizer`` names. The file is then read in
   it, with a note saying so and how to export UTF-8 instead. (charset-normalizer alone misnames
   short Western files: measured on this project's cases, it called a German Windows-1252 report
   cp1250 and a one-line Spanish title cp1006, "Farsi"; so it only names what cp1252 cannot read.)

Only a sample (the first :data:`SAMPLE_BYTES`) is examined; the rest is decoded as it streams.

Unicode text can also be **encoded twice**: UTF-8 read as Windows-1252 and saved as UTF-8 again
(an Excel round trip does it), so ``Café`` reads ``CafÃ©``. A file is taken for such when every
run of non-ASCII characters in its sample, encoded back as Windows-1252 (with Latin-1 for the five
bytes Windows-1252 leaves undefined, which Windows reads as the C1 controls of the same number), is
valid UTF-8. Correct text does not pass: ``São`` gives the bytes ``S \xe3 o``, no UTF-8, and a
lone ``Ã`` is the start of a sequence that never ends. Such a file is repaired as it streams, run by
run, with a note naming an example (:class:`Repair`); a run further down that does not decode is
kept as read and counted. (``ftfy`` fixes mojibake too, but segment by segment with heuristics,
which may change correct text: here the decision is one per file, by the strict test above.)
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import charset_normalizer

SAMPLE_BYTES = 1 << 20
# the Unicode code points Python's "surrogateescape" gives to bytes that are not UTF-8
UNDECODABLE = re.compile("[\udc80-\udcff]")
_ENCODED_SURROGATE = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")
_MAGIC = (
    (
        b"PK\x03\x04",
        "this is an Excel workbook (or another zip file), not CSV: in Excel choose File > Save As > "
        "'CSV UTF-8 (comma delimited)' and import that file",
    ),
    (b"\xd0\xcf\x11\xe0", "this is an old Excel workbook (.xls), not CSV: save it as 'CSV UTF-8' in Excel"),
    (b"%PDF", "this is a PDF, not a CSV or JSON export"),
    (b"\x89PNG", "this is a binary file (an image), not a CSV or JSON export"),
    (b"\xff\xd8\xff", "this is a binary file (an image), not a CSV or JSON export"),
    (b"GIF8", "this is a binary file (an image), not a CSV or JSON export"),
    (b"\x1f\x8b", "this is a compressed (gzip) file: unpack it first"),
)
_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (with a byte-order mark)",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 (little-endian, no byte-order mark)",
    "utf-16-be": "UTF-16 (big-endian, no byte-order mark)",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252",
}


def _windows_bytes() -> dict[int, int]:
    """Windows-1252's characters for the bytes 0x80-0x9F (``€`` → 0x80 …), for ``str.translate``:
    with them mapped back, a double-encoded text is Latin-1 and encodes back to its UTF-8 bytes."""
    table: dict[int, int] = {}
    for byte in range(0x80, 0xA0):
        # undefined in cp1252 (0x81 …): Windows reads U+0081 etc., which Latin-1 encodes as is
        with contextlib.suppress(UnicodeDecodeError):
            table[ord(bytes([byte]).decode("cp1252"))] = byte
    return table


_WINDOWS_BYTES = _windows_bytes()
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_TRAILING_NON_ASCII = re.compile(r"[^\x00-\x7f]+\Z")
_WORD_WITH_NON_ASCII = re.compile(r'[^\s,;|"]*[^\x00-\x7f][^\s,;|"]*')
EXAMPLE_CHARS = 40


def undo_double_encoding(run: str) -> str | None:
    """``run`` (non-ASCII characters) decoded as the UTF-8 it was before it was read as
    Windows-1252, e.g. ``Ã©`` → ``é``; ``None`` when its bytes are not UTF-8 (correct text)."""
    try:
        return run.translate(_WINDOWS_BYTES).encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None


def double_encoded(sample: str, *, complete: bool) -> tuple[str, str] | None:
    """An example word of ``sample`` as read and repaired (``CafÃ©``, ``Café``) when the text is
    UTF-8 encoded twice (see the module's docstring); ``None`` when it is not, or has no non-ASCII
    text to tell. ``complete``: the sample is the whole file (else its last run may be cut)."""
    runs = _NON_ASCII.findall(sample)
    if runs and not complete and _TRAILING_NON_ASCII.search(sample):
        runs.pop()  # the sample may end inside a character's sequence
    if not runs or any(undo_double_encoding(run) is None for run in runs):
        return None
    found = _WORD_WITH_NON_ASCII.search(sample)
    assert found is not None  # there is a run
    word = found.group()[:EXAMPLE_CHARS]
    return word, _NON_ASCII.sub(lambda m: undo_double_encoding(m.group()) or m.group(), word)


@dataclass
class Repair:
    """A file encoded twice, being repaired: an example (as read, repaired) for the note, and the
    runs further down that were not encoded twice, kept as read (how many, the first's line)."""

    original: str
    fixed: str
    kept: int = 0
    first_kept_line: int | None = None

    @property
    def note(self) -> str:
        return (
            "was encoded twice: its UTF-8 text had been read as Windows-1252 and saved as UTF-8 again "
            f"(as an Excel round trip does), so accented letters showed as two or three others. It was "
            f"repaired, e.g. {self.original!r} → {self.fixed!r}; check that accented letters look right."
        )

    @property
    def kept_note(self) -> str:
        where = f" (the first on line {self.first_kept_line})" if self.first_kept_line else ""
        return (
            f"was repaired as encoded twice, but {self.kept:,} passage(s) of it were not{where}: they "
            "were kept as read; check them."
        )


class Unreadable(Exception):
    """The file cannot be turned into text; ``str()`` says why, for the seller."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.line = line


@dataclass(frozen=True)
class Encoding:
    """How a file's bytes are decoded: the codec, its error handler, and a note for the seller when
    the choice deserves one (a legacy code page)."""

    codec: str
    errors: str = "strict"
    note: str | None = None

    @property
    def label(self) -> str:
        return _LABELS.get(self.codec, self.codec)


def label(codec: str) -> str:
    """A person's name for a codec, e.g. ``cp1252`` → ``Windows-1252``."""
    return _LABELS.get(codec, codec)


def detect(sample: bytes, *, complete: bool) -> Encoding:
    """The encoding of a file starting with ``sample`` (``complete``: the sample is the whole file).

    Raises :class:`Unreadable` for binary files and for text in no encoding we can name.
    """
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return Encoding("utf-32")
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding("utf-16")
    if sample.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig", "surrogateescape")
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            raise Unreadable(what)
    nuls = sample.count(b"\x00")
    if nuls:
        head = sample[:4096]
        even, odd = head[0::2], head[1::2]
        if len(head) >= 4 and odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return Encoding("utf-16-le")
        if len(head) >= 4 and even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return Encoding("utf-16-be")
        if nuls > max(8, len(sample) // 20):
            raise Unreadable("this is a binary file, not a CSV or JSON export")
        # a few NUL bytes in text: problems of the rows that hold them, found later
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(sample, final=complete)
        return Encoding("utf-8", "surrogateescape")
    except UnicodeDecodeError:
        pass
    text = sample.decode("utf-8", "surrogateescape")
    bad = len(UNDECODABLE.findall(text))
    multibyte = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    surrogates = 3 * len(_ENCODED_SURROGATE.findall(sample))
    if bad == surrogates or (multibyte > 0 and bad <= max(3, multibyte // 10)):
        # UTF-8 with a few damaged characters: the rows holding them are reported, not the file
        return Encoding("utf-8", "surrogateescape")
    return _legacy(sample)


def _legacy(sample: bytes) -> Encoding:
    try:
        sample.decode("cp1252")
        codec = "cp1252"
    except UnicodeDecodeError:
        # bytes Windows-1252 leaves undefined: some other code page, which charset-normalizer names
        best = charset_normalizer.from_bytes(sample).best()
        if best is None:
            raise Unreadable(
                "the file is not UTF-8 text, and its encoding could not be recognised; "
                "export it again, or save it in Excel as 'CSV UTF-8 (comma delimited)'"
            ) from None
        codec = codecs.lookup(best.encoding).name
    name = label(codec)
    how = " (what Excel's plain 'CSV' writes on Windows)" if codec == "cp1252" else ""
    return Encoding(
        codec,
        "strict",
        f"is not UTF-8: it was read as {name}{how}. Check that accented letters look right; to be "
        "sure, save it in Excel as 'CSV UTF-8 (comma delimited)' and import that.",
    )


class _Replay(io.RawIOBase):
    """A raw stream that serves ``head`` first, then the rest of ``stream``: the sample read to
    detect the encoding is not read twice."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = memoryview(head)
        self._stream = stream
        self.consumed = 0  # bytes handed out so far, for progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if len(self._head):
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
        else:
            data = self._stream.read(len(buffer))
            n = len(data)
            buffer[:n] = data
        self.consumed += n
        return n


class TextSource:
    """A file's text, streamed: ``lines()`` yields its lines with their endings (``\\n``, ``\\r\\n``
    or ``\\r``, untranslated, as the csv module wants them); ``sample`` is the first decoded text."""

    def __init__(self, stream: BinaryIO, *, sample_bytes: int = SAMPLE_BYTES) -> None:
        head = stream.read(sample_bytes)
        complete = len(head) < sample_bytes
        self.encoding = detect(head, complete=complete)
        self.raw = _Replay(head, stream)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self.raw, 1 << 16),
            encoding=self.encoding.codec,
            errors=self.encoding.errors,
            newline="",
        )
        try:
            self.sample = head.decode(self.encoding.codec, self.encoding.errors)
        except UnicodeDecodeError:
            # a multi-byte character cut at the end of the sample
            self.sample = codecs.getincrementaldecoder(self.encoding.codec)(self.encoding.errors).decode(head)
        if self.sample.startswith("\ufeff"):
            self.sample = self.sample[1:]
        self.repaired: Repair | None = None
        self._line = 0  # physical lines handed out, for naming a run kept as read
        self._carry = ""  # read(): a trailing run held back, as it may be cut
        if self.encoding.note is None:  # Unicode: a legacy code page is not UTF-8 to begin with
            example = double_encoded(self.sample, complete=complete)
            if example is not None:
                self.repaired = Repair(*example)
                self.sample = _NON_ASCII.sub(
                    lambda m: undo_double_encoding(m.group()) or m.group(), self.sample
                )

    @property
    def bytes_read(self) -> int:
        return self.raw.consumed

    def lines(self) -> Iterator[str]:
        """The file's lines, repaired when it is encoded twice (:attr:`repaired`). Decoding errors
        of a legacy code page surface as ``UnicodeDecodeError`` from the caller's loop (see
        :func:`decode_error`)."""
        if self.repaired is None:
            return self._text
        return self._repaired_lines()

    def _repaired_lines(self) -> Iterator[str]:
        for line in self._text:
            self._line += 1
            yield line if line.isascii() else _NON_ASCII.sub(self._undo, line)

    def read(self, size: int) -> str:
        """Up to ``size`` characters ("" at the end), repaired as :meth:`lines` are."""
        if self.repaired is None:
            return self._text.read(size)
        while True:
            more = self._text.read(size)
            text, self._carry = self._carry + more, ""
            if more:
                cut = _TRAILING_NON_ASCII.search(text)
                if cut is not None:
                    text, self._carry = text[: cut.start()], text[cut.start() :]
                if not text:
                    continue
            return _NON_ASCII.sub(self._undo, text)

    def _undo(self, match: re.Match[str]) -> str:
        fixed = undo_double_encoding(match.group())
        if fixed is not None:
            return fixed
        assert self.repaired is not None
        self.repaired.kept += 1
        if self.repaired.first_kept_line is None and self._line:
            self.repaired.first_kept_line = self._line
        return match.group()


def decode_whole(data: bytes) -> str:
    """A whole file's text, decoded strictly: for a reader that neither reports an encoding note
    nor checks each field for damaged characters (the money reader). The encoding is decided as
    :func:`detect` does, but only Unicode is read: UTF-8 with or without a byte-order mark, UTF-16
    or UTF-32 with one, UTF-16 without one.

    Raises :class:`Unreadable` for a binary file, a legacy code page (named, with how to export
    UTF-8), and bytes that are not the Unicode encoding the file is in or claims to be.
    """
    encoding = detect(data, complete=True)
    if encoding.note is not None:
        raise Unreadable(
            f"the file is not UTF-8 text (it looks like {encoding.label}, what Excel's plain 'CSV' "
            "writes); export it again, or save it in Excel as 'CSV UTF-8 (comma delimited)'"
        )
    try:
        text = data.decode("utf-8-sig" if encoding.codec.startswith("utf-8") else encoding.codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if encoding.codec in ("utf-16", "utf-32"):
            raise Unreadable(
                f"the file claims to be {encoding.label} text (its byte-order mark says so) but is not: "
                f"byte 0x{data[exc.start]:02x} cannot be read; export it again",
                None,
            ) from None
        raise Unreadable(
            f"the file is not {encoding.label} text (byte 0x{data[exc.start]:02x} on line {line}); "
            "export it again, or save it in Excel as 'CSV UTF-8 (comma delimited)'",
            line,
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def decode_error(exc: UnicodeDecodeError, encoding: Encoding) -> Unreadable:
    return Unreadable(
        f"the file is not {label(encoding.codec)} text throughout (byte 0x{exc.object[exc.start]:02x} "
        "cannot be read); export it again, or save it in Excel as 'CSV UTF-8 (comma delimited)'"
    )
