"""Stages 6 and 7, the site: results documents → pages, charts and downloads, written atomically.

The front door is `render_site(results, out, ...)` (``render``), written into place by
`atomic_site` (``write``). Inside: ``pages`` builds each page's context, ``charts`` the
Plotly figures, ``tables`` the figures of the comparison table, ``verdicts`` the
plain-language sentences, ``fmt`` every number and date (Babel), ``i18n`` the message
catalogs, ``downloads`` results.json and results.csv, ``resources`` the packaged files.
"""

from punchcard.site.i18n import available_languages, has_site_text
from punchcard.site.render import render_site
from punchcard.site.write import atomic_site, check_replaceable, is_punchcard_site, locked, recover

__all__ = ["atomic_site", "available_languages", "check_replaceable", "has_site_text",
           "is_punchcard_site", "locked", "recover", "render_site"]
