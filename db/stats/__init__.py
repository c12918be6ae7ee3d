"""Transcript statistics: `compute_stats` (from the rollups) and its response shape.

`schema.py` holds the response models; `rollup.py` reads `stats_rollups` (what GET /api/stats
serves); `sql.py` and `report.py` compute the same figures exactly from the rooms and events
(`compute_exact_stats`: the reference, and what the rollups are tested against).
"""

from db.stats.report import compute_exact_stats
from db.stats.rollup import compute_stats
from db.stats.schema import Stats

__all__ = ["Stats", "compute_exact_stats", "compute_stats"]
