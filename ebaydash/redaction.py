"""The one place secrets are taken out of text before anyone sees it.

Every message shown to a person (an error's ``str``, the CLI's stderr, a page's banner, a health
panel line) and every log record goes through :func:`redact`, which removes:

- the password of any URL's user information, well-formed or not: ``mysql://admin:pw@host/db``,
  ``redis://:pw@host``, ``mysql//admin:pw@host`` and ``admin:pw@host`` all keep the user and host
  and show ``***`` for the password (RFC 3986 §3.2.1: user information is ``user:password``, and
  its use in URLs is deprecated precisely because it ends up displayed);
- the value of a secret query or connection parameter: ``?password=pw``, ``&sslpassword=pw``,
  libpq's ``password=pw`` (names in :data:`SECRET_PARAMETERS`);
- every secret remembered with :func:`remember` (the passwords found in the ``EBAYDASH_*``
  values when the settings are read), wherever it appears, so a value malformed in a way no pattern
  foresees is still hidden.

:func:`install_log_redaction` makes every log record of the process pass through :func:`redact`
(its message, its arguments and its traceback), whichever library logs it.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

__all__ = [
    "MASK",
    "SECRET_PARAMETERS",
    "install_log_redaction",
    "redact",
    "remember",
    "remember_secret",
    "secrets_in",
]

MASK = "***"

#: Names of query-string and connection parameters whose values are secret (libpq's password and
#: sslpassword, and the usual token names).
SECRET_PARAMETERS: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "pass",
    "sslpassword",
    "secret",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "auth",
)

# user:password@ — the password may hold '@' (the last '@' before the host ends it) but no
# '/', so a path is never taken for one. The user part may be empty (redis://:pw@host).
_USERINFO = re.compile(r"(?P<user>[^\s:/@?#'\"<>()\[\]{},;]*):(?P<password>[^\s/?#'\"<>]*)@")
_PARAMETER = re.compile(
    r"(?i)(?P<name>(?<![a-z0-9])(?:"
    # "auth" after an underscore is a setting's name (EBAYDASH_AUTH=oidc), not a credential
    + "|".join(r"(?<!_)auth" if name == "auth" else name for name in SECRET_PARAMETERS)
    + r"))(?P<eq>\s*=\s*)(?P<value>'[^']*'|\"[^\"]*\"|[^\s&;#'\"]+)"
)

_remembered: set[str] = set()
_lock = threading.Lock()


def secrets_in(value: str) -> set[str]:
    """The secrets a setting's raw ``value`` carries: a URL's password (found leniently, so a
    malformed URL gives its password up too) and secret parameters' values."""
    found: set[str] = set()
    rest = value.split("//", 1)[1] if "//" in value else value
    if "@" in rest:
        userinfo = rest.rsplit("@", 1)[0]
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
    for match in _PARAMETER.finditer(value):
        found.add(match.group("value").strip("'\""))
    for match in _USERINFO.finditer(value):
        found.add(match.group("password"))
    return {secret for secret in found if secret and secret != MASK}


#: Shorter fragments are not remembered: a malformed URL's partial match (the "p" of
#: ``user:p@ss@host``) would mask that letter in every later message; the patterns still hide them
#: where they stand as passwords.
MIN_REMEMBERED = 4


def remember(value: str) -> None:
    """Hide the secrets in ``value`` (see :func:`secrets_in`) from every later :func:`redact`."""
    secrets = {secret for secret in secrets_in(value) if len(secret) >= MIN_REMEMBERED}
    if secrets:
        with _lock:
            _remembered.update(secrets)


def remember_secret(value: str) -> None:
    """Hide ``value`` itself, a secret setting (a signing key), from every later :func:`redact`."""
    secret = value.strip()
    if secret and secret != MASK:
        with _lock:
            _remembered.add(secret)


def redact(text: str) -> str:
    """``text`` with every password and secret replaced by ``***`` (see the module's docstring).
    Safe on any text; text without secrets comes back unchanged."""
    if not text:
        return text
    out = _USERINFO.sub(lambda m: f"{m.group('user')}:{MASK}@" if m.group("password") else m.group(0), text)
    out = _PARAMETER.sub(lambda m: f"{m.group('name')}{m.group('eq')}{MASK}", out)
    if _remembered:
        # longest first, so a secret that contains another is replaced whole
        for secret in sorted(_remembered, key=len, reverse=True):
            if secret in out:
                out = out.replace(secret, MASK)
    return out


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a record whose arguments do not fit its format: logging reports it itself
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install_log_redaction() -> None:
    """Pass every log record made from now on in this process through :func:`redact` (once;
    calling again does nothing). A record factory rather than a handler's filter, so records of
    every logger and every handler (Streamlit's, Alembic's, the root's) are covered."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub(record)
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
