"""pplink: privacy-preserving record linkage for the Dutch municipal social domain."""

from __future__ import annotations

__version__ = "0.1.0"
