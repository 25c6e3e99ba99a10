"""Reconciliation: prove what landed. Source vs export, or one export vs a later one.

The package re-exports; the work lives in modules named for what they hold:

- ``compare``: the entry points :func:`reconcile` and :func:`diff_exports`;
- ``labels``: which columns two frames share, and the key (columns or the index);
- ``canonical``: every cell as canonical text, and the kind of each column;
- ``normalize`` / ``steps``: the :class:`Normalize` options, and the steps (trim, case,
  booleans, dates, tolerances) one column goes through;
- ``sides`` / ``pairing`` / ``cells``: a frame prepared, rows paired, cells compared;
- ``comparison``: the frozen state of one comparison, with the methods that build its tables;
- ``reasons``: why a row is missing or a cell changed, from evidence, in a fixed precedence;
- ``preview_sides`` / ``agent``: a Generation-2 preview as one side, and the evidence its
  thread gives (columns mapped, value fixes, dropped rows, with the instruction and run);
- ``report``: :class:`ReconcileReport`.

>>> import migkit, pandas as pd
>>> source = pd.DataFrame({"Email": ["a@x.io", "b@x.io", "c@x.io"],
...                        "Status": ["Open", "open ", "Closed"]})
>>> export = pd.DataFrame({"Email": ["a@x.io", "b@x.io"], "Status": ["Open", "Open"]})
>>> report = migkit.reconcile(source, export, key="Email", normalize=["trim", "case"])
>>> report.matched, report.missing["reason"].tolist(), len(report.changed), len(report.hidden)
(2, ['unknown'], 0, 1)
"""

from migkit.reconcile.compare import diff_exports, reconcile
from migkit.reconcile.normalize import Normalize
from migkit.reconcile.report import ReconcileReport

__all__ = ["Normalize", "ReconcileReport", "diff_exports", "reconcile"]
