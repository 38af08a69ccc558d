"""Language id: the product's two first languages, the other supported ones, and "und"."""

from __future__ import annotations

import pytest

from classifiers.language import SUPPORTED, detect, detect_many


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@Orbita llevo desde ayer sin fibra en casa, ¿me decís algo?", "es"),
        ("@Orbita my internet has been dropping every 20 minutes since Monday", "en"),
        ("A minha internet não funciona desde ontem, que vergonha", "pt"),
        ("Mon internet ne marche plus depuis hier, c'est inadmissible", "fr"),
        ("Mein Internet funktioniert seit gestern nicht mehr, unglaublich", "de"),
    ],
)
def test_detects_the_language_of_a_mention(text: str, expected: str) -> None:
    assert detect(text) == expected


@pytest.mark.parametrize("text", ["", "ok", "@Orbita https://t.co/abc 123", "🔥🔥🔥"])
def test_too_short_or_empty_text_is_undetermined(text: str) -> None:
    assert detect(text) == "und"


def test_batch_keeps_order_and_only_returns_supported_codes() -> None:
    texts = ["Hola, ¿qué tal estáis todos?", "lol", "Good morning everyone, lovely day"]
    result = detect_many(texts)
    assert result == ["es", "und", "en"]
    assert set(result) <= {*SUPPORTED, "und"}
