"""migkit's frame operations on an engine: DuckDB past memory, Spark past one machine.

:func:`migkit.reconcile`, :func:`migkit.diff_exports` and :func:`migkit.validate_file`
take ``engine=``: ``"auto"`` (the default: in memory for frames that fit, DuckDB for paths,
Arrow datasets and frames past :data:`AUTO_ROWS` rows), ``"pandas"`` (in memory),
``"duckdb"``, a :class:`DuckDB` with its own memory cap, or a Spark session. See
``docs/scale.md``. Nothing here is imported by ``import migkit``: the engines load on first
use.

>>> import migkit.scale
>>> migkit.scale.AUTO_ROWS
2000000
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

AUTO_ROWS = 2_000_000  # rows of a side past which engine="auto" moves a frame to DuckDB

if TYPE_CHECKING:
    from migkit.scale.engines import DuckDB, Engine, Spark
    from migkit.scale.staging import Ordered
    from migkit.scale.tables import LazyTable

__all__ = ["AUTO_ROWS", "DuckDB", "Engine", "LazyTable", "Ordered", "Spark"]


def __getattr__(name: str) -> Any:
    if name in ("DuckDB", "Engine", "Spark"):
        from migkit.scale import engines

        return getattr(engines, name)
    if name == "Ordered":
        from migkit.scale.staging import Ordered

        return Ordered
    if name == "LazyTable":
        from migkit.scale.tables import LazyTable

        return LazyTable
    raise AttributeError(f"module 'migkit.scale' has no attribute {name!r}")
