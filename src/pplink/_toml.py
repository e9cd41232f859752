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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pplink.errors import ConfigError, PplinkError

__all__ = ["read_toml", "describe_value", "load_config"]


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


def describe_value(value: Any) -> str:
    """A short description of a wrong setting for error messages (never a long repr).

    Example:
        >>> describe_value(True), describe_value("1024"), describe_value([1]), describe_value(10**50)
        ('true', "the string '1024'", 'a list', 'a 51-digit number')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing"
    if isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= 20 else f"a {len(text)}-digit number"
    if isinstance(value, str):
        text = repr(value)
        return f"the string {text}" if len(text) <= 40 else f"a string of {len(value)} characters"
    names = {list: "a list", tuple: "a list", dict: "a table"}
    return names.get(type(value), "a table" if isinstance(value, Mapping) else f"a {type(value).__name__}")


def load_config(loader: Callable[[Any], Any], path: Any, what: str) -> Any:
    """Run a config loader; an unexpected exception from a malformed file becomes a
    :class:`ConfigError` naming the file (the loaders check their input, this is a last guard).

    Example:
        >>> load_config(lambda p: {}["missing"], "x.toml", "mapping file")
        Traceback (most recent call last):
        ...
        pplink.errors.ConfigError: mapping file x.toml has a setting of the wrong type or shape (KeyError: 'missing'); ...
    """
    try:
        return loader(path)
    except PplinkError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{what} {path} has a setting of the wrong type or shape ({type(exc).__name__}: {exc}); "
            "compare it with the reference documentation"
        ) from None
