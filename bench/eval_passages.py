"""Does the offline assistant's reply lead with the passage that answers the question?

Reads the labelled sets in bench/data/ (tuning, and the two frozen held-out sets that are never
tuned on), asks the offline assistant each question as a fresh chat, and judges the reply as a user
sees it: the first help-article passage in the reply text must be one of the labelled ones, and
an off-topic question (label NOT_SURE) must get the "not sure" reply.

    .venv/bin/python bench/eval_passages.py [--misses] [--sets tuning] [--typos SEED]

`--typos SEED` puts one typo (`bench/typos.py`: two letters swapped, one dropped, doubled or
replaced, in one word of four letters or more) into every question before asking it.

A passage id is `slug#n`: the n-th paragraph (1-based, blank-line separated) of kb/slug.md.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.ai.base import ReplyRequest, Turn  # noqa: E402
from api.ai.offline import OfflineAssistant, is_not_sure  # noqa: E402
from api.ai.retrieval import KnowledgeBase  # noqa: E402
from bench.typos import inject_typo  # noqa: E402

DATA = ROOT / "bench" / "data"
SETS = {
    "tuning": DATA / "passages_tuning.tsv",
    "heldout": DATA / "passages_heldout.tsv",
    "fresh": DATA / "passages_fresh.tsv",
    "fresh2": DATA / "passages_fresh2.tsv",
}
"""`fresh` is a second held-out set, written in session 5 before that session's tuning; `fresh2` a
third, written on 2026-12-01 before that day's tuning by a helper who did not tune."""
NOT_SURE = "NOT_SURE"
TARGET_TOP1 = 0.90


@dataclass(frozen=True, slots=True)
class Row:
    set: str
    question: str
    expected: tuple[str, ...]
    """Passage ids that count as right, or ("NOT_SURE",)."""
    got: str
    """The first passage id in the reply, NOT_SURE, or "" (a reply with no passage)."""

    @property
    def off_topic(self) -> bool:
        return self.expected == (NOT_SURE,)

    @property
    def ok(self) -> bool:
        return self.got in self.expected


def load_set(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    rows = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("question\t"):
            continue
        question, labels = line.split("\t")
        rows.append((question, tuple(labels.split("|"))))
    return rows


def passage_texts(kb: KnowledgeBase) -> dict[str, str]:
    """Passage id → its text with whitespace collapsed."""
    texts = {}
    for article in kb.articles:
        paragraphs = [p for p in re.split(r"\n\s*\n", article.body) if p.strip()]
        for n, paragraph in enumerate(paragraphs, 1):
            texts[f"{article.slug}#{n}"] = " ".join(paragraph.split())
    return texts


def first_passage(reply: str, texts: dict[str, str]) -> str:
    if is_not_sure(reply):
        return NOT_SURE
    flat = " ".join(reply.split())
    found = [(flat.find(text), pid) for pid, text in texts.items() if text in flat]
    return min(found)[1] if found else ""


async def _reply_text(assistant: OfflineAssistant, question: str) -> str:
    request = ReplyRequest("eval", [Turn("user", "User", question)])
    return "".join([c async for c in assistant.reply(request) if isinstance(c, str)])


async def _evaluate(names: Iterable[str], typo_seed: int | None) -> list[Row]:
    assistant = OfflineAssistant()
    texts = passage_texts(assistant.kb)
    rows = []
    for name in names:
        for question, expected in load_set(SETS[name]):
            if typo_seed is not None:
                question = inject_typo(question, seed=typo_seed)
            reply = await _reply_text(assistant, question)
            rows.append(Row(name, question, expected, first_passage(reply, texts)))
    return rows


def evaluate(
    names: Sequence[str] = ("tuning", "heldout", "fresh"), *, typo_seed: int | None = None
) -> list[Row]:
    """One row per labelled question; callable from other benchmarks and tests."""
    return asyncio.run(_evaluate(names, typo_seed))


def summary(rows: Sequence[Row]) -> dict[str, dict[str, float]]:
    out = {}
    for name in dict.fromkeys(r.set for r in rows):
        helped = [r for r in rows if r.set == name and not r.off_topic]
        off = [r for r in rows if r.set == name and r.off_topic]
        out[name] = {
            "questions": len(helped),
            "top1": sum(r.ok for r in helped),
            "top1_rate": sum(r.ok for r in helped) / len(helped) if helped else 0.0,
            "unsure_on_answerable": sum(r.got == NOT_SURE for r in helped),
            "abstain_rate": (
                sum(r.got == NOT_SURE for r in helped) / len(helped) if helped else 0.0
            ),
            "wrong": sum(not r.ok and r.got != NOT_SURE for r in helped),
            "wrong_rate": (
                sum(not r.ok and r.got != NOT_SURE for r in helped) / len(helped) if helped else 0.0
            ),
            "off_topic": len(off),
            "not_sure": sum(r.ok for r in off),
            "not_sure_rate": sum(r.ok for r in off) / len(off) if off else 0.0,
        }
    return out


TABLE_HEAD = (
    "| passages | top-1 | abstained (not sure + a person) | wrong passage | off-topic → not sure |"
    "\n|---|---:|---:|---:|---:|"
)


def table_row(name: str, s: dict[str, float]) -> str:
    return (
        f"| {name} | {s['top1']:.0f}/{s['questions']:.0f} ({s['top1_rate']:.1%}) "
        f"| {s['unsure_on_answerable']:.0f} ({s['abstain_rate']:.1%}) "
        f"| {s['wrong']:.0f} ({s['wrong_rate']:.1%}) "
        f"| {s['not_sure']:.0f}/{s['off_topic']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list the wrong replies too")
    parser.add_argument(
        "--sets",
        default=",".join(SETS),
        help="comma-separated sets to ask (default: all), e.g. --sets tuning",
    )
    parser.add_argument("--typos", type=int, metavar="SEED", help="one typo per question")
    args = parser.parse_args()
    names = [n for n in args.sets.split(",") if n]
    unknown = set(names) - set(SETS)
    if unknown:
        parser.error(f"unknown sets: {', '.join(sorted(unknown))}")
    rows = evaluate(names, typo_seed=args.typos)
    print(TABLE_HEAD)
    for name, s in summary(rows).items():
        print(table_row(name, s))
    if args.misses:
        # Held-out misses are never listed: reading them would be tuning on them.
        for r in rows:
            if not r.ok and r.set == "tuning":
                print(f"{r.set}\t{r.question}\twant {'|'.join(r.expected)}\tgot {r.got or '-'}")


if __name__ == "__main__":
    main()
