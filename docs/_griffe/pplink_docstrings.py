"""Griffe extension used only by the MkDocs build (``mkdocs.yml``); not part of pplink.

pplink's docstrings are written for ``help()`` and doctest: Google-style sections, but with
``Example:`` (singular) headings and Sphinx roles such as ``:func:`link```. For the API
reference this extension rewrites them as the docstrings are loaded, without touching the
source:

* ``Example:`` becomes ``Examples:``, so griffe parses the doctest lines as code examples
  (otherwise Markdown renders ``>>>`` as nested block quotes);
* ``:func:`x```, ``:class:`~a.b.C``` and the other Sphinx roles become code spans
  (``~`` keeps only the last part of the dotted name, as in Sphinx);
* a reStructuredText literal-block marker (a line ending in ``::`` before an indented block)
  becomes a single colon; the indented block is already a Markdown code block.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", re.MULTILINE)
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|exc|data|obj|const|ref):`(?P<tilde>~?)(?P<target>[^`]+)`")
_LITERAL_MARKER = re.compile(r"(?<=\S)::[ \t]*\n(?=[ \t]*\n)")


def _role(match: re.Match[str]) -> str:
    target = match["target"]
    if match["tilde"]:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def rewrite(text: str) -> str:
    """Return ``text`` with the rewrites described in the module docstring."""
    text = _EXAMPLE.sub(r"\g<indent>Examples:", text)
    text = _ROLE.sub(_role, text)
    return _LITERAL_MARKER.sub(":\n", text)


def _rewrite_tree(obj: griffe.Object) -> None:
    if obj.docstring is not None:
        obj.docstring.value = rewrite(obj.docstring.value)
    for member in obj.members.values():
        if not member.is_alias:
            _rewrite_tree(member)


class PplinkDocstrings(griffe.Extension):
    """Rewrite every docstring of a package once it is loaded (the rewrite is idempotent)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:  # griffe >= 2
        _rewrite_tree(pkg)

    def on_package_loaded(self, *, pkg: griffe.Module, **kwargs: Any) -> None:  # griffe 1.x
        _rewrite_tree(pkg)
