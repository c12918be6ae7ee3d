"""Transcript statistics: `compute_stats` and its response shape (docs/metrics.md).

`schema.py` holds the response models, `sql.py` the statements, `report.py` the assembly.
"""

from db.stats.report import compute_stats
from db.stats.schema import Stats

__all__ = ["Stats", "compute_stats"]
