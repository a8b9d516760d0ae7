"""Text analysis shared by the search index (at build time) and ranking (at query time): words, light
stems, and the ICD-10-CM conventions that say which words of a description add no specificity."""
from __future__ import annotations

import re
import unicodedata

# Numeric ranges in descriptions: "38 to 52 minutes", "age 40 through 64", "20+ minutes", "65 and older",
# "at least 2 views".
# Decimals are read by their whole part: "BMI 40.0-44.9" is 40 to 44.
RANGE = re.compile(r"(\d+)(?:\.\d+)?\s*(?:to|through|-)\s*(\d+)(?:\.\d+)?"
                   r"|(\d+)(?:\.\d+)?\s*(?:\+|or more|and older|or older|or greater|and over|or over)"
                   r"|(\d+)(?:\.\d+)?\s*(?:cm |mm |sq\.? ?in\.? |sq\.? ?cm )?(?:or less|or under|or fewer|and under)"
                   r"|(?:less than or equal to|up to)(?: age)? (\d+)"
                   r"|(?:more than|greater than|over|older than)(?: age)? (\d+)"
                   r"|(?:under|less than|younger than)(?: age)? (\d+)"
                   r"|(?:at least|minimum of) (\d+)")
# Numbers typed as words ("tpi two muscles": 20552 '1 or 2 muscles'); "one" stays a word ("one way", "at one")
SPELLED = {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
           "ten": "10", "twelve": "12"}
# A size or bound a description spells out: A6448 'width less than three inches'
SPELLED_BOUND = re.compile(r"\b(than|to|least) (" + "|".join(SPELLED) + r")\b")
RANGE_FLOOR = re.compile(r"(\d+)\.(\d+)(?=\s*(?:to|through|-)\s*\d)")
NEXT_NUMBER = re.compile(r"\b(\d+) or (\d+)\b")
# "stage 1 through stage 4" (I12.9) is the range "stage 1 through 4"
REPEATED_UNIT = re.compile(r"\b([a-z]+) (\d+) (to|through) \1 (\d+)")
# "more than 16 sq. in. but less than or equal to 48 sq. in." (A6197) is one range, 17 to 48; so are "greater
# than 7 days and up to 28 days" (J0578) and "over 40 completed weeks to 42 completed weeks" (P08.21), 41 to 42
BETWEEN = re.compile(r"\b(?:more than|greater than|over) (\d+)(?:\.\d+)?([^\d]{0,20}?),? (?:but |and )?"
                     r"(less than or equal to|not more than|up to|less than|to) (\d+)")
ORDINALS = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth", "6th": "sixth",
            "7th": "seventh", "8th": "eighth", "9th": "ninth", "10th": "tenth", "11th": "eleventh", "12th": "twelfth"}
# Roman numerals of grades, types, classes and factors ("CIN II", "Follicular lymphoma grade II", "factor VIII")
# read as the numbers billers type ("cin 2"); not "i", "iv", "v", "x": English words or intravenous
ROMAN = {"ii": "2", "iii": "3", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "xi": "11", "xii": "12",
         "xiii": "13"}
# "i", "iv", "v" and "x" are numbers only after a word that ranks ("ckd iv", "stage v", "type i", "factor v")
RANKS = {"stage", "grade", "class", "type", "ckd", "cin", "phase", "factor", "gold", "nyha", "level", "lvl"}
RANKED_ROMAN = {"i": "1", "iv": "4", "v": "5", "x": "10",
                "one": "1"}  # "obese class one" (E66.811 'Obesity, class 1'); "one" stays a word elsewhere
# Chart shorthand with a slash, spelled out before the text is split into words.
SHORTHAND = [("w/o", " without "), ("h/o", " history of "), ("s/p", " status post "), ("c/o", " complaint of "),
             ("d/t", " due to "), ("f/u", " follow up "), ("w/", " with "), ("&", " and ")]
DISORDER = re.compile(r"(?<![a-z])d/o(?![a-z])")  # "adj d/o", never the d/o inside "and/or"
RULE_OUT = re.compile(r"(?<![a-z])r/o(?![a-z])")  # "chest pain r/o mi": rule out
# A lone "w" is "with" as billers type it ("cataract extraction w iol") and as HCPCS short descriptions write it
ALONE = {"w": "with"}
# A manifestation code's title (guideline I.A.13): "... in diseases classified elsewhere", "... in other diseases
# classified elsewhere", "Anemia in chronic diseases classified elsewhere" (D63), "Central sleep apnea in
# conditions classified elsewhere" (G47.37); read in titles and in their stems
MANIFESTATION = re.compile(r"\bin (?:[a-z]+ )?(?:disease|condition)s? classified elsewhere\b", re.I)
# Words a description says that add nothing to what a query without them asks, by phrase: guideline I.C.4.a.2,
# when the type of diabetes is not documented, the default is type 2 ("type 2"); the Alphabetic Index entry
# "Diabetes, diabetic (mellitus) (sugar)" holds "mellitus" as a nonessential modifier. Each phrase is a
# (words, optional positions) pair, matched on stems.
DEFAULT_PHRASES = [(("type", "2", "diabete"), (0, 1)), (("diabete", "mellitus"), (1,))]


SMALL_WORDS = {"a", "an", "the", "in", "on", "of", "as", "to", "for", "by", "at"}


def stem(word: str) -> str:
    """Return a light English stem so plurals meet singulars (stones -> stone, injuries -> injury) and a
    doubled-consonant verb form meets its other forms (slipped / slipping -> slip)."""
    if len(word) > 6 and word.endswith(("pped", "tted", "gged", "mmed", "nned", "bbed", "dded")):
        return word[:-3]
    if len(word) > 7 and word.endswith(("pping", "tting", "gging", "mming", "nning", "bbing", "dding")):
        return word[:-4]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case words of `text`, with the shorthand billers type spelled out (w/o, w/, &) and accents dropped
    as the FTS index drops them (Sjögren, Ménière: sjogren, meniere)."""
    text = text.lower()
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = RULE_OUT.sub(" rule out ", DISORDER.sub(" disorder ", text))
    for short, spelled in SHORTHAND:
        text = text.replace(short, spelled)
    text = re.sub(r"'s\b|’s\b", "", text)
    found = re.findall(r"[a-z0-9]+", text)
    return [ORDINALS.get(w) or ROMAN.get(w) or (RANKED_ROMAN.get(w) if i and found[i - 1] in RANKS else None)
            or ALONE.get(w, w) for i, w in enumerate(found)]


SCOPE_WORDS = 16  # a description this short may close with the scope it takes in (", includes ...")


def analyse(text: str) -> list:
    """Return [text or "", stems, optional positions, negated positions] for one description or inclusion term.

    ICD-10-CM convention I.A.7: words in parentheses are nonessential modifiers, present or absent without
    changing the code. Words after "without" (or "except": C64 'kidney, except renal pelvis') describe the plain
    (default) form and cannot satisfy a query;
    the word after "not" cannot satisfy one either ("not administered"), but still counts as detail.
    """
    stems: list[str] = []
    optional: list[int] = []
    negated: list[int] = []
    # ", includes ..." in a short description lists what the code takes in ("Cane, includes canes of all
    # materials, adjustable or fixed, with tip", E0100; "melanoma of eyelid, including canthus", C43.1), not a
    # narrower kind; in a long one (G2086) or without the comma ("evaluation that includes medical services",
    # 90792) it is what sets the code apart
    scope = False
    short = "includ" in text.lower() and len(words(text)) <= SCOPE_WORDS
    # Convention I.A.6: brackets enclose synonyms, alternative wording or explanatory phrases, nonessential too
    for part in re.split(r"(\([^)]*\)|\[[^\]]*\]|,)", text.lower()):
        if not part or part == ",":
            continue
        scope = scope or (short and bool(stems) and part.split()[:1] in (["includes"], ["including"], ["include"]))
        in_parentheses, absent, denied = part.startswith(("(", "[")) or scope, False, False
        for word in words(part):
            if word in ("without", "excludes", "excluding", "except"):
                absent = True  # "pegfilgrastim, excludes biosimilar": the plain product
            elif word == "not":
                denied = True  # "not administered": ruled out, yet still a detail the query did not ask for
            elif word == "with":
                absent = denied = False
            elif absent or in_parentheses:
                optional.append(len(stems))
                if absent:
                    negated.append(len(stems))
            elif denied and word not in SMALL_WORDS:
                negated.append(len(stems))  # "not" rules out the next word only ("not carried out because ...")
                denied = False
            stems.append(stem(word))
    for phrase, positions in DEFAULT_PHRASES:
        for i in range(len(stems) - len(phrase) + 1):
            if tuple(stems[i:i + len(phrase)]) == phrase:
                optional.extend(i + p for p in positions)
    # The text itself is kept only where ranking reads numbers from it ("20+ minutes", "stage 3a").
    return [text if any(ch.isdigit() for ch in text) else "", " ".join(stems), optional, negated]


def numbers_in(text: str, stems: list[str]) -> list[tuple[int, int]]:
    """Return the numbers and numeric ranges a description states, as (low, high) pairs; decimals by their
    whole part ("BMI 35.0-35.9" is 35 to 35)."""
    found = []
    # "2.6 to 7.5 cm" starts above 2: a range's decimal floor is its next whole number (3 to 7), so "2 cm" is
    # only "2.5 cm or less"; "35.0-35.9" stays 35
    text = SPELLED_BOUND.sub(lambda m: f"{m[1]} {SPELLED[m[2]]}", text.lower()) if text else text
    text = RANGE_FLOOR.sub(lambda m: str(int(m[1]) + (int(m[2]) > 0)), text)
    text = REPEATED_UNIT.sub(r"\1 \2 \3 \4", text) if text else text
    # "2 or 3 views", "1 or 2 muscles": two consecutive numbers joined by "or" are a range
    text = BETWEEN.sub(lambda m: f"{int(m[1]) + 1} to {int(m[4]) - (m[3] == 'less than')}{m[2]}", text) \
        if text else text
    text = NEXT_NUMBER.sub(lambda m: f"{m[1]} to {m[2]}" if int(m[2]) == int(m[1]) + 1 else m[0], text)
    for match in RANGE.finditer(text.lower()):
        if match.group(1):
            found.append((int(match.group(1)), int(match.group(2))))
        elif match.group(3):
            found.append((int(match.group(3)), 10_000))
        elif match.group(6):
            found.append((int(match.group(6)) + 1, 10_000))
        elif match.group(7):
            found.append((0, max(int(match.group(7)) - 1, 0)))  # "under age 5" is 0 to 4
        elif match.group(8):
            found.append((int(match.group(8)), 10_000))  # "at least 2 views" (73140)
        else:
            found.append((0, int(match.group(4) or match.group(5))))
    if text:
        rest = RANGE.sub(" ", text.lower())
        return found + [(int(n), int(n)) for n in re.findall(r"(?<![\d.])(\d+)(?:\.\d+)?", rest)]
    return found + [(int(w), int(w)) for w in stems if w.isdigit()]
