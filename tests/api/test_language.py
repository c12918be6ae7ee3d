"""api.language.detect_language on clear sentences, and its English fallback."""

from __future__ import annotations

import pytest

from api.language import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is my order? It was supposed to arrive on Monday.", "en"),
        ("¿Dónde está mi pedido? Tenía que llegar el lunes.", "es"),
        ("Où est ma commande ? Elle devait arriver lundi.", "fr"),
        ("Wo ist meine Bestellung? Sie sollte am Montag ankommen.", "de"),
        ("Dov'è il mio ordine? Doveva arrivare lunedì.", "it"),
        ("Onde está o meu pedido? Era para chegar na segunda-feira.", "pt"),
        ("Waar is mijn bestelling? Die zou maandag aankomen.", "nl"),
        ("Gdzie jest moje zamówienie? Miało przyjść w poniedziałek.", "pl"),
    ],
)
def test_clear_sentences(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "ok", "hi", "agent", "🙂", "12345 67890"])
def test_short_or_ambiguous_text_is_english(text: str) -> None:
    assert detect_language(text) == "en"


def test_the_model_is_told_the_language_of_a_non_english_message() -> None:
    from api.ai.base import Turn
    from api.ai.prompt import build_messages

    spanish = build_messages([Turn("user", "Ana", "¿Dónde está mi pedido? No ha llegado.")], [])
    english = build_messages([Turn("user", "Ana", "Where is my order? It has not arrived.")], [])
    assert "latest message is in Spanish" in spanish[0]["content"]
    assert "latest message is in" not in english[0]["content"]
