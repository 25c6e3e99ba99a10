"""Notebook display: HTML renderings, live run panels, the review widget, and Generation 2's
preview widget, thread panel and credentials form.

>>> import migkit.notebook
>>> callable(migkit.notebook.review) and callable(migkit.notebook.preview_widget)
True
"""

from __future__ import annotations

from migkit.notebook.agent_review import AgentReview
from migkit.notebook.credentials import CredentialsForm, credentials_form
from migkit.notebook.preview_widget import PreviewWidget, preview_widget
from migkit.notebook.review import Review, review
from migkit.notebook.thread_panel import ThreadPanel, thread_panel

__all__ = [
    "AgentReview",
    "CredentialsForm",
    "PreviewWidget",
    "Review",
    "ThreadPanel",
    "credentials_form",
    "preview_widget",
    "review",
    "thread_panel",
]
