"""Every SQL statement, timed through SQLAlchemy's cursor events, and the slow ones by shape.

Each statement is recorded as ``("sql", verb)`` (``select``, ``insert``, …); one that takes at
least the slow threshold is also recorded as ``("slow", shape_id)``, where the shape is its text
with every literal value taken out (see :func:`normalise`), so "the same query with other
values" adds up in one row of the slow-query list.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Engine

MAX_SHAPE_CHARS = 2000


class StatementRecorder(Protocol):
    def record(
        self, kind: str, name: str, duration_s: float, *, ok: bool = True, rows: int | None = None
    ) -> None: ...

    def note_shape(self, shape_id: str, shape: str) -> None: ...


_STRING = re.compile(r"(?:[EeNn]|[Uu]&)?'(?:[^']|'')*'")  # 'it''s', E'…', N'…'
_DOLLAR_QUOTED = re.compile(r"\$(\w*)\$.*?\$\1\$", re.DOTALL)
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|(?<![:\w]):\w+|\$\d+|\?")
_NUMBER = re.compile(r"(?<![\w.$])[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)(?![\w.])")
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")  # IN (?, ?, ?) and VALUES (?, ?)
_VALUES_ROWS = re.compile(r"(\(\.\.\.\))(?:\s*,\s*\(\.\.\.\))+")  # VALUES (...), (...), …
_SPACE = re.compile(r"\s+")


def normalise(statement: str) -> str:
    """The statement's shape: literals, numbers and bound values become ``?``, lists of them
    ``(...)``, comments go, and whitespace collapses. ``WHERE id = 42`` and ``WHERE id = 7``
    share a shape; so do ``IN (1, 2)`` and ``IN (3, 4, 5)``."""
    text = _COMMENT.sub(" ", statement)
    text = _DOLLAR_QUOTED.sub("?", text)
    text = _STRING.sub("?", text)
    text = _PLACEHOLDER.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = _LIST.sub("(...)", text)
    text = _VALUES_ROWS.sub(r"\1", text)
    text = _SPACE.sub(" ", text).strip().rstrip(";").strip()
    if len(text) > MAX_SHAPE_CHARS:
        text = text[: MAX_SHAPE_CHARS - 1] + "…"
    return text


def shape_id(shape: str) -> str:
    return hashlib.blake2b(shape.encode(), digest_size=6).hexdigest()


def verb(statement: str) -> str:
    """The statement's first keyword in lower case (``select``, ``with``, ``insert``, …)."""
    head = statement.lstrip()[:12].split(None, 1)
    word = head[0].lower() if head else ""
    return word if word.isalpha() else "other"


def watch(engine: Engine, recorder: StatementRecorder, *, slow_query_ms: float) -> None:
    """Time every statement ``engine`` runs and record it in ``recorder``."""
    slow_s = slow_query_ms / 1000
    verbs: dict[str, str] = {}  # statement text → verb; texts repeat (compiled-statement cache)

    def verb_of(statement: str) -> str:
        found = verbs.get(statement)
        if found is None:
            found = verb(statement)
            if len(verbs) < 2000:
                verbs[statement] = found
        return found

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        # the execution context lives exactly as long as the statement: a cheap place for the start
        if context is not None:
            context._ebaydash_started = time.perf_counter()

    def after(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        started = getattr(context, "_ebaydash_started", None)
        if started is None:
            return
        seconds = time.perf_counter() - started
        rowcount = getattr(cursor, "rowcount", -1)
        recorder.record(
            "sql", verb_of(statement), seconds, rows=rowcount if rowcount and rowcount > 0 else None
        )
        if seconds >= slow_s:
            _record_slow(recorder, statement, seconds, ok=True)

    def failed(exception_context: Any) -> None:
        context = exception_context.execution_context
        statement = exception_context.statement
        started = getattr(context, "_ebaydash_started", None)
        if started is None or statement is None:
            return
        seconds = time.perf_counter() - started
        recorder.record("sql", verb_of(statement), seconds, ok=False)
        if seconds >= slow_s:  # a statement stopped by its time limit is the slowest of all
            _record_slow(recorder, statement, seconds, ok=False)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)


def _record_slow(recorder: StatementRecorder, statement: str, seconds: float, *, ok: bool) -> None:
    shape = normalise(statement)
    ident = shape_id(shape)
    recorder.note_shape(ident, shape)
    recorder.record("slow", ident, seconds, ok=ok)
