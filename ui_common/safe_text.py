"""Markdown that fetches nothing and links only to http(s), for both Streamlit apps.

A person's text is escaped whole. The assistant's is Markdown on purpose, but a model can be
talked into writing `![](http://evil.example/t.png)` (the browser would fetch it: a read
receipt, an IP leak), raw HTML or a `javascript:` link. So in its text images become their
alt text, HTML is escaped, and only http(s) links stay links.

Escaping alone does not stop Streamlit from autolinking bare URLs and email addresses: it
finds them in the text after the escapes are resolved. An invisible word joiner after `://`,
between `www` and `.`, and after `@` breaks those patterns without changing what people read.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Markdown (and Streamlit's $...$ LaTeX) characters a person's text must not trigger:
# a customer must not be able to render links, images or math in the agent's browser.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
# What the assistant's Markdown keeps (emphasis, lists, headings, code) minus what could
# fetch or link: `!` and brackets (images, links), `<` (HTML, <autolinks>), `$` (LaTeX), and
# `\` so that no escape can be undone by a backslash in front. Escaping each of them on its
# own also keeps streamed pieces safe when concatenated: "!" + "[a](http://x)" is no image.
_AI_SPECIAL = re.compile(r"([\\\[\]<$!])")
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(://|@)|(?<=www)(?=\.)", re.IGNORECASE)
# [label](url "title") and ![alt](url): one level of parentheses in the url, no nesting.
_LINK = re.compile(
    r"(?P<image>!?)\[(?P<label>[^\[\]\n]*)\]"
    r"\(\s*<?(?P<url>[^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*)>?"
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)"
)


def no_autolinks(text: str) -> str:
    """Bare URLs and email addresses stay text: a word joiner breaks the autolink patterns."""
    return _AUTOLINK.sub(lambda m: (m.group(1) or "") + WORD_JOINER, text)


def escape_markdown(text: str) -> str:
    """A person's text, shown exactly as typed: no Markdown, links or LaTeX."""
    return _MD_SPECIAL.sub(r"\\\1", no_autolinks(text))


def _ai_text(text: str) -> str:
    return _AI_SPECIAL.sub(r"\\\1", no_autolinks(text))


def _is_web(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def ai_markdown(text: str) -> str:
    """The assistant's Markdown without images, HTML, LaTeX or links other than http(s)."""
    out: list[str] = []
    end = 0
    for match in _LINK.finditer(text):
        out.append(_ai_text(text[end : match.start()]))
        end = match.end()
        label, url = match["label"], match["url"]
        if match["image"]:
            out.append(escape_markdown(label.strip() or url))
        elif _is_web(url):
            out.append(f"[{_ai_text(label)}]({url})")
        else:
            out.append(_ai_text(label))
    out.append(_ai_text(text[end:]))
    return "".join(out)
