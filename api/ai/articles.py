"""Help articles and their passages, and how an article file in `kb/` is read.

Plain data, kept apart from the search so the tools that write or list articles need not
build an index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable

_TAGS_PREFIX = "tags:"
_PARAGRAPH_RE = re.compile(r"\n\s*\n")
_ASKS_RE = re.compile(r"^\s*<!--\s*asks:(?P<asks>.*?)-->\s*$", re.IGNORECASE)
"""`<!-- asks: where is my order; has my order shipped -->` on the line above a paragraph: the
questions that paragraph answers, in a customer's words. A comment, so a rendered article
never shows it; searched, never sent."""


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    tags: tuple[str, ...]
    body: str
    asks: tuple[tuple[str, ...], ...] = ()
    """Per paragraph (same order as `paragraphs()`), the questions it answers; may be
    shorter than the paragraphs, or empty."""

    def paragraphs(self) -> list[str]:
        """The body's blank-line separated paragraphs: the passages of this article."""
        return [p.strip() for p in _PARAGRAPH_RE.split(self.body) if p.strip()]

    def asks_of(self, index: int) -> tuple[str, ...]:
        return self.asks[index] if index < len(self.asks) else ()


@dataclass(frozen=True, slots=True)
class Passage:
    article: Article
    index: int
    """0-based position in the article."""
    text: str

    @property
    def id(self) -> str:
        """`slug#n` with n 1-based: stable as long as the article's paragraphs are."""
        return f"{self.article.slug}#{self.index + 1}"


def parse_article(slug: str, text: str) -> Article:
    """`# Title`, an optional `tags:` line, then the body."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError(f"kb article {slug!r} must start with a '# Title' line")
    title = lines[0][2:].strip()
    rest = lines[1:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    tags: tuple[str, ...] = ()
    if rest and rest[0].lower().startswith(_TAGS_PREFIX):
        raw = rest[0][len(_TAGS_PREFIX) :].split(",")
        tags = tuple(t.strip() for t in raw if t.strip())
        rest = rest[1:]
    paragraphs: list[str] = []
    asks: list[tuple[str, ...]] = []
    for block in _PARAGRAPH_RE.split("\n".join(rest)):
        text_lines: list[str] = []
        block_asks: list[str] = []
        for line in block.splitlines():
            match = _ASKS_RE.match(line)
            if match:
                block_asks.extend(a.strip() for a in match["asks"].split(";") if a.strip())
            else:
                text_lines.append(line)
        text = "\n".join(text_lines).strip()
        if text:
            paragraphs.append(text)
            asks.append(tuple(block_asks))
    if not any(asks):
        asks = []
    return Article(
        slug=slug, title=title, tags=tags, body="\n\n".join(paragraphs), asks=tuple(asks)
    )


def article_files(root: Traversable) -> list[Traversable]:
    return sorted((f for f in root.iterdir() if f.name.endswith(".md")), key=lambda f: f.name)
