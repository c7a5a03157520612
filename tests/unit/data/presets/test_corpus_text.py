"""corpus_text: the text keeps the music's words and loses the encoding's."""

from __future__ import annotations

import unicodedata

import pytest

from musicfusion.data.presets.corpus_text import clean_text

MASK = ["bwv", "chorale", "missa", "madrigal", "folk", "reel", "jig", "hornpipe", "set dance",
        "kyrie", "gloria", "agnus", "first section", "prima parte"]

# Raw texts as music21 assembles them from the corpus (title line, then lyrics).
MONTEVERDI_HYPHENS = "A- ni- ma mia, per- dv- na"
MONTEVERDI_DEBRIS = "Quel-- i'w- gei- lin che can- {a SI dol- --ce- men- te"
MONTEVERDI_TILDE = "ta- rna- dre de' fio- ri, d'er- be no- vei- le;_g di- no-~- vei-l[g- mo- zi"
MONTEVERDI_QUESTION = "CAN\nLv? mi, miei ea? ri iu? rni, che lam? peg? gia? te"
MONTEVERDI_U_ACUTE = "PRIMA PARTE\nEcú eo, Silú vio, eoú lei chejn oú dio tanú to"


def clean(text: str) -> str:
    return clean_text(text, MASK)


def test_umlauts_are_spelt_as_the_essen_encodings_spell_them():
    assert clean("Nun ruhen alle Wälder") == clean("Nun ruhen alle Waelder")
    assert clean("Nun ruhen alle Wälder") == "Nun ruhen alle Waelder"
    assert clean("Süße Grüße, GRÜN") == "Suesse Gruesse, GRUEN"
    assert clean("Übermuth, Ärger, Öl") == "Uebermuth, Aerger, Oel"


def test_other_diacritics_and_typographic_quotes_are_folded_to_ascii():
    assert clean("34 (125). A le’ s'andrà lo spirto") == "A le' s'andra lo spirto"
    assert clean("Donn'e donçelle «ballavan»") == 'Donn\'e doncelle "ballavan"'
    assert clean("Di novo è giunto").isascii()


def test_invalid_characters_are_dropped():
    assert clean("Kun\x81zi") == "Kunzi"
    assert clean("Hül\u00adfe\ufffd und\u200b Rettung\ue000") == "Huelfe und Rettung"
    # A tab or a no-break space still separates two words.
    assert clean("Hao\tba\u00a0lu") == "Hao ba lu"


def test_masked_words_leave_no_token_and_no_dangling_separator():
    for raw in ("Hopkin's -- Hornpipe", "Hopkin's - Hornpipe", "Hopkin's (Hornpipe)",
                "HOPKIN'S -- HORNPIPE."):
        out = clean(raw)
        assert out.lower().rstrip(".") == "hopkin's", raw
        assert "[...]" not in out and "-" not in out and "(" not in out
    assert clean("Di Novo È Giunt'Un Chavalier - Madrigal") == "Di Novo E Giunt'Un Chavalier"
    # A separator between two kept words stays, as one ordinary dash.
    assert clean("WALK AROUND. -- CHAW ROAST BEEF.") == "WALK AROUND. - CHAW ROAST BEEF."


def test_mask_deletes_whole_words_from_their_start_case_insensitively():
    assert clean("Sleeping on a Door-Step -- Jig") == "Sleeping on a Door-Step"
    assert clean("The Reels of Cashel") == "The of Cashel"
    assert clean("Jigsaw Hornpipes") == ""
    # Only a word's start: "Unfolk" is not masked by "folk".
    assert clean("Unfolk song") == "Unfolk song"


def test_multi_word_mask_entries():
    assert clean("The Kerry Set Dance") == "The Kerry"
    assert clean("The Kerry set \t dance, jig") == "The Kerry"  # any whitespace between the words
    assert clean("First Section") == ""
    assert clean("Set the dance") == "Set the dance"  # not the two words in a row


def test_mass_section_names_are_masked_with_their_number():
    assert clean("Agnus II") == ""
    assert clean("Missa Iste confessor\nAgnus I") == "Iste confessor"
    assert clean("Missa Benedicta es\nFirst Section") == "Benedicta es"
    assert "agnus" not in clean("Agnus Dei, qui tollis peccata mundi").lower()
    # The lower-case roman-looking word after a masked word is a word, not a section number.
    assert clean("Gloria in excelsis") == "in excelsis"


def test_only_masked_words_gives_an_empty_text():
    assert clean("Kyrie") == ""
    assert clean("Gloria\nFirst Section") == ""
    assert clean("Missa -- (Kyrie)") == ""
    assert clean("") == ""


def test_hyphenated_syllables_are_joined():
    assert clean(MONTEVERDI_HYPHENS) == "Anima mia, perdvna"
    out = clean(MONTEVERDI_DEBRIS)
    assert "dolcemente" in out and "geilin" in out
    out = clean(MONTEVERDI_TILDE)
    assert out.startswith("tarnadre de' fiori, d'erbe noveile")
    assert "dinoveilgmozi" in out
    assert not set(out) & set("-~_[{")


def test_question_mark_and_u_acute_read_for_a_hyphen_are_joined_too():
    assert clean(MONTEVERDI_QUESTION) == "Lvmi, miei eari iurni, che lampeggiate"
    # The OCR's "eo" for "co" stays: only the separators are debris this module knows.
    assert clean(MONTEVERDI_U_ACUTE) == "Eceo, Silvio, eolei chejn odio tanto"
    # A question mark before a capital ends a sentence, even in a line split by question marks.
    assert clean("ml? o? Ch'io non sia? la tua? vi? ta").startswith("mlo Ch'io")


def test_ordinary_punctuation_in_ordinary_lines_is_kept():
    chorale = ("Sollt' ich meinem Gott nicht singen? sollt' ich ihm nicht dankbar sein? "
               "Ist doch nichts, als lauter Lieben!")
    assert clean(chorale) == chorale
    ballad = "Der Maedchenmoerder (Halewijn - Ulinger)"
    assert clean(ballad) == ballad
    assert clean("Evergreen Lasses; a Door-Step: Will You Come In?") == \
        "Evergreen Lasses; a Door-Step: Will You Come In?"


def test_voice_part_label_lines_are_dropped():
    for label in ("CANTO", "CAN", "Cant.", "alto", "TENORE", "Quinto", "BASSO", "SESTO",
                  "Cantus", "Tenor", "BASSUS", "Altus", "Superius"):
        assert clean(f"{label}\nLa giovinetta pianta") == "La giovinetta pianta", label
    # A label word inside a line is a word.
    assert clean("Alto Adige") == "Alto Adige"


def test_editorial_numbering_digits_and_noise_lines_are_dropped():
    assert clean("34 (125). A le' s'andrà lo spirto") == "A le' s'andra lo spirto"
    assert clean("12. Lugentum siccentur") == "Lugentum siccentur"
    assert clean("8. FERIR QUEL PETTO, SILVIO?") == "FERIR QUEL PETTO, SILVIO?"
    assert clean("Fengyang huagu (2)") == "Fengyang huagu"
    assert clean("Osterlied des 15. Jahrhunderts") == "Osterlied des Jahrhunderts"
    assert clean("Missa De Beata Marie Virginis (II)") == "De Beata Marie Virginis"
    assert clean("[D]icant nunc") == "Dicant nunc"
    assert clean("\\J.D. 'JUa..J..UU\nVoi pur da me") == "Voi pur da me"


def test_whitespace_is_collapsed_and_empty_lines_dropped():
    assert clean("  Hao ba lu        , Die 8. Armee)  \n\n  \nZhi  shoujin ") == \
        "Hao ba lu, Die Armee\nZhi shoujin"
    assert clean('"Nonnenlied. "') == "Nonnenlied."


@pytest.mark.parametrize("raw", [
    "Nun ruhen alle Wälder, Vieh, Menschen, Städt' und Felder",
    "Hopkin's -- Hornpipe",
    "Missa Qual e il piu grande'amore\nAgnus II",
    MONTEVERDI_HYPHENS, MONTEVERDI_DEBRIS, MONTEVERDI_TILDE,
    MONTEVERDI_QUESTION, MONTEVERDI_U_ACUTE,
    "34 (125). A le' s'andrà lo spirto",
    "Kun\x81zi",
    "Ohi- -m?z- ohi-- rne, se tan-toy- ma,~te- di sen-tir- dir ohi- mè, ohi- m`e",
    "di no--vel-- ![g-mo- ri, d'er- be ao-vei- Ie, d'er- be ao- vel- le;.-g",
    "Hopkin's -- [...]",
])
def test_idempotent(raw):
    once = clean(raw)
    assert clean(once) == once


def test_output_has_no_invalid_or_non_ascii_characters():
    raw = "Grüß\x07 Gott\u200e «Šťastný» — Ærø\ue000 ½²"
    out = clean(raw)
    assert out == 'Gruess Gott "Stastny" - AEro'
    assert out.isascii()
    assert all(ch == "\n" or unicodedata.category(ch)[0] != "C" for ch in out)
