"""What the apps hand to st.markdown: nothing that fetches, runs or links outside http(s)."""

from __future__ import annotations

import re

import pytest

from ui_common.safe_text import WORD_JOINER, ai_markdown, escape_markdown

# What would become an image, a link, raw HTML or math if left unescaped.
UNESCAPED_IMAGE = re.compile(r"(?<!\\)!(?<!\\)\[")
UNESCAPED_TAG = re.compile(r"(?<!\\)<")


def test_an_ai_image_becomes_its_alt_text_or_its_url() -> None:
    shown = ai_markdown("Here: ![tracking pixel](http://evil.example/t.png) ok")
    assert "evil.example" not in shown and "tracking pixel" in shown
    bare = ai_markdown("![](http://evil.example/t.png)")
    assert "](" not in bare and "evil" in bare and not UNESCAPED_IMAGE.search(bare)
    assert "http://" not in bare  # the URL as text does not even autolink


def test_ai_html_is_escaped() -> None:
    shown = ai_markdown('<img src="http://evil.example/t.png"> and <script>x()</script>')
    assert not UNESCAPED_TAG.search(shown)
    assert shown.startswith(r"\<img")


@pytest.mark.parametrize(
    "link",
    [
        "[click](javascript:alert(1))",
        "[click](JavaScript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](/relative/path)",
        "[click](mailto:a@example.com)",
        "[click][ref]\n\n[ref]: javascript:alert(1)",
        "<javascript:alert(1)>",
    ],
)
def test_only_http_links_stay_links(link: str) -> None:
    shown = ai_markdown(f"Please {link} now")
    assert "](" not in shown.replace(r"\](", "")  # no live [label](url)
    assert not re.search(r"(?<!\\)\[", shown) and not UNESCAPED_TAG.search(shown)
    assert "click" in shown or "javascript" in shown


def test_http_links_and_plain_markdown_survive() -> None:
    shown = ai_markdown("**Bold**, _it_, a [guide](https://example.com/help_(faq)) and\n- a list")
    assert "[guide](https://example.com/help_(faq))" in shown
    assert shown.startswith("**Bold**, _it_,") and "\n- a list" in shown


def test_latex_and_backslashes_stay_neutral() -> None:
    assert ai_markdown("It costs $5 to $10") == r"It costs \$5 to \$10"
    # A backslash cannot undo an escape: \![x](http://e/i.png) is no image either way.
    assert not UNESCAPED_IMAGE.search(ai_markdown(r"\![x](http://e/i.png)"))
    assert "e/i.png" not in ai_markdown(r"\![x](http://e/i.png)")


def test_streamed_pieces_stay_safe_when_joined() -> None:
    pieces = [
        "look ",
        "!",
        "[a](http://evil.example/t.png)",
        " ![b",
        "](http://evil.example/u.png)",
    ]
    joined = "".join(ai_markdown(p) for p in pieces)
    assert not UNESCAPED_IMAGE.search(joined)


def test_ai_email_addresses_do_not_become_mailto_links() -> None:
    assert f"@{WORD_JOINER}example.com" in ai_markdown("Write to help@example.com")


def test_a_persons_text_is_text_and_urls_do_not_autolink() -> None:
    shown = escape_markdown("see http://evil.example/x, www.evil.example and a@b.co ![i](x)")
    assert "://" + WORD_JOINER in shown.replace("\\", "")
    assert "www" + WORD_JOINER in shown and "@" + WORD_JOINER in shown
    assert not UNESCAPED_IMAGE.search(shown) and r"\(x\)" in shown
    assert escape_markdown("<b>$1</b>") == r"\<b\>\$1\</b\>"
