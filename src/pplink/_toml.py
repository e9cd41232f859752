"""Reading the TOML configuration files (schemas, mappings, pipelines) with uniform errors.

Example:
    >>> read_toml("no/such.toml", "schema file")
    Traceback (most recent call last):
    ...
    pplink.errors.ConfigError: schema file no/such.toml does not exist
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pplink.errors import ConfigError

__all__ = ["read_toml"]


def read_toml(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """Parse ``path``; a missing, unreadable or invalid file raises :class:`ConfigError` naming it."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{what} {p} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {p} is a directory, not a TOML file") from None
    except PermissionError:
        raise ConfigError(f"{what} {p} cannot be read: permission denied") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {p} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {p} is not valid TOML: {exc}") from None
