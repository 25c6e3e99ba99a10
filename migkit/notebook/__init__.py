"""Notebook display: HTML renderings and widgets, fed by plain report objects."""
