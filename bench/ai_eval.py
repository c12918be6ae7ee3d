"""The assistant's evaluation in one table: handoff and withdrawal detection per language, and
the passage each help answer leads with, on the frozen held-out sets (and the tuning sets).

    .venv/bin/python bench/ai_eval.py

The parts run on their own too, with their misses on the tuning sets:
`bench/eval_handoff.py --misses`, `bench/eval_passages.py --misses`.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import eval_handoff, eval_passages  # noqa: E402

HANDOFF_TARGET = (0.97, 0.93)
WITHDRAW_PRECISION = 0.98
PASSAGE_TARGET = 0.90


def main() -> None:
    print("| detector | set | language | precision | recall | requests | negatives |")
    print("|---|---|---|---:|---:|---:|---:|")
    met = True
    for row in eval_handoff.evaluate():
        print(
            f"| {row.detector} | {row.split} | {row.lang} | {row.precision:.2f} "
            f"| {row.recall:.2f} | {row.positives} | {row.negatives} |"
        )
        if row.split == "heldout" and row.detector == "handoff" and row.lang != "all":
            met &= row.precision >= HANDOFF_TARGET[0] and row.recall >= HANDOFF_TARGET[1]
        if row.split == "heldout" and row.detector == "withdraw" and row.lang == "all":
            met &= row.precision >= WITHDRAW_PRECISION
    print()
    print(eval_passages.TABLE_HEAD)
    for name, s in eval_passages.summary(eval_passages.evaluate()).items():
        print(eval_passages.table_row(name, s))
        if name == "heldout":
            met &= s["top1_rate"] >= PASSAGE_TARGET
    print(
        f"\nheld-out targets (handoff P>={HANDOFF_TARGET[0]} R>={HANDOFF_TARGET[1]} per "
        f"language, withdraw P>={WITHDRAW_PRECISION}, top-1 passage >={PASSAGE_TARGET:.0%}): "
        f"{'all met' if met else 'NOT all met'}"
    )


if __name__ == "__main__":
    main()
