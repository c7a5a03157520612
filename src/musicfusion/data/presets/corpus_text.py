"""Clean a work's title and lyrics so that the text carries the music's words, not its encoding.

Each collection of the corpus was encoded by other people with other conventions, and left as
they are those conventions tell the class better than the words do:

- spelling: the Bach chorales write ä/ö/ü/ß, the Essen folk songs "ae"/"oe"/"ue"; Italian
  editions write accents that other collections do not. Everything is folded to one spelling
  (German umlauts spelt out, other diacritics dropped, typographic quotes made ASCII);
- invalid characters: stray control bytes (a "\\x81" in a Chinese title), format and private-use
  characters;
- masked words: a placeholder token left where a word naming the class was removed is itself a
  label, so masked words are deleted outright, with the separators they leave dangling;
- OCR debris of the Monteverdi and trecento editions: syllables split by "-" (or by "?" or "ú"
  where the OCR read the hyphen as one of those), stray symbols, digits and editorial numbering,
  lines holding only a voice-part label ("CANTO"), lines of OCR noise.

:func:`clean_text` is pure and deterministic, and idempotent on what it returns.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_text"]

# Unicode categories that are never text: controls, format, private use, unassigned, surrogates.
_INVALID_CATEGORIES = {"Cc", "Cf", "Co", "Cn", "Cs"}

# Spelt out rather than stripped, because the Essen encodings already write them this way.
_GERMAN = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss",
           "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ẞ": "SS"}

# Letters NFKD does not decompose, and punctuation with an ASCII equivalent.
_ASCII_FOLD = str.maketrans({
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "ʼ": "'", "´": "'", "‹": "'", "›": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "…": "...",
})

# Symbols that are never words here: OCR misreads ("can{a", "vei-l[g") and editorial brackets
# ("[D]icant"), deleted in place; a slash separates words, so it becomes a space.
_STRAY_SYMBOLS = re.compile(r"[{}\[\]~_|*#\\`$&@^<>=+%]")

# Lines that only name the voice part the lyrics were taken from.
_VOICE_LABELS = {
    "canto", "can", "cant", "alto", "altus", "tenore", "tenor", "quinto", "quintus", "basso",
    "bassus", "sesto", "sextus", "cantus", "superius", "soprano", "contratenor", "triplum",
    "motetus",
}

# Syllable separators: the hyphen, and what the OCR of some Monteverdi books read it as.
_SEPARATORS = ("-", "?", "ú")
# A separator is taken as syllable-splitting in a line where at least this many of them end a
# syllable (a letter before, a lower-case letter after) and they are this dense among words:
# a chorale line with two question marks is not split, a madrigal line with forty is.
_MIN_BREAKS = 3
_MIN_BREAKS_PER_WORD = 0.15

_LETTER = r"[^\W\d_]"
_LOWER = r"(?=[^\W\d_])(?![A-ZÀ-ÖØ-Þ])"  # a letter that is not an upper-case Latin one
# A word: letters, possibly with inner apostrophes or hyphens ("O'Neill"), in punctuation.
_WORD = re.compile(rf"^[(\"']*{_LETTER}+(?:['-]{_LETTER}+)*'?[)\"'.,;:!?]*$")


def _drop_invalid(text: str) -> str:
    """Unify line breaks and spaces, then drop characters that are not text."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub("\r\n?|[\u2028\u2029]", "\n", text)
    kept = []
    for ch in text:
        if ch == "\n":
            kept.append(ch)
        elif ch.isspace():
            kept.append(" ")  # a tab or no-break space still separates words
        elif unicodedata.category(ch) not in _INVALID_CATEGORIES and ch != "\ufffd":
            kept.append(ch)
    return "".join(kept)


def _spell_out_german(text: str) -> str:
    """ä -> ae etc., upper-case throughout inside an all-caps word ("GRÜN" -> "GRUEN")."""
    def replace(match: re.Match) -> str:
        out = _GERMAN[match.group(0)]
        following = text[match.end():match.end() + 1]
        return out.upper() if out[0].isupper() and following.isupper() else out
    return re.sub("[äöüßÄÖÜẞ]", replace, text)


def _strip_diacritics(text: str) -> str:
    """Drop accents (NFKD without combining marks) and fold the rest to ASCII where it can."""
    text = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    # Non-ASCII symbols left over (e.g. a lone "¨") carry no word.
    return "".join(ch for ch in text if ch.isascii() or unicodedata.category(ch)[0] != "S")


def _syllable_separator(line: str) -> str | None:
    """The character this line uses to split words into syllables, if it clearly uses one."""
    n_words = len(line.split())
    for sep in _SEPARATORS:
        breaks = len(re.findall(rf"{_LETTER}{re.escape(sep)}+[\s\-]*[a-z]", line))
        if breaks >= _MIN_BREAKS and breaks >= _MIN_BREAKS_PER_WORD * n_words:
            return sep
    return None


def _join_syllables(line: str) -> str:
    """Rejoin "a- ni- ma" as "anima" in a line split into syllables; other lines are kept."""
    sep = _syllable_separator(line)
    if sep is None:
        return line
    line = line.replace(sep, "-")
    # A hyphen ending a syllable, with any debris up to the next syllable, is inside one word;
    # before a capital it was a separator read as punctuation ("mi? o? Ch'io").
    line = re.sub(rf"(?<={_LETTER})-[\s\-]*{_LOWER}", "", line)
    # Hyphens left next to punctuation or at the line's ends are debris.
    return re.sub(r"-+", " ", line)


def _strip_debris(line: str) -> str:
    """Remove digits and stray symbols.

    Editorial numbering ("34 (125). A le'") goes with its digits; :func:`_tidy` then removes the
    brackets and full stop left empty.
    """
    line = re.sub(r"\[\s*\.\.\.\s*\]", " ", line)  # the former mask token
    line = re.sub(r"\(\s*[IVX]+\s*\)", " ", line)  # "Missa De Beata Marie Virginis (II)"
    line = re.sub(r"\b\d+\.(?=\s)", " ", line)  # ordinals: "Die 8. Armee"
    line = re.sub(r"\d+", "", line)
    line = "".join(ch for ch in line if unicodedata.category(ch) != "No")  # "½", "²": digits too
    return _STRAY_SYMBOLS.sub("", line.replace("/", " "))


def _is_voice_label(line: str) -> bool:
    return re.sub(r"[^\w]", "", line).lower() in _VOICE_LABELS


def _has_word(line: str) -> bool:
    """Whether a token is a word of two letters or more ("J.D. 'JUa..J..UU", OCR noise, is not)."""
    return any(_WORD.match(t) and len(re.findall(_LETTER, t)) >= 2 for t in line.split())


def _mask_pattern(word: str) -> re.Pattern:
    """Every word starting with ``word`` (case-insensitive; spaces in it match any whitespace),
    with a roman section number after it ("Agnus II")."""
    parts = [re.escape(p) for p in _fold(word).split()]
    return re.compile(r"(?i)\b" + r"\s+".join(parts) + r"\w*(?:\s+(?-i:[IVX]+)\b)?")


def _delete_masked(line: str, patterns: list[re.Pattern]) -> str:
    for pattern in patterns:
        line = pattern.sub(" ", line)
    return line


def _collapse_punctuation(match: re.Match) -> str:
    run = match.group(0).replace(" ", "")
    return run if set(run) == {"."} else run[0]


def _tidy(line: str) -> str:
    """Remove the separators and brackets that deletions left empty or dangling."""
    for _ in range(10):  # removing one dangling piece can leave another: repeat until none is left
        tidied = _tidy_once(line)
        if tidied == line:
            break
        line = tidied
    return line


def _tidy_once(line: str) -> str:
    line = re.sub(r"\s+", " ", line)
    line = re.sub(r'\(\s*[-,.;:!?\s]*\)|"\s*[-,.;:!?\s]*"', " ", line)  # empty brackets, quotes
    line = re.sub(r"(?<!\S)-+(?!\S)", " - ", line)  # a free-standing dash run ("--") is one dash
    line = re.sub(r"\s*-\s*(?=[,.;:!?]|$)", "", line)  # a dash before punctuation or the end
    line = re.sub(r"^[\s\-,.;:!?]+", "", line)  # nothing left to separate the line from
    line = re.sub(r"[\s\-,;:]+$", "", line)
    line = re.sub(r"\s+([,.;:!?)])", r"\1", line)
    line = re.sub(r"\(\s+", "(", line)
    line = re.sub(rf"(?<={_LETTER})[?!]+(?={_LETTER})", "", line)  # OCR debris inside a word
    line = re.sub(r"[,.;:!?](?:\s*[,.;:!?])+", _collapse_punctuation, line)
    if line.count("(") != line.count(")"):  # half a bracket pair: drop both halves
        line = line.replace("(", "").replace(")", "")
    line = re.sub(r'^"([^"]*)"([.!?]?)$', r"\1\2", line.strip())  # a title quoted whole (zuccal)
    return re.sub(r"\s+", " ", line).strip()


def _fold(text: str) -> str:
    """One spelling for every encoding."""
    return _strip_diacritics(_spell_out_german(text))


def _clean_line(line: str, patterns: list[re.Pattern]) -> str:
    # Symbols go first, as OCR put them inside syllables ("vei-l[g- mo"); syllables are joined
    # before folding, which would make "ú" an ordinary "u"; masking comes after joining, so that
    # a word split into syllables ("Glo- ri- a") is masked too.
    line = _strip_debris(line)
    line = _join_syllables(line)
    line = _fold(line)
    line = _tidy(line)
    if _is_voice_label(line):
        return ""
    line = _tidy(_delete_masked(line, patterns))
    return line if _has_word(line) else ""


def clean_text(text: str, mask_words: list[str]) -> str:
    """``text`` (a title line, then lyrics) with its encoding removed and ``mask_words`` deleted.

    Returns "" when nothing word-like is left; the caller then skips the work.
    """
    patterns = [_mask_pattern(w) for w in sorted(mask_words, key=len, reverse=True) if w.strip()]
    lines = (_clean_line(line, patterns) for line in _drop_invalid(text).split("\n"))
    return "\n".join(line for line in lines if line)
