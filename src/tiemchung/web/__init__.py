"""tiemchung.web: the server-rendered pages (Jinja2 + htmx) for every role.

:func:`tiemchung.web.site.install` adds them at ``/`` to the app the server assembles
(:mod:`tiemchung.server`) next to the API: the pages call the same services with the same
:class:`~tiemchung.registry.scope.Actor` as the API routes, in the same process, over the same
writer. Static assets (htmx, the stylesheet, the desk's script) are served by the app itself
from ``web/static``: sites may be offline from the internet, so nothing comes from a CDN.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
