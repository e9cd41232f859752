"""Exception types raised by pplink.

Every error pplink raises on purpose derives from :class:`PplinkError`, so callers can
catch one type. Messages say what was wrong and how to fix it, and never contain secret
material or plaintext identifiers.

Example:
    >>> from pplink.errors import PplinkError, SecretError
    >>> issubclass(SecretError, PplinkError)
    True
"""

from __future__ import annotations


class PplinkError(Exception):
    """Base class for all pplink errors."""


class ConfigError(PplinkError):
    """A schema, mapping, policy or pipeline file is invalid."""


class SecretError(PplinkError):
    """A secret is missing, unreadable, too weak or supplied in an unsafe way."""


class StandardizationError(PplinkError, ValueError):
    """A value could not be normalised; ``reason`` says why (without echoing the value)."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason}" if field else reason)


class InputError(PplinkError):
    """An input file cannot be read (missing, wrong encoding, bad CSV, missing columns)."""


class IncompatibleEncodingsError(PplinkError):
    """Encoded files were made with different schemas or keys and cannot be linked."""


class EncodedFileError(PplinkError):
    """A file is not a valid pplink encoded file (missing metadata, wrong format version)."""


class DisclosureError(PplinkError):
    """A release request violates the disclosure policy and cannot be protected."""


class LedgerError(PplinkError):
    """A release ledger file cannot be used: not a ledger, damaged, unreadable or unwritable.

    The ledger is the release history that protects against differencing, so pplink never
    recreates or repairs one silently: it refuses and says what to do.
    """
