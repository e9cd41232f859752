"""pplink: privacy-preserving record linkage for the Dutch municipal social domain.

The public API, by trust zone:

* data holder: :func:`load_secret`, :class:`Secret`, :func:`load_mapping`, :func:`load_schema`,
  :func:`default_schema`, :func:`encode`, :func:`encode_records`, :func:`write_encoded`;
* linkage unit: :func:`read_encoded`, :func:`check_compatible`, :func:`link`, :func:`link_many`;
* analyst: :func:`release`, :func:`release_stacking`, :func:`load_policy`, :class:`Ledger`;
* everyone: the exception types in :mod:`pplink.errors`.

Example:
    >>> import pplink
    >>> pplink.default_schema().name
    'nl-person'
"""

from __future__ import annotations

__version__ = "0.1.0"

from pplink.encode import EncodeResult, Encoder, encode, encode_records
from pplink.encoded import EncodedDataset, EncodingMetadata, check_compatible
from pplink.errors import (
    ConfigError,
    DisclosureError,
    EncodedFileError,
    IncompatibleEncodingsError,
    InputError,
    PplinkError,
    SecretError,
    StandardizationError,
)
from pplink.io import read_encoded, read_metadata, write_encoded
from pplink.keys import Secret, load_secret, write_secret_file
from pplink.linkage import ClusterResult, LinkResult, LinkSettings, link, link_many
from pplink.mapping import Mapping, load_mapping
from pplink.disclosure import Ledger, load_policy, release, release_stacking
from pplink.schema import Schema, default_schema, load_schema

__all__ = [
    "__version__",
    "ConfigError",
    "DisclosureError",
    "ClusterResult",
    "EncodeResult",
    "EncodedDataset",
    "EncodedFileError",
    "Encoder",
    "EncodingMetadata",
    "IncompatibleEncodingsError",
    "InputError",
    "Ledger",
    "LinkResult",
    "LinkSettings",
    "Mapping",
    "PplinkError",
    "Schema",
    "Secret",
    "SecretError",
    "StandardizationError",
    "check_compatible",
    "default_schema",
    "encode",
    "encode_records",
    "link",
    "link_many",
    "load_mapping",
    "load_policy",
    "load_schema",
    "load_secret",
    "read_encoded",
    "read_metadata",
    "release",
    "release_stacking",
    "write_encoded",
    "write_secret_file",
]
