"""Notebook display: HTML renderings, live run panels and the review widget.

>>> import migkit.notebook
>>> callable(migkit.notebook.review)
True
"""

from __future__ import annotations

from migkit.notebook.review import Review, review

__all__ = ["Review", "review"]
