"""migkit: validate, import, watch, export and reconcile spreadsheets via the Vern Migration API.

The client never imports :mod:`migkit.sandbox`; start the local emulator explicitly::

    import migkit.sandbox
    with migkit.sandbox.start(step_seconds=0.1) as sb:
        print(sb.base_url)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
