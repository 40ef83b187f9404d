"""Stages 6 and 7, the site: results documents → pages, charts and downloads, written atomically.

The front door is `render_site(results, out, ...)` (``render``), written into place by
`atomic_site` (``write``). Inside: ``pages`` builds each page's context, ``charts`` the
Plotly figures, ``tables`` the figures of the comparison table, ``verdicts`` the
plain-language sentences, ``fmt`` every number and date (Babel), ``i18n`` the message
catalogs, ``downloads`` results.json and results.csv, ``resources`` the packaged files.

The writing side (``write``: the lock, recovery, the atomic swap) is imported with the
package; the rendering side (``render`` with Plotly, Babel and the results' tables, half a
second of imports) only when first asked for, so that a build starts reading its sales at
once and imports it beside the read (``build._import_later_stages``).
"""

from typing import Any

from punchcard.site.write import atomic_site, check_replaceable, is_punchcard_site, locked, recover

__all__ = ["atomic_site", "available_languages", "check_replaceable", "has_site_text",
           "is_punchcard_site", "locked", "recover", "render_site"]

_LAZY = {"render_site": "punchcard.site.render", "available_languages": "punchcard.site.i18n",
         "has_site_text": "punchcard.site.i18n"}


def __getattr__(name: str) -> Any:
    """Return a rendering name, importing its module on first use (PEP 562)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'punchcard.site' has no attribute {name!r}")
