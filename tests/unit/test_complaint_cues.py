"""Spanish complaint cues: the wording of a complaint lifts the model's score; praise does not."""

from __future__ import annotations

import pytest

from classifiers.complaint_cues import combine, cue_score


@pytest.mark.parametrize(
    "text",
    [
        "Llevo tres días sin fibra y nadie me contesta",
        "Me han cobrado dos veces la factura de marzo",
        "Voy a poner una hoja de reclamaciones, es una vergüenza",
        "No me funciona el móvil desde el lunes",
        "Me doy de baja mañana mismo, estoy harta",
    ],
)
def test_spanish_complaints_are_recognised_by_their_wording(text):
    assert cue_score(text, "es") >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Gracias Orbita, la instalación fue rapidísima",
        "¿El plan de fibra incluye el router?",
        "Hoy Orbita patrocina la media maratón",
    ],
)
def test_praise_questions_and_news_carry_no_cue(text):
    assert cue_score(text, "es") == 0.0


def test_cues_only_raise_the_model_and_english_keeps_the_model_alone():
    assert combine(0.3, 0.0) == pytest.approx(0.3)
    assert combine(0.3, 0.7) == pytest.approx(0.79)
    assert cue_score("It's not working and nobody answers", "en") == 0.0
