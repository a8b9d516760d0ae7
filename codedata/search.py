"""Text search over code descriptions: FTS5 picks candidates (user text always quoted), RapidFuzz and
billing-aware rules rank them. One search serves the CLI and Slack."""
from __future__ import annotations

import bisect
import csv
import json
import math
import os
import re
import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.resources import files

import sqlite_utils
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from . import search_index
from .codes import category_known, looks_like_icd, lookup_icd, normalise_icd, release_for
from .db import current_release, transaction
from .procedures import classify_procedure, lookup_procedure, modifier_explanations
from .errors import BadInput
from .models import SearchHit, SearchResult
from .windows import parse_dos
from .text import MANIFESTATION, ROMAN, SPELLED, numbers_in, stem, words

MAX_QUERY_CHARS = 200
CANDIDATES = 150
# A code matching less than about a third of what was asked is not an answer ("drop table codes").
# Words the index does not hold count fully against that share, so nonsense ("xyzzy plugh") finds nothing.
MIN_SCORE = 0.33
TYPO_FLOOR = 0.2  # see _floor
ONE_WORD_FLOOR = 0.1  # see _floor
JOINED_CODES = 3  # a one-word spelling of two typed words that this many codes use is one concept with them
RARE_ENGLISH = 100  # seen fewer times than this in the English word list: perhaps a variant spelling
# Codes matching every concept that are enough without also trying each concept left out: "migraine headache
# without aura" matches 18 codes with both words, none of them G43.009 'Migraine without aura, ...'
ENOUGH_FOUND = 30
PROCEDURE_DEFAULTS = {"complete", "routine", "simple"}  # a study not said to be limited is the complete one
# (76856, not 76857); a repair or drainage not said to be layered or complicated is the simple one (12001, 10060)
SPLIT_PARTICLES = ("non", "de", "post", "pre")  # typed together with the next word: nonsterile, dequervains,
# postterm (P08.21 'Post-term newborn')
UNKNOWN_WEIGHT = 1.5  # a word no code uses weighs this much more than the rarest index word
NEGATED_PRESENT = -0.5  # share of a negated word's weight lost when the code has what the query ruled out
ALIASES_SCORED = 4  # per code: the aliases with the most query words, shortest first
# Words that carry no meaning for matching.
STOP = {"a", "an", "the", "of", "and", "or", "in", "on", "to", "for", "by", "with", "at", "is", "due", "as",
        "from", "per", "code", "icd", "cpt", "dx", "what", "whats", "s", "pt", "patient", "x", "hcpcs",
        "diagnosis", "please", "need", "looking", "today", "presents", "complaint", "complains", "while", "anything",
        "something", "kid", "kids", "toddler",  # a child's age is the claim's, not a word of the code
        # words of a sentence, not of a condition ("hiccups that wont stop")
        "that", "this", "these", "those", "which", "who", "it", "its", "has", "have", "had", "was", "were", "be",
        "been", "are", "am", "will", "wont", "would", "just", "very", "also", "happened", "happen", "came", "got",
        "went", "going",
        "about", "approximately", "approx", "roughly",  # "about 15 minutes" is 15 minutes
        "after"}  # when, not what: "after surgery", "after delivery" are phrases of synonyms.tsv, read first
# How bad it feels, which no code says ("terrible headache" is R51.9): none is a word of any code.
FEELINGS = {"terrible", "awful", "horrible", "horrendous", "weird", "crazy", "nasty", "really", "kinda", "sorta",
            "annoying", "worst", "excruciating", "insane", "seriously", "huge", "nagging", "lingering", "funny"}
STOP |= FEELINGS
# Words that name no particular condition ("metastatic disease to bone"): they weigh little and are the first
# left out when no code has every word.
FILLER = {"disease", "dz", "diseases", "disorder", "disorders", "condition", "conditions", "problem", "problems",
          "issue", "issues", "trouble"}
FILLER_SHARE = 0.3
# How a supply is sold, not which supply it is: "glucometer strips box of 50" is A4253 '... per 50 strips', not
# A4255 'Platforms for home blood glucose monitor, 50 per box'
PACKAGING = {"box", "boxes"}
# A head noun that names no kind ("Gonococcal infection, unspecified") makes a code less specific than one that
# names an organ or a form ("Gonococcal vulvovaginitis"): as an unasked word it costs less.
# So does the word for the thing itself in a supply name ("cpap machine" is the device, "cpap tubing" a part).
GENERIC_EXTRAS = {"infection", "machine", "device"}
GENERIC_REFUND = 0.01
# A payer named in a procedure search says whose code set to prefer: Medicare has its own G and Q0 codes for
# services CPT also describes (G2212 prolonged visit for 99417, G0283 unattended e-stim for 97014; CMS HCPCS
# Level II: G codes are CMS's professional-service codes). The word itself weighs little and is not required.
PAYER_WORDS = {"medicare", "cms"}
MEDICARE_CODE = re.compile(r"^(G[0-7]\d{3}|Q0\d{3})$")
MEDICARE_BONUS = 0.1
# A size ("3 cm scalp laceration") rarely decides an ICD-10-CM code (lacerations are coded by site); it does
# decide procedure codes (repair 2.6 to 7.5 cm): in diagnosis searches it weighs like a dose.
MEASURE_UNITS = {"cm", "mm", "centimeter", "centimeters", "inch", "inches"}
# Query words that flip the meaning to the plain "without ..." form of a code.
NEGATIONS = {"no", "without", "wo", "denies", "not", "didnt", "didn", "doesnt", "dont", "never"}
# Words that end what a negation covers ("without aura, with status migrainosus").
# Words after which nothing more is ruled out: "with", "but", and the encounter ("concussion w/o LOC initial": the
# initial encounter is not what was ruled out)
NEGATION_ENDS = {"with", "but", "initial", "init", "subsequent", "subs", "subseq", "sequela", "encounter"}
TRIMESTER = {"trimester", "tri", "trimesters"}
# A dose ("30 mg", "1 gram") mostly says how many units to bill, sometimes which code (J1040 is the 80 mg
# vial): its number weighs little.
DOSE_UNITS = {"mg", "mcg", "g", "gm", "gram", "grams", "ml", "cc", "unit", "units", "iu", "meq", "milligrams"}
DOSE = re.compile(r"^(\d+)(mg|mcg|g|gm|ml|cc|iu|u)$")
SIZE = re.compile(r"^(\d+)(cm|mm)$")
LITRES = re.compile(r"^(\d+)(l|liter|litre|liters|litres)$")
LITRE_WORDS = {"l", "liter", "litre", "liters", "litres"}
DOSE_WEIGHT = 1.0
UNSAID_SIDE = 0.02
SAID_SIDE = 0.05  # a side said, and the code leaves it unspecified (guideline I.B.13: code the side documented)
MANIFESTATION_SHARE = 0.03
SIDE_WEIGHT = 3.0  # at most: a side chooses between sibling codes, not between conditions
SIDELESS_CREDIT = 0.4  # share of a side's weight a code family without sides still earns
RAREST_SHARE = 0.5  # a spelling's weight: this share from its rarest word, the rest from the mean
TITLE_BONUS = 0.01  # at equal fit, a code's own title beats one of its inclusion terms
SUBSET_SHARE = 0.92  # a shorter spelling inside a longer one of the same concept says less than it
NONTRAFFIC_SHARE = 0.02  # a nontraffic vehicle accident, where the query names no place (the default is traffic)
# Where a vehicle accident happened off the public highway (a road, a highway or a street is traffic); "off road"
# as two words is read in parse_query ("fell off bike" says no place)
PLACE_WORDS = {"parking", "driveway", "farm", "field", "offroad", "private", "yard", "trail", "beach", "desert"}
BROADER_SHARE = 0.8  # a whole the asked-for part is in ("~" in synonyms.tsv) answers it only in part
# Candidate search (FTS5): see _candidates.
FTS_TRIM = 3  # letters left off a word for its FTS prefix, so derived forms are candidates
DROP_ATTEMPTS = 5  # candidate searches that leave out one concept (the lightest first)
OR_UNLESS_FOUND = 3  # the slow any-concept search runs only when fewer codes were found
RAREST_ALONE = 10  # codes taken that have only the query's rarest word (see _candidates)
OR_COMMON = 2000  # documents: a concept this common is left out of the any-concept search
HISTORY = {"history", "hx"}
# A history is the patient's own unless a relative is named (Z85-Z87 vs Z80-Z84).
RELATIVES = {"family", "mother", "father", "sibling", "brother", "sister", "parent", "mom", "dad"}
# Words a description may carry without being more specific than what was asked: ICD-10-CM defaults.
# Unspecified/NOS/NEC are the default codes; a fracture not stated open or closed is closed, and displaced
# (chapter 19 notes); unknown intent is accidental (guideline I.C.20); an unstated encounter is initial.
NEUTRAL = {"unspecified", "nos", "initial", "encounter", "closed", "displaced", "site", "type", "elsewhere",
           "classified", "not", "without", "mention", "organism", "single", "episode", "specified",
           "accidental", "unintentional", "uncomplicated", "unilateral",
           # 7th character D of fractures: 'subsequent encounter for fracture with routine healing' is the usual
           # later visit, not one with delayed healing (G), nonunion (K) or malunion (P)
           "routine", "healing",
           # 7th character 0 of multiple-gestation categories: 'not applicable or unspecified' (single gestation)
           "applicable",
           # "non-X" forms a condition takes when X is not said: I06 excludes 'aortic valve disease not specified
           # as rheumatic (I35.-)', so "aortic stenosis" is I35.0 'Nonrheumatic aortic (valve) stenosis'
           "nonrheumatic", "nontraumatic", "noninfective", "noninfectious", "nonsuppurative", "noninflammatory",
           "nonpyogenic", "nonpurulent", "nonthermal", "nonvenomous", "nontoxic"}
DEFAULT_MARKERS = {"unspecified", "nos", "elsewhere", "uncomplicated"}
UNSPECIFIC = frozenset(STOP | NEUTRAL)
# Words that put a code in a population or setting the query did not ask about. A query that names one word
# of a group is in that population: the group's other words are then detail, not another population
# ("breech presentation, single fetus" is a pregnancy question: 'maternal care' is its default wording).
CONTEXT_GROUPS = [
    {"newborn", "neonatal", "perinatal", "liveborn"},
    {"fetus", "fetal", "pregnancy", "pregnant", "childbirth", "puerperium", "maternal", "gestational",
     "obstetric", "trimester", "postpartum"},
    {"delivery", "labor", "labour", "intrapartum"},
    # service settings and media a procedure code is tied to: an unstated setting is the office, in person
    {"telephone", "telehealth", "audio", "video", "online", "internet", "telecommunication", "virtual", "remote"},
    {"interprofessional"},
    {"only"},  # a component ("interpretation and report only", 93010) is not the whole service unless asked
    {"domiciliary", "rest", "residence", "home"},
    {"nursing", "facility"},
    {"inpatient", "observation", "hospital"},
    {"emergency"},
    # a part of the item or service asked for: "tracing only", "seat attachment, walker"
    {"only"},
    {"accessory", "accessories", "attachment", "replacement", "component"},
    {"biosimilar"},  # a biosimilar is another product than the brand or generic asked for
    {"dialysis"},  # supplies for dialysis patients: "glucose test strips, for dialysis"
    {"situ"},  # a neoplasm "in situ" is a behaviour of its own (D00-D09), not the malignant default
    # a congenital form (Q00-Q99) is not what an unqualified "aortic stenosis" or "kidney cyst" means, unless the
    # query speaks of a baby or birth
    {"congenital", "birth", "baby", "infant"},
]
# Words that put a diagnosis search in the perinatal period (ICD-10-CM chapter 16, P00-P96: conditions that
# originate then, OCG I.C.16); without one, a P code's inclusion term ("Hyperbilirubinemia of prematurity",
# "bruising" of a newborn's skin) is not what an adult's "elevated bilirubin" or "spontaneous bruising" means.
NEWBORN_WORDS = {"newborn", "neonatal", "neonate", "neonates", "perinatal", "baby", "babies", "infant", "infants",
                 "preemie", "premature", "prematurity", "preterm", "birth", "born", "fetus", "fetal", "nicu",
                 "liveborn", "nb", "neonatorum", "gestation", "gestational", "weeks", "maternal"}
NEWBORN_SHARE = 0.1
# Of those, the words that speak of the baby, not the pregnancy ("preterm labor", "gestation" are the mother's)
BABY_WORDS = NEWBORN_WORDS - {"preterm", "premature", "weeks", "gestation", "gestational", "maternal", "fetus",
                              "fetal", "birth"}
# Guideline I.C.4.a.2: diabetes of a type the record does not document is type 2 (E11). The other categories
# answer a diabetes query only when it names their type, by one of these words.
DIABETES_TYPES = {"E08": {"due", "underlying", "secondary", "cystic", "pancreatitis", "cushing"},
                  "E09": {"drug", "chemical", "induced", "steroid", "medication"},
                  "E10": {"1", "juvenile", "iddm"},
                  "E13": {"other", "specified", "secondary", "postpancreatectomy", "postprocedural", "lada"}}
DIABETES_TYPE_SHARE = 0.05
CONTEXT = set().union(*CONTEXT_GROUPS)
# The context groups a HCPCS title can name for its product that its short description leaves out
HCPCS_POPULATIONS = frozenset({"dialysis", "biosimilar"})
CONTEXT_ROOTS = frozenset(c[:6] for c in CONTEXT)
# HCPCS Level II quality-reporting and temporary codes: offered after a real service code unless asked for.
# G8/G9 and M1 codes report quality measures (MIPS); S codes are private-payer temporary codes (CMS HCPCS
# Level II overview); CPT Category II codes (....F) track measures too.
# HCPCS C codes are for hospital outpatient claims only (OPPS; CMS HCPCS Level II): after the CPT code a
# practitioner bills unless the query says the setting.
FACILITY_CODE = re.compile(r"^C\d{4}$")
ASKS_FACILITY = {"opps", "facility", "hospital", "outpatient", "asc"}
REPORTING_CODE = re.compile(r"^(G[89]\d{3}|M1\d{3}|S\d{4}|\d{4}F)$")
ASKS_REPORTING = {"quality", "measure", "measures", "mips", "reporting", "reported", "documented", "temporary",
                  "medicaid", "private", "commercial", "performance"}
# How a drug is given: a HCPCS drug code is for one route (S0119 'Ondansetron, oral' is not "zofran iv push",
# J2405 'Injection, ondansetron'); a query that says a route is not answered by a code for another one.
ROUTES = {"oral": {"oral", "orally", "po", "odt", "tablet", "tablets", "capsule", "capsules"},
          "injected": {"injection", "injections", "inj", "injectable", "iv", "intravenous", "intravenously", "im",
                       "intramuscular", "subcutaneous", "subq", "sq", "push", "infusion"},
          "inhaled": {"inhalation", "inhaled", "inhaler", "neb", "nebulizer", "nebulized", "nebulizers"},
          "nasal": {"nasal", "intranasal"}}
ROUTE_SHARE = 0.1
DRUG_WORDS = frozenset({"drug", "drugs", "medication", "medications", "med", "meds", "medicine"})
GIVEN_WORDS = DRUG_WORDS.union(*ROUTES.values())  # words a dosed drug code answers without saying them
INJECTION_WORDS = frozenset({"injection", "injections", "inj", "injectable"})  # no route of injection said
LATERALITY = {"right": "right", "left": "left", "bilateral": "bilateral"}
ENCOUNTERS = {"initial", "subsequent", "sequela"}
# An axis a code leaves open ("unspecified quadrant", "part unspecified"): the default, not extra detail.
# (An unspecified side or organ, "unspecified eye", is judged by laterality instead: SIDED.)
OPEN_AXES = {"part", "quadrant", "site", "lobe", "region", "portion", "segment", "degree", "type", "organism",
             "level", "location", "stage", "trimester", "episode", "place"}
# Words that follow "unspecified" in codes of a family with sides ("unspecified knee", "unspecified eye").
SIDED = {"side", "knee", "hip", "shoulder", "elbow", "wrist", "hand", "foot", "ankle", "eye", "ear", "leg", "arm",
         "breast", "kidney", "lung", "ovary", "finger", "toe", "thigh", "forearm", "upper", "lower", "limb",
         "eyelid", "femur", "tibia", "humerus", "radius", "ulna", "fibula"}
NUMBER = re.compile(r"^\d+[a-z]?$")
ROMAN_OF = {number: roman for roman, number in ROMAN.items()}  # "iv", "v", "x", "i": words too
SPELLED_OF = {number: word for word, number in SPELLED.items()}
DECIMAL = re.compile(r"(\d+)\.\d+")
MILLIONS = re.compile(r"\b(\d+(?:\.\d+)?)\s*million\b", re.I)
VIEWS = re.compile(r"^(\d+)(?:v|vw|vws)$")  # "xr ankle 3v": an x-ray's number of views
TIMED = re.compile(r"^(\d+)(min|mins|hr|hrs|wk|wks)$")  # "15min", "32wks": a number and its unit typed together
BRAND_IN_PARENTHESES = re.compile(r"\(([a-z]{4,})\)")
# A maker's product that is "not therapeutically equivalent" to the reference drug's code is another product than
# the drug a query names, like a brand in parentheses
OTHER_MAKER = re.compile(r"\(([a-z][a-z ]*)\),(?: [a-z]+,)? not therapeutically equivalent")
DRUG_DOSE = re.compile(r"\d\s*(mg|mcg|units?|ml|cc|gm?)\b", re.I)


@dataclass
class Concept:
    """One thing the user asked for, with the phrasings that satisfy it."""

    text: str
    alternatives: list[tuple[str, ...]]
    weight: float = 1.0
    number: int | None = None
    bound: tuple[int, int] | None = None  # the range the query states for its number ("5+", "under 1 yr")
    minutes: int | None = None  # a number of hours, in the minutes time-based codes state (_hours_in_minutes)
    exact: bool = False  # an English word the index lacks: derived forms of other words do not count
    dose: bool = False  # the number of a dose ("5000 units"): how much, not which code
    soft: bool = False  # a filler or payer word: it is scored, but a candidate need not have it
    named: bool = False  # negated by "non", a word the code names too ("non-stress test"): still a candidate word
    negated: bool = False  # asked after "without" / "no": satisfied by a code that says "without" it or omits it
    side: str | None = None  # "right", "left", "bilateral" (or "rt", "both")
    postings: int = 0  # about how many index documents hold it (the rarest word of each spelling, summed)
    compounds: tuple[str, ...] = ()  # the word with a number or extent before it (COMPOUND_PREFIXES)
    regions: tuple[str, ...] = ()  # the region a procedure code names for this part of it (LIMB_PARTS)
    broader: frozenset[tuple[str, ...]] = frozenset()  # stemmed spellings of a whole it is part of (broader_terms)
    region_named: bool = False  # the region counts wherever a title names it, not only in a list (ICD_PARTS)
    corrected: bool = False  # typed misspelt: the index word nearest it stands in (Vocabulary.correct)
    stemmed: list[tuple[str, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stemmed = [tuple(stem(w) for w in alt) for alt in self.alternatives]


@dataclass
class Query:
    text: str
    concepts: list[Concept] = field(default_factory=list)
    laterality: str | None = None
    encounter: str | None = None
    history: bool = False  # "history of", "h/o": the history Z codes, not the active disease
    relatives: bool = False
    reporting: bool = False  # the query asks for quality-reporting or temporary codes
    normal: bool = False  # "normal" asked, "abnormal" not
    medicare: bool = False  # the query names Medicare (PAYER_WORDS)
    facility: bool = False  # the query names a hospital outpatient or facility setting (ASKS_FACILITY)
    routes: frozenset = frozenset()  # the routes of administration the query names (ROUTES)
    populations: frozenset = frozenset()  # context roots of the groups the query names (CONTEXT_GROUPS)
    roots: dict[str, set[str]] = field(default_factory=dict)  # 6-letter root -> asked words
    newborn: bool = False  # the query speaks of a newborn (NEWBORN_WORDS): chapter 16 codes are in question
    place: bool = False  # the query says where an accident happened, or traffic or not (PLACE_WORDS)
    diabetes: frozenset = frozenset()  # the query's words when it speaks of diabetes (DIABETES_TYPES)
    bounds: dict[int, tuple[int, int]] = field(default_factory=dict)  # number -> range the query says
    drug_caused: tuple[str, ...] = ()  # a condition due to these drugs: their adverse-effect subcategories


@lru_cache(maxsize=1)
def _synonym_file() -> tuple[dict, dict]:
    """Read codedata/data/synonyms.tsv once: the expansions of each term (word tuples), and those marked "~"."""
    table: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    broader: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    text = (files("codedata") / "data" / "synonyms.tsv").read_text(encoding="utf-8")
    for row in csv.reader((ln for ln in text.splitlines() if ln and not ln.startswith("#")), delimiter="\t"):
        key = tuple(words(row[0]))
        table.setdefault(key, [])
        for expansion in row[1].split("|"):
            spelled = tuple(words(expansion))  # (words() drops the "~")
            if spelled and spelled not in table[key]:
                table[key].append(spelled)
            if spelled and expansion.strip().startswith("~"):
                broader.setdefault(key, set()).add(tuple(stem(w) for w in spelled))
    return table, {key: frozenset(alts) for key, alts in broader.items()}


def synonyms() -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    """Return the abbreviation/lay-word table of codedata/data/synonyms.tsv, keyed by word tuples."""
    return _synonym_file()[0]


def broader_terms() -> dict[tuple[str, ...], frozenset[tuple[str, ...]]]:
    """The expansions synonyms.tsv marks "~" as a whole the term is part of ("sigmoid" is in the "large
    intestine"), stemmed, by term: they answer it only in part (BROADER_SHARE), so a code of the whole that leaves
    its part unspecified (C18.9 'Malignant neoplasm of colon, unspecified') is not the part's own code."""
    return _synonym_file()[1]


class Vocabulary:
    """Index words with document counts: typo correction and word weights (idf)."""

    def __init__(self, db: sqlite_utils.Database):
        self.df = {term: doc for term, doc in db.execute("SELECT term, doc FROM search_words")}
        self.total = max(self.df.values(), default=1)
        self.choices = [t for t in self.df if len(t) >= 4 and not t.isdigit()]
        self.sorted = sorted(self.choices)
        # Substances of the Table of Drugs and Chemicals (the current release's): what a condition can be due to
        # and the drug class its adverse-effect code names (haloperidol: T43.4X5 '... neuroleptics')
        self.substances: dict[str, tuple[str, ...]] = {}
        self.adverse: dict[str, str] = {}  # substance -> its adverse-effect subcategory (T46.2X5)
        for path, code, title in db.execute(
                "SELECT i.path, i.code, c.description FROM icd10cm_index i JOIN releases r ON r.id = i.release_id"
                " JOIN codes c ON c.release_id = i.release_id AND c.code = i.code"
                " WHERE r.system = 'icd10cm' AND r.current = 1 AND i.part = 'drug' AND i.col = 6"
                " AND i.path NOT LIKE '%,%'"):
            substance = " ".join(words(path))
            self.substances[substance] = tuple(
                w for w in words(title.removeprefix("Adverse effect of ")) if w not in DRUG_CLASS_FILLER)
            self.adverse[substance] = code[:7]

    def prefixed(self, start: str) -> list[str]:
        """Index words that begin with `start` and are longer than it."""
        first = bisect.bisect_right(self.sorted, start)
        last = bisect.bisect_left(self.sorted, start + "{")
        return self.sorted[first:last]

    def idf(self, word: str) -> float:
        # "knees" (in 1 title) matches "knee" (in 2,253): a plural weighs what its singular does
        seen = max(self.df.get(word, 0), self.df.get(stem(word), 0))
        return math.log((self.total + 1) / (seen + 1)) + 1

    def correct(self, word: str) -> str:
        """Return the index word nearest a misspelt one (diabetis -> diabetes), or the word itself.

        A real English word is never turned into another ("parking" is not a typo of "parkinson")."""
        if word in self.df or len(word) < 4 or word.isdigit():
            return word
        if stem(word) in self.df:
            return stem(word)  # pinworms -> pinworm: the index holds the singular
        if is_english(word):
            return self._variant(word)
        # A word cut short ("exac", "hypert"): the commonest index word it begins.
        started = self.prefixed(word)
        if started:
            return max(started, key=lambda t: self.df[t])
        found = process.extract(word, self.choices, scorer=fuzz.ratio, processor=None, score_cutoff=78, limit=5)
        # A typo seldom hits the first letter: a word that begins otherwise must be one slip away ("snorvadex" is
        # not "nolvadex")
        found = [f for f in found if not _other_prefix(word, f[0]) and (f[0][0] == word[0] or f[1] >= 88)
                 and Levenshtein.distance(word, f[0]) <= (3 if len(word) >= 10 else 2)]
        if not found:
            return word
        # Near-equal spelling distance: the more common index word is the likelier meaning (osteoperosis is
        # osteoporosis, not osteopetrosis; nueropathy is still neuropathy, not nephropathy).
        best = max(score for _, score, _ in found)
        return max((f for f in found if f[1] >= best - 6),
                   key=lambda f: f[1] + 2.5 * math.log10(self.df[f[0]] + 1))[0]

    def split(self, word: str) -> tuple[str, str] | None:
        """A particle typed together with the index word it goes with: "nonsterile" is non-sterile (A6216),
        "dequervains" is de Quervain's (M65.4). Only for a word the index does not hold as typed."""
        if word in self.df or stem(word) in self.df:
            return None
        for particle in SPLIT_PARTICLES:
            rest = word[len(particle):]
            if word.startswith(particle) and len(rest) >= 4 and (rest in self.df or stem(rest) in self.df):
                return particle, rest
        return None

    def _variant(self, word: str) -> str:
        """A rare spelling the English word list still holds ("dependance") is the index word one letter away
        that English uses ten times as often ("dependence"); a word in common use stays itself."""
        seen = _english().get(word, 0)
        if seen >= RARE_ENGLISH or len(word) < 6:
            return word
        near = process.extract(word, self.choices, scorer=fuzz.ratio, processor=None, score_cutoff=90, limit=5)
        common = [f for f, _, _ in near if _english().get(f, 0) >= 10 * seen and stem(f) != stem(word)]
        return max(common, key=lambda f: _english()[f]) if common else word


# Word beginnings that change what a word means: "transvaginal" is not a misspelt "extravaginal".
MEANING_PREFIXES = ("trans", "extra", "intra", "inter", "infra", "supra", "hyper", "hypo", "endo", "epi", "peri",
                    "para", "post", "pre", "sub", "retro", "anti", "non", "un")


def _other_prefix(word: str, near: str) -> bool:
    """True when `near` is `word` with another meaning-changing beginning in place of its own."""
    return any(word.startswith(a) and near.startswith(b) and word[len(a):] == near[len(b):]
               for a in MEANING_PREFIXES for b in MEANING_PREFIXES if a != b)


@lru_cache(maxsize=1)
def _english() -> dict[str, int]:
    """Word frequencies of pyspellchecker's English dictionary (a well-kept word list; ≈0.2 s to load)."""
    from spellchecker import SpellChecker

    return SpellChecker(distance=1).word_frequency.dictionary


def is_english(word: str) -> bool:
    """True for a word common enough in English that it is not a misspelling (seen 50+ times in its corpus)."""
    return _english().get(word, 0) >= 50


_vocabularies: dict[tuple[str, str], Vocabulary] = {}
_vocabulary_lock = threading.Lock()
_VOCABULARY_KEY = """
    SELECT (SELECT file FROM pragma_database_list WHERE name = 'main'),
           (SELECT group_concat(system || '=' || release_key, ';')
              FROM (SELECT system, release_key FROM search_state ORDER BY system))"""


def vocabulary(db: sqlite_utils.Database) -> Vocabulary:
    """Return the vocabulary of the index as built now, shared by every connection to the same database file.

    Built once per index state (≈35 ms for 19,000 words); a new release rebuilds it on the first search after.
    """
    path, state = db.execute(_VOCABULARY_KEY).fetchone()
    key = (path or f"memory:{id(db.conn)}", state or "")
    found = _vocabularies.get(key)
    if found is None:
        with _vocabulary_lock:  # one thread builds it; the others wait for it instead of building their own
            found = _vocabularies.get(key)
            if found is None:
                found = Vocabulary(db)
                if len(_vocabularies) >= 4:  # old index states and other databases (tests, benchmarks)
                    _vocabularies.pop(next(iter(_vocabularies)))
                _vocabularies[key] = found
    return found


# --- query parsing -----------------------------------------------------------------------------------------


def parse_query(text: str, vocab: Vocabulary, icd: bool = True) -> Query:
    """Turn typed text into concepts: synonyms expanded, typos corrected, laterality/encounter noted."""
    # "2.4 million units" is 2,400,000 units, a dose of J0561 '... 100,000 units'
    text = MILLIONS.sub(lambda m: str(round(float(m[1]) * 1_000_000)), text)
    text = DECIMAL.sub(r"\1", text)  # "2.5 cm": a decimal by its whole part, as codedata.text.numbers_in reads titles
    typed = [w for w in words(text) if not TIMES.match(w)]  # "blood culture x2": how many, not which code
    tokens, doses = _doses(_pad_area(_months_old(_before_and_after(typed))) if not icd
                           else _months_old(typed, icd),
                           MEASURE_UNITS if icd else ())
    query = Query(text=text)
    query.bounds = _bounds(text)
    query.history = bool(HISTORY & set(tokens))
    query.relatives = bool(RELATIVES & set(tokens))
    query.reporting = bool(ASKS_REPORTING & set(tokens))
    query.normal = "normal" in tokens and "abnormal" not in tokens
    query.medicare = bool(PAYER_WORDS & set(tokens))
    query.facility = bool(ASKS_FACILITY & set(tokens))
    query.routes = frozenset(route for route, said in ROUTES.items() if said & set(tokens))
    asked_roots = {stem(t)[:6] for t in tokens}
    query.populations = frozenset(w[:6] for group in CONTEXT_GROUPS if asked_roots & {g[:6] for g in group}
                                  for w in group)
    table = synonyms()
    # "right after delivery", "right away": "right" says when, not which side
    tokens = [t for i, t in enumerate(tokens) if not (t == "right" and i + 1 < len(tokens) and tokens[i + 1] in SOON)]
    # before the operation rule: "after mastectomy" is the index's own word (I97.2 'Postmastectomy lymphedema')
    tokens = _as_prefix(_ruled_out(tokens), vocab)
    if icd and not doses:
        tokens = _after_surgery(_intact(tokens))
    i, negating, purpose = 0, False, None
    while i < len(tokens):
        if not icd and tokens[i] == "for" and purpose is None and query.concepts:
            purpose = len(query.concepts)  # "cpap unit for osa": what follows is why, not what
        # "not taking" is a phrase of its own (underdosing), not "not" + "taking"
        phrase = next((size for size in (4, 3, 2) if tuple(tokens[i:i + size]) in table), 0)
        if tokens[i] in SPELLED and not phrase:
            tokens[i] = SPELLED[tokens[i]]  # "tpi two muscles"; a phrase keeps its word ("four wheeler")
        if tokens[i] in NEGATIONS and not phrase:
            negating, i = True, i + 1
            continue
        if tokens[i] == "non" and i + 1 < len(tokens):  # "non emergency": the next word only
            word = vocab.correct(tokens[i + 1])
            _add_concept(query, word, [(word,)] + table.get((word,), []), vocab, True, False)
            query.concepts[-1].named = True  # "non-stress test" names its word: codes say it too
            i += 2
            continue
        if tokens[i] in NEGATION_ENDS or tokens[i] in TRIMESTER or tokens[i + 1:i + 2] and tokens[i + 1] in TRIMESTER:
            negating = False  # "no bleeding 1st tri": the trimester says when, it is never what was ruled out
        if icd and tokens[i] in STOP and not phrase:
            i += 1  # "pt on chronic steroids": in a diagnosis search "pt" is the patient, not physical therapy
            continue
        level = _level_word(tokens[i], tokens[i + 1], vocab) if i + 1 < len(tokens) and not phrase else None
        if level:
            pair = (tokens[i], vocab.correct(tokens[i + 1]))
            _add_concept(query, " ".join(pair), [pair, (level,)], vocab, negating, False)
            i += 2
            continue
        prefixed = _prefixed_form(tokens[i], tokens[i + 1], vocab) if i + 1 < len(tokens) and not phrase else None
        if prefixed:
            # "pre diabetic" is "prediabetes" (R73.03), "post menopause" "postmenopausal": a prefix typed apart
            _add_concept(query, prefixed, [(prefixed,)] + table.get((prefixed,), []), vocab, negating, False)
            i += 2
            continue
        for size in (4, 3, 2, 1):
            key = tuple(tokens[i:i + size])
            if len(key) == size and key in table:
                _add_concept(query, " ".join(key), [key] + table[key], vocab, negating, i in doses)
                i += size
                break
        else:
            joined = tokens[i] + tokens[i + 1] if i + 1 < len(tokens) else ""
            parts = min(vocab.df.get(tokens[i], 0), vocab.df.get(tokens[i + 1], 0)) if joined else 0
            if len(joined) >= 8 and joined in vocab.df and vocab.df[joined] >= parts:
                # "post menopausal" is "postmenopausal": two typed words the index holds as one, at least as
                # often as the rarer of them ("long term" stays two words: "longterm" is in one code)
                _add_concept(query, joined, [(joined,)] + table.get((joined,), []), vocab, negating, False)
                i += 2
                continue
            if len(joined) >= 8 and vocab.df.get(joined, 0) >= JOINED_CODES and tokens[i + 1] not in table:
                # "heat stroke" is also "heatstroke" (T67.0-), though each word is commoner alone: either spelling
                pair = (tokens[i], tokens[i + 1])
                _add_concept(query, " ".join(pair), [pair, (joined,)] + table.get((joined,), []), vocab, negating,
                             False)
                i += 2
                continue
            apart = vocab.split(tokens[i])
            if apart:
                tokens[i:i + 1] = apart
                doses = {d + 1 if d > i else d for d in doses}
                continue
            rest = tokens[i][2:] if tokens[i].startswith("un") and tokens[i] not in vocab.df else ""
            if len(rest) >= 5 and rest in vocab.df:
                # "undelivered" is "without delivery" (O60.0-): the word ruled out, and nothing after it
                _add_concept(query, rest, [(rest,)] + table.get((rest,), []), vocab, True, False)
                i += 1
                continue
            word = vocab.correct(tokens[i])
            corrected = word != tokens[i] and word != stem(tokens[i])
            expansions = table.get((word,)) or table.get((stem(word),), [])  # "vaccines": the row of "vaccine"
            rest = word[3:] if word.startswith("non") else ""
            if len(rest) >= 5 and vocab.df.get(rest, 0) >= 10 * vocab.df.get(word, 0):
                # "nonemergency" as most descriptions hyphenate it: A0080 'Non-emergency transportation'
                expansions = expansions + [("non", rest)]
            _add_concept(query, word, [(word,)] + expansions + _word_forms(word, vocab), vocab, negating,
                         i in doses)
            if corrected and query.concepts and query.concepts[-1].text == word:
                query.concepts[-1].corrected = True
            i += 1
    for concept in query.concepts[purpose or len(query.concepts):]:
        # A procedure is coded for what is done, and the reason is the diagnosis code's: a condition after "for"
        # weighs little and need not be in the code (E0601 CPAP device, not "... for obstructive sleep apnea"),
        # unless it names a setting or population the codes do ("test strips for dialysis", A4772).
        if not {w[:6] for alt in concept.alternatives for w in alt} & CONTEXT_ROOTS and concept.number is None:
            concept.soft, concept.weight = True, concept.weight * FILLER_SHARE
    for concept in query.concepts:
        if concept.side:  # "w/o DME OD": a side says which eye, it is never what was ruled out
            concept.negated = False
    _limb_parts(query, icd)
    if icd:
        _drug_caused(query, tokens, vocab)
        _trimester_of_weeks(query, vocab)
    else:
        _hours_in_minutes(query)
    _both_sides(query)
    _cap_unknown(query, vocab)
    query.newborn = any(w in NEWBORN_WORDS for c in query.concepts for alt in c.alternatives for w in alt)
    query.place = bool(PLACE_WORDS & set(tokens)) or "off road" in " ".join(tokens) \
        or any(t.startswith(("traffic", "nontraffic")) for t in tokens)
    said = {w for c in query.concepts for alt in c.alternatives for w in alt}
    if any(w.startswith("diabet") for w in said):
        query.diabetes = frozenset(said | {str(c.number) for c in query.concepts if c.number is not None})
    return query


TIMES = re.compile(r"^(?:x\d{1,2}|\d{1,2}x)$")  # "x2", "3x": a count of services or units
HOUR_WORDS = {"hr", "hrs", "hour", "hours"}
MOST_HOURS = 3  # a typed "24 hr" is a recording's length (93224 'up to 48 hours'), not minutes of a service


def _hours_in_minutes(query: Query) -> None:
    """"1 hr psychotherapy" is the 60 minutes the code states (90837 '60 minutes'); "chemo 1 hr" still says the
    hour a code names ("first hour")."""
    for number, unit in zip(query.concepts, query.concepts[1:]):
        if number.number and number.number <= MOST_HOURS and not number.bound and unit.text in HOUR_WORDS:
            number.minutes = number.number * 60
            for concept, spelt in ((number, str(number.minutes)), (unit, "minutes")):
                concept.alternatives.append((spelt,))  # and a candidate may say only that
                concept.stemmed.append((stem(spelt),))


AT_LEAST = re.compile(r"(\d+)\s*(?:\+|plus\b|(?:yo|y/o|yrs?|years?|mo|months?)?\s*(?:or|and) (?:older|over|up)\b)")
BELOW = re.compile(r"(?:\bunder|\bless than|\byounger than|<)\s*(?:age\s*)?(\d+)")
ABOVE = re.compile(r"(?:\bover|\bolder than|\bmore than|>)\s*(?:age\s*)?(\d+)")


TYPED_RANGE = re.compile(r"\b(\d+)\s*(?:-|to)\s*(\d+)\b")


def _bounds(text: str) -> dict[int, tuple[int, int]]:
    """Numbers the query bounds: "age 5+" is 5 and up, "under 1 yr" is 0, "over 65" is 66 and up."""
    lowered = text.lower()
    # "econsult 5-10 min" asks for the code of that range (99446 '5 to 10 minutes'), not one that holds it
    bounds = {int(n): (int(m[1]), int(m[2])) for m in TYPED_RANGE.finditer(lowered) if int(m[1]) < int(m[2]) < 1000
              for n in (m[1], m[2])}
    bounds.update({int(m[1]): (int(m[1]), 10_000) for m in AT_LEAST.finditer(lowered)})
    bounds.update({int(m[1]): (0, max(int(m[1]) - 1, 0)) for m in BELOW.finditer(lowered)})
    bounds.update({int(m[1]): (int(m[1]) + 1, 10_000) for m in ABOVE.finditer(lowered)})
    return bounds


LEVEL_PREFIX = {"high": "hyper", "elevated": "hyper", "raised": "hyper", "increased": "hyper", "excess": "hyper",
                "low": "hypo", "decreased": "hypo", "reduced": "hypo"}
LEVEL_WORD = re.compile(r"(?:emia|ism)$")  # a level in the blood (-emia) or a gland's function (-ism)


def _level_word(word: str, substance: str, vocab: Vocabulary) -> str | None:
    """"high prolactin" is hyperprolactinemia (E22.1), "low fibrinogen" hypofibrinogenemia: the index word that
    joins hyper-/hypo- to the substance's leading letters (at least four) and ends as a level or a function."""
    prefix = LEVEL_PREFIX.get(word)
    substance = stem(vocab.correct(substance))
    if not prefix or len(substance) < 5:
        return None
    for cut in range(len(substance), 3, -1):
        found = [w for w in vocab.prefixed(prefix + substance[:cut]) if LEVEL_WORD.search(w)]
        if found:
            return max(found, key=lambda w: vocab.df[w])
    return None


BOTH_WAYS = {"with": ("without", "wo"), "without": ("with",), "wo": ("with",)}
BOTH_WAYS_JOINS = {"and", "or", "then"}


def _before_and_after(tokens: list[str]) -> list[str]:
    """"with and without contrast" is one study done both ways (70553), not a negation of contrast; so is
    "without then with", "w/o and w", "wo/w" or "without followed by with" (the order the study is done in)."""
    for i in range(len(tokens) - 1):
        joined = 1
        if tokens[i + 1] in BOTH_WAYS_JOINS:  # "with and without", "w/o then w"
            joined = 2
        elif tokens[i + 1:i + 3] == ["followed", "by"]:
            joined = 3
        if tokens[i] in BOTH_WAYS and i + joined < len(tokens) and tokens[i + joined] in BOTH_WAYS[tokens[i]]:
            return tokens[:i] + ["before", "and", "after"] + tokens[i + joined + 1:]
    return tokens


MONTHS = {"mo", "mos", "month", "months"}


def _months_old(tokens: list[str], icd: bool = False) -> list[str]:
    """"well baby 6 mo": an age in months under a year is age 0 in the years procedure codes count (99391
    'under 1 year old'); the unit stays a word. No diagnosis code says an age in months: "6 mo old with fever" is
    R50.9, and the age ("6 mo old") is left out."""
    out, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        if token.isdigit() and int(token) < 12 and tokens[i + 1:i + 2] and tokens[i + 1] in MONTHS \
                and "supply" not in tokens:
            if icd and tokens[i + 2:i + 3] == ["old"]:
                i += 3
                continue
            token = token if icd else "0"
        out.append(token)
        i += 1
    return out


def _cap_unknown(query: Query, vocab: Vocabulary) -> None:
    """A word no code holds that is not an English word (a name, a brand) weighs at most what the heaviest known
    concept does when the query has at least two known concepts and more of them than unknown words: it still
    counts against a code, but cannot sink a query whose other words a code answers in full. Otherwise unknown
    words keep their full weight, so nonsense with one real word in it ("parking ticket", "cardigan button
    replacement": no code speaks of cardigans) still finds nothing."""
    unknown = [c for c in query.concepts if _unknown(c, vocab)]
    known = [c.weight for c in query.concepts if c not in unknown and not c.negated and not c.side
             and c.number is None]
    if unknown and len(known) >= 2 and len(unknown) < len(known):  # "xyzzy plug", "parking ticket": not capped
        for concept in unknown:
            if not concept.exact:  # an English word no code uses ("lunch", "cardigan") is not a name of the thing
                concept.weight = min(concept.weight, max(known))


AFTER = {"after", "following"}
SOON = {"after", "before", "away", "now", "then", "when"}
SURGERY_NOUNS = {"surgery", "procedure", "operation", "op"}
SURGERY_WORD = re.compile(r"(ectomy|ectomies|otomy|ostomy|plasty|pexy|rrhaphy)$")


def _trimester_of_weeks(query: Query, vocab: Vocabulary) -> None:
    """"preterm labor at 24 wks": weeks of gestation say the trimester (OCG I.C.15.a.3: 1st less than 14 weeks
    0 days, 2nd 14 weeks 0 days to less than 28 weeks 0 days, 3rd 28 weeks 0 days until delivery), O60.02. The
    trimester is another spelling of the weeks word: the number still answers Z3A.24, O47.1 'at or after 37
    completed weeks' and the newborn's P07.- codes, which name no trimester."""
    words = {w for c in query.concepts for alt in c.alternatives for w in alt}
    if words & TRIMESTER or words & BABY_WORDS:  # "preemie 23 weeks" is the newborn's age (P07.22)
        return
    for before, after in zip(query.concepts, query.concepts[1:]):
        if before.number is not None and 1 <= before.number <= 45 and {("weeks",), ("week",), ("wks",), ("wk",)} \
                & set(after.alternatives):
            ordinal = "first" if before.number < 14 else "second" if before.number < 28 else "third"
            after.alternatives.append((ordinal, "trimester"))
            after.stemmed.append((ordinal, "trimester"))
            return


def _after_surgery(tokens: list[str]) -> list[str]:
    """"after thyroid surgery", "after thyroidectomy": a condition after an operation is the postprocedural one
    (E89.0 'Postprocedural hypothyroidism', inclusion 'Postsurgical hypothyroidism'), as "after surgery" is
    (synonyms.tsv); the operated organ stays a word of the query."""
    out = list(tokens)
    for i in range(1, len(out) - 2):
        if out[i:i + 2] == ["status", "post"] and SURGERY_WORD.search(out[i + 2]) \
                and any(t not in STOP and t not in HISTORY for t in out[:i]):
            out[i:i + 2] = ["after"]  # "hypothyroidism s/p thyroidectomy": a condition after it, not its status
            break
    for i in range(len(out) - 1):
        if out[i] not in AFTER or out[i + 1] in SURGERY_NOUNS:
            continue
        if i + 2 < len(out) and out[i + 2] in SURGERY_NOUNS:
            out[i + 1], out[i + 2] = out[i + 2], out[i + 1]  # "after thyroid surgery": "after surgery" + "thyroid"
        elif SURGERY_WORD.search(out[i + 1]):
            out.insert(i + 1, "surgery")
            break
    return out


PREFIX_WORDS = {"pre", "post", "anti", "sub", "peri", "intra", "para", "pseudo", "hyper", "hypo", "semi", "multi",
                "poly", "neo", "retro", "trans"}
TIME_PREFIX = {"after": "post", "following": "post", "before": "pre"}


def _prefixed_form(prefix: str, word: str, vocab: Vocabulary) -> str | None:
    """The index word a prefix typed apart makes with the next word, in any derived form: "pre diabetic" ->
    "prediabetes", "post menopause" -> "postmenopausal"."""
    if prefix not in PREFIX_WORDS or len(word) < 4 or not word.isalpha():
        return None
    joined = prefix + word
    if joined in vocab.df:
        return joined
    forms = [t for t in vocab.prefixed(joined[:len(prefix) + 5]) if _same_word(joined, t)]
    return max(forms, key=lambda t: vocab.df[t]) if forms else None


def _as_prefix(tokens: list[str], vocab: Vocabulary) -> list[str]:
    """"bleeding after menopause" is postmenopausal bleeding (N95.0): a time word before a word the index holds
    with post- or pre- joined is that prefix."""
    out = list(tokens)
    for i, token in enumerate(out[:-1]):
        prefix = TIME_PREFIX.get(token)
        if prefix and out[i + 1] not in SURGERY_NOUNS and _prefixed_form(prefix, out[i + 1], vocab):
            out[i] = prefix
    return out


X_ADJECTIVES = {"cal", "cic", "geal", "ceal", "gal"}


def _ruled_out(tokens: list[str]) -> list[str]:
    """"chest pain mi ruled out", "chest pain r/o mi": a condition ruled out (or still to rule out) is not coded
    in the outpatient setting; the symptom is (guideline IV.H, R07.9). The condition is asked as absent when the
    query names something else; "mi ruled out" alone stays a search for the ruled-out encounter codes (Z03.-)."""
    for i in range(len(tokens) - 1):
        if tokens[i] in ("rule", "ruled") and tokens[i + 1] == "out":
            before, after = tokens[:i], tokens[i + 2:]
            if not after:
                # the condition named last: one word, or the phrase it ends ("chest pain heart attack ruled out")
                size = next((n for n in (3, 2) if len(before) >= n and tuple(before[-n:]) in synonyms()), 1)
                before, after = before[:-size], before[-size:]
            if after and any(t not in STOP for t in before):
                return before + ["no"] + after
    return tokens


def _intact(tokens: list[str]) -> list[str]:
    """"nail intact" is a finger laceration "without damage to nail" (S61.211A), not one with it: the part said
    to be intact is ruled out as damaged, and nothing after it is."""
    for i, token in enumerate(tokens):
        if token == "intact" and i > 0 and tokens[i - 1] not in STOP:
            return tokens[:i - 1] + ["without", "damage", "to", tokens[i - 1], "with"] + tokens[i + 1:]
    return tokens


def _word_forms(word: str, vocab: Vocabulary) -> list[tuple[str, ...]]:
    """"falls" also means "falling" (Z91.81 'History of falling'), "vulvar" "vulva": forms of a word that its stem
    and its candidate search (six letters at least) do not reach."""
    base = stem(word)
    forms = [base + "ing"] if base != word and 3 <= len(base) < 6 else []  # "box" is not "boxing"
    if len(word) > 4 and word.endswith("ar"):
        forms.append(word[:-1])  # the noun of an adjective in -ar: vulvar is vulva (C51.9), ulnar is ulna
    if len(word) >= 5 and word.endswith("x"):
        # an organ in -x and its adjective: cervix/cervical, thorax/thoracic, larynx/laryngeal, appendix/appendiceal
        forms += [t for t in vocab.prefixed(word[:-1]) if t[len(word) - 1:] in X_ADJECTIVES]
    return [(f,) for f in forms if f in vocab.df]


DRUG_CLASS_FILLER = STOP | {"other", "unspecified", "agents", "agent", "drugs", "drug", "preparations",
                             "substances", "and", "primarily", "affecting", "system", "mainly", "acting", "not",
                             "elsewhere", "classified", "medicaments", "biological", "predominantly"}
DRUG_EVENT = {"adverse", "effect", "effects", "poisoning", "underdosing", "toxic", "toxicity", "overdose",
              "prescribed"}
CAUSES = {"due", "from", "induced", "caused", "secondary"}
# How the tabular says a condition is caused by a drug (M10.2 'Drug-induced gout', E03.2 'Hypothyroidism due to
# medicaments and other exogenous substances', I95.2 'Hypotension due to drugs')
DRUG_TABLE_CODE = re.compile(r"T(3[6-9]|4\d|50)")  # poisoning, adverse effect, underdosing (T36-T50)
DRUG_CAUSED_SHARE = 0.15
DRUG_CAUSED = [("drug",), ("drugs",), ("medicament",), ("medicaments",), ("medication",)]


def _drug_caused(query: Query, tokens: list[str], vocab: Vocabulary) -> None:
    """"hypothyroid d/t amiodarone", "steroid induced hyperglycemia": a condition due to a substance of the Table
    of Drugs is the drug-induced condition (E03.2), coded with the adverse effect (T46.2X5-) after it; the
    substance is also said by the codes' "drug" and "medicaments". Only when the query names something else the
    substance caused."""
    if not CAUSES & set(tokens):
        return
    def classes(concept: Concept) -> list[tuple[str, ...]]:
        return [(w,) for alt in concept.alternatives for w in vocab.substances.get(" ".join(alt), ())]
    drugs = [c for c in query.concepts
             if any(" ".join(alt) in vocab.substances for alt in c.alternatives) and not c.negated]
    others = [c for c in query.concepts if c not in drugs and not _qualifier(c) and not c.negated and not c.soft
              and not {w for alt in c.alternatives for w in alt} & CAUSES]
    said = {w for c in query.concepts for alt in c.alternatives for w in alt}
    if not drugs or not others or said & DRUG_EVENT:
        return  # "side effect from prednisone", "bleeding from coumadin taken as prescribed": the T code is asked
    query.drug_caused = tuple(vocab.adverse[" ".join(alt)] for c in drugs for alt in c.alternatives
                              if " ".join(alt) in vocab.adverse)
    for concept in drugs:
        added = DRUG_CAUSED + classes(concept)
        concept.alternatives += [alt for alt in dict.fromkeys(added) if alt not in concept.alternatives]
        concept.stemmed = [tuple(stem(w) for w in alt) for alt in concept.alternatives]


# A part of a limb, the face or the trunk, as procedure codes name the region ("intermediate repair ... trunk
# and/or extremities", "excision ... trunk, arms or legs": medcode's 11400-11446, 12001-13153 descriptions say
# arms/legs, hands/feet, face, trunk). A code that names the part itself ("X-ray of the forearm") still fits better.
ARM, LEG, HAND, FOOT, FACE, TRUNK = ("arm",), ("leg",), ("hand",), ("feet", "foot"), ("face",), ("trunk",)
LIMB_PARTS = {"forearm": ARM, "elbow": ARM, "wrist": ARM, "thigh": LEG, "knee": LEG, "calf": LEG, "shin": LEG,
              "ankle": LEG, "finger": HAND, "thumb": HAND, "palm": HAND, "toe": FOOT, "heel": FOOT, "sole": FOOT,
              "forehead": FACE, "cheek": FACE, "chin": FACE, "temple": FACE, "eyebrow": FACE, "back": TRUNK,
              "chest": TRUNK, "abdomen": TRUNK, "belly": TRUNK, "buttock": TRUNK, "flank": TRUNK}
REGION_SHARE = 0.5
# A diagnosis code names the region a toe or a finger is in where it has no code of the part (M10.072 'Idiopathic
# gout, left ankle and foot'; M79.644 'Pain in right finger(s)' has one, and names the finger).
ICD_PARTS = {"toe": FOOT, "great toe": FOOT, "big toe": FOOT, "heel": FOOT, "finger": HAND, "thumb": HAND}


def _limb_parts(query: Query, icd: bool = False) -> None:
    """"2 cm forearm lac": the forearm is in part the "arms" of a repair code's region (REGION_SHARE); "gout
    great toe" in part the foot of M10.07- 'ankle and foot'."""
    for concept in query.concepts:
        if not concept.negated:
            concept.regions = (ICD_PARTS if icd else LIMB_PARTS).get(stem(concept.text), ())
            concept.region_named = icd


AREA = re.compile(r"^(\d+)x(\d+)$")
LENGTH_CODED = {"lac", "laceration", "lacs", "repair", "closure", "excision", "excise", "lesion", "suture", "sutures"}
AREA_IN_TEXT = re.compile(r"\b(\d+)x(\d+)\b")
# A HCPCS title that sizes the product by area ("pad size 16 sq. in. or less", "per sq cm")
SIZED_BY_AREA = re.compile(r"\bsq\.? ?(?:in|cm)\b|\bsquare (?:inch|centimeter)", re.I)


def _pad_area(tokens: list[str]) -> list[str]:
    """"alginate dressing 4x6": a pad's sides are its area, as HCPCS sizes dressings (A6197 'more than 16 sq. in.
    but less than or equal to 48 sq. in.'), and a graft's in cm its sq cm (15271 'first 25 sq cm'); a repair or
    an excision is coded by length, its longest side ("lac repair face 2x1 cm" is 12011 '2.5 cm or less')."""
    out: list[str] = []
    by_length = bool(LENGTH_CODED & set(tokens))
    i = 0
    while i < len(tokens):
        typed = AREA.match(tokens[i])
        apart = tokens[i + 1:i + 2] == ["x"] and i + 2 < len(tokens) and tokens[i].isdigit() and tokens[i + 2].isdigit()
        sides = (typed[1], typed[2], 1) if typed else (tokens[i], tokens[i + 2], 3) if apart else None
        if sides:
            low, high = sorted((int(sides[0]), int(sides[1])))
            out.append(str(high if by_length else low * high))
            i += sides[2]
            continue
        out.append(tokens[i])
        i += 1
    return out


def _both_sides(query: Query) -> None:
    """"both eyes": a bilateral code says "bilateral" without naming the eye again, so the organ after a
    bilateral word is satisfied by it (H25.13 'Age-related nuclear cataract, bilateral')."""
    for before, after in zip(query.concepts, query.concepts[1:]):
        if before.side == "bilateral" and any(stem(w) in SIDED for alt in after.alternatives for w in alt):
            after.alternatives.append(("bilateral",))
            after.stemmed.append(("bilateral",))
            after.weight = min(after.weight, SIDE_WEIGHT)


def _doses(tokens: list[str], measures=()) -> tuple[list[str], set[int]]:
    """Split "80mg" into "80 mg"; return the tokens and the positions of dose numbers (and of sizes, when
    `measures` names their units)."""
    split: list[str] = []
    for token in tokens:
        match = DOSE.match(token) or SIZE.match(token) or LITRES.match(token) or TIMED.match(token)
        views = VIEWS.match(token)
        split += [match.group(1), match.group(2)] if match else [views.group(1), "views"] if views else [token]
    for i in range(len(split) - 1):
        if split[i].isdigit() and split[i + 1] in LITRE_WORDS:
            # "NS 1 liter": HCPCS states volumes in cc or ml (J7030 'normal saline solution, 1000 cc')
            split[i], split[i + 1] = str(int(split[i]) * 1000), "cc"
    units = DOSE_UNITS | set(measures)
    doses = {i for i, t in enumerate(split) if t.isdigit() and i + 1 < len(split) and split[i + 1] in units}
    return split, doses | {i + 1 for i in doses}  # the number and its unit


def _add_concept(query: Query, text: str, alternatives: list[tuple[str, ...]], vocab: Vocabulary,
                 negated: bool = False, dose: bool = False) -> None:
    alternatives = [tuple(w for w in alt if w not in STOP) for alt in alternatives]
    alternatives = [alt for alt in dict.fromkeys(alternatives) if alt]
    if not alternatives:
        return
    flat = {w for alt in alternatives for w in alt}
    # A side is a spelling of nothing but a side and the part it is of ("rt", "od" = right eye); "lbbb" (left
    # bundle branch block) names a condition
    side = next((LATERALITY[w] for alt in alternatives for w in alt if w in LATERALITY
                 and all(v in LATERALITY or v in SIDED for v in alt)), None)
    if side and len(alternatives[0]) == 1:
        query.laterality = side
    encounter = flat & ENCOUNTERS
    if encounter and (len(alternatives[0]) == 1 or all(encounter & set(alt) for alt in alternatives[1:])):
        query.encounter = next(iter(encounter))  # "follow up" -> subsequent encounter
    number = int(re.match(r"\d+", text).group()) if NUMBER.match(text) else None
    if number is not None and str(number) in ROMAN_OF:
        # "cin 1": the index reads "CIN I" as 1, but its text (and so the candidate search) still says "i"
        alternatives = alternatives + [(ROMAN_OF[str(number)],)]
    if number is not None and str(number) in SPELLED_OF:
        alternatives = alternatives + [(SPELLED_OF[str(number)],)]  # "2" is also "two" as a title says it
    # Weigh a concept by the spellings the index holds: "rt" is rare, but it means "right", which is common.
    # An abbreviation the index happens to hold ("lac", "subq") weighs what its expansion does, not its own rarity.
    spelled = [alt for alt in alternatives[1:] if all(w in vocab.df for w in alt)] if len(alternatives[0]) == 1 \
        and len(alternatives[0][0]) <= 4 else []
    known = spelled or [alt for alt in alternatives if all(w in vocab.df for w in alt)] or alternatives
    # Numbers (minutes, views, stage, type) decide between sibling codes: weigh them like a rare word.
    weight = 5.0 if number is not None else max(_spelling_weight(alt, vocab) for alt in known)
    if dose:
        weight = DOSE_WEIGHT
    soft = not dose and (text in FILLER or text in PAYER_WORDS or text in PACKAGING)
    if soft:
        weight *= FILLER_SHARE
    if side and len(alternatives[0]) == 1:
        weight = min(weight, SIDE_WEIGHT)  # a side chooses between sibling codes, not between conditions
    # "unsteady" is not in the index but "unsteadiness" is: a derived form counts as known
    derived = len(text) >= 6 and text not in vocab.df and any(_same_word(text, t) for t in vocab.prefixed(text[:6]))
    if number is None and not derived and not any(all(w in vocab.df for w in alt) for alt in alternatives):
        weight *= UNKNOWN_WEIGHT  # a word no code uses: the answer cannot be about what was asked
    exact = (len(alternatives) == 1 and len(alternatives[0]) == 1 and text not in vocab.df and not derived
             and is_english(text))
    concept = Concept(text=text, alternatives=alternatives, weight=weight, number=number, exact=exact, dose=dose,
                      bound=query.bounds.get(number) if number is not None else None,
                      soft=soft,
                      negated=negated and number is None, side=side if len(alternatives[0]) == 1 else None,
                      postings=sum(min(vocab.df.get(w, 0) for w in alt) for alt in alternatives),
                      compounds=_compounds(alternatives, vocab),
                      broader=broader_terms().get(tuple(words(text)), frozenset()))
    query.concepts.append(concept)
    for word in (w for alt in concept.stemmed for w in alt if len(w) >= 6):
        query.roots.setdefault(word[:6], set()).add(word)


# A condition word with a number or extent joined before it names the same condition in more places
# (polyneuropathy, mononeuropathy, pansinusitis, pancytopenia, radiodermatitis): it answers the plain word in
# part, when no code says the word itself ("alcoholic neuropathy" is G62.1 'Alcoholic polyneuropathy').
COMPOUND_PREFIXES = ("poly", "mono", "pan", "radio")
CONDITION_ENDINGS = ("itis", "pathy", "penia", "algia")
COMPOUND_SHARE = 0.7


def _compounds(alternatives: list[tuple[str, ...]], vocab: Vocabulary) -> tuple[str, ...]:
    found = []
    for alt in alternatives:
        for word in alt:
            if len(word) >= 7 and word.endswith(CONDITION_ENDINGS):
                found += [p + word for p in COMPOUND_PREFIXES if p + word in vocab.df]
    return tuple(dict.fromkeys(found))


def _spelling_weight(words_: tuple[str, ...], vocab: Vocabulary) -> float:
    """A spelling weighs between the mean and the rarest of its words' weights: "pseudophakia" spelled
    "presence of intraocular lens" is as telling as "intraocular", not as common as "presence"."""
    weights = [vocab.idf(w) for w in words_]
    return (1 - RAREST_SHARE) * sum(weights) / len(weights) + RAREST_SHARE * max(weights)


def fts_expression(concepts: list[Concept], require_all: bool) -> str:
    """Return the FTS5 MATCH expression: every word quoted (never raw user text), stems as prefixes."""
    groups = []
    for concept in concepts:
        options = []
        for alt in concept.alternatives:
            terms = [f'"{w}"' if concept.exact else _fts_term(w) for w in alt]
            options.append("(" + " AND ".join(terms) + ")" if len(terms) > 1 else terms[0])
        options += [_fts_term(w) for w in concept.compounds]
        if concept.region_named:  # "gout great toe": M10.072 '... ankle and foot' is a candidate too
            options += [_fts_term(w) for w in concept.regions]
        groups.append("(" + " OR ".join(dict.fromkeys(options)) + ")")
    return (" AND " if require_all else " OR ").join(groups)


def _fts_term(word: str) -> str:
    base = os.path.commonprefix([word, stem(word)])  # scabies -> scaby: the index holds "scabies"
    # The root ranking accepts derived forms (diabet-es / diabet-ic, pancrea-tic / pancrea-s: all but the last
    # three letters, at least six), so candidates include them without reaching unrelated words (hypert-rophy).
    base = base[:max(6, len(base) - FTS_TRIM)]
    safe = base.replace('"', "")
    return f'"{safe}"*' if len(base) >= 3 and not base.isdigit() else f'"{safe}"'


# --- ranking -------------------------------------------------------------------------------------------------


@dataclass
class _Alias:
    """One description or inclusion term, analysed at index time (codedata.text.analyse)."""

    text: str
    stems: list[str]
    defaults: set[int]  # positions of words that add no specificity (parenthesised or after "without")
    negated: set[int]  # positions of words after "without": they cannot satisfy what the query asks for
    roots: dict[str, set[str]] = field(default_factory=dict)  # 6-letter root -> words, for derived forms
    positive: frozenset = frozenset()  # words that can satisfy the query (not after "without")
    absent: frozenset = frozenset()  # words after "without": they satisfy a negated query word
    content: tuple = ()  # words that would make the code more specific than asked, unless asked for
    side: str | None = None
    plain: bool = False  # an unspecified / NOS / NEC / "without ..." form
    excluded: frozenset = frozenset()  # the word after "excludes": "infliximab, excludes biosimilar" is the brand
    sideless_sibling: bool = False  # "unspecified knee": the family has sides, this one leaves them out
    brands: tuple = ()  # the brand the code's title names in parentheses (J2311 '(zimhi)'), in any of its names
    routes: frozenset = frozenset()  # the routes the code's title names (S0119 'Ondansetron, oral, 4 mg')
    populations: tuple = ()  # whom the code's title is for (A4772 '..., for dialysis'), in any of its names
    _numbers: list[tuple[int, int]] | None = None
    _listed: tuple[tuple[str, ...], ...] | None = None

    @property
    def numbers(self) -> list[tuple[int, int]]:
        if self._numbers is None:
            self._numbers = list(_numbers_of(self.text)) if self.text else numbers_in(self.text, self.stems)
        return self._numbers

    @property
    def listed(self) -> tuple[tuple[str, ...], ...]:
        """The word lists that name one choice among several ("forehead/cheek/chin/...", "trunk, arms or legs")."""
        if self._listed is None:
            self._listed = _choices_of(self.text)
        return self._listed


# What the regular expressions read in a description, kept by its text across searches: the same titles come
# back search after search. Tuples of strings and numbers only, which the garbage collector does not track.
TEXTS_KEPT = 50_000


@lru_cache(maxsize=TEXTS_KEPT)
def _numbers_of(text: str) -> tuple[tuple[int, int], ...]:
    return tuple(numbers_in(text, []))


@lru_cache(maxsize=TEXTS_KEPT)
def _choices_of(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(stem(w) for w in words(found)) for found in CHOICES.findall(text.lower()))


@lru_cache(maxsize=TEXTS_KEPT)
def _brands_in_parentheses(text: str) -> tuple[str, ...]:
    return tuple(w for w in BRAND_IN_PARENTHESES.findall(text.lower()) if not is_english(w))


# A slash list ("face/ears/eyelids") or an "or" list ("scalp, neck, hands, feet or genitals") of single words
CHOICES = re.compile(r"[a-z]+(?:\s*/\s*[a-z]+)+|[a-z]+(?:, [a-z]+)*,? (?:and/)?or [a-z]+")
ALIAS_MARKERS = frozenset({"unspecified", "not", "no", "foreign", "non", "up"})  # the words _alias reads a phrase at


def _alias(stored: list) -> _Alias:
    text, joined, optional, negated = stored
    stems = joined.split()
    if any(AREA.match(word) for word in stems):  # "alginate 4x4": a pad's area, as the query's (_pad_area)
        stems = [str(int(m[1]) * int(m[2])) if (m := AREA.match(word)) else word for word in stems]
        text = AREA_IN_TEXT.sub(lambda m: str(int(m[1]) * int(m[2])), text)
    defaults, negated = set(optional), set(negated)
    for i in [i for i, word in enumerate(stems) if word in ALIAS_MARKERS]:
        word = stems[i]
        if stems[i:i + 3] == ["unspecified", "whether", "with"]:
            # "unspecified whether with hypoxia or hypercapnia" (J96.00): the plain form; those words are left open
            left_open = [i + 3] + ([i + 4, i + 5] if stems[i + 4:i + 5] == ["or"] else [])
            defaults.update(j for j in [i + 1, i + 2] + left_open if j < len(stems))
            negated.update(j for j in left_open if j < len(stems))
        elif stems[i:i + 3] == ["not", "specified", "as"] or stems[i:i + 2] == ["unspecified", "as"]:
            # "not specified as recurrent" (A04.72, K40.90), "unspecified as acute or chronic" (K25.9): the plain
            # form, for a query that does not say which; the words left open are the next one, or two joined by
            # "or"
            first = i + (3 if word == "not" else 2)
            left_open = [first] + ([first + 1, first + 2] if stems[first + 1:first + 2] == ["or"] else [])
            defaults.update(j for j in [i + 1] + left_open if j < len(stems))
            negated.update(j for j in left_open if j < len(stems))
        elif stems[i:i + 3] == ["not", "having", "achieved"] and i + 3 < len(stems):
            # "not having achieved remission" (C91.10): the remission is what is ruled out, the default state
            defaults.update((i + 1, i + 2, i + 3))
            negated.add(i + 3)
        elif stems[i:i + 3] == ["not", "otherwise", "specified"]:  # NOS (J3301): the plain form, no detail
            defaults.update((i, i + 1, i + 2))
        elif word in ("not", "no") and i + 1 < len(stems) and stems[i + 1] not in UNSPECIFIC:
            # "not intractable" (G44.209), "not obstructed": the plain state, for a query that does not say it;
            # "foam dressing 6x6 no border" (A6210): "no" as a biller's name for a code says it
            defaults.update((i, i + 1))
            negated.add(i + 1)
        elif word == "unspecified":  # "unspecified quadrant", "part unspecified": the axis left open is no detail,
            # and it does not answer a query that names one ("first trimester" is not "unspecified trimester")
            axes = [j for j in (i - 1, i + 1) if 0 <= j < len(stems) and stems[j] in OPEN_AXES]
            if stems[i + 1:i + 3] == ["number", "of"]:
                # "unspecified number of placenta and unspecified number of amniotic sacs" (O30.00-): what is
                # counted is left open too
                axes += [j for j in (i + 1, i + 3, i + 4) if j < len(stems) and stems[j] != "and"]
            defaults.update(axes)
            negated.update(axes)
        elif word == "foreign" and stems[i + 1:i + 3] == ["body", "of"] and i + 1 in negated:
            # "Laceration without foreign body of scalp": what is absent is the foreign body, not the scalp
            end = next((j for j in range(i + 3, len(stems)) if stems[j] == "without"), len(stems))
            site = set(range(i + 3, end))  # up to a second "without" ("without damage to nail")
            negated -= site
            defaults -= site
        elif word == "non" and i + 1 < len(stems):  # "non-moving wheelchair": the plain form of the thing
            defaults.update((i, i + 1))
            negated.add(i + 1)
        elif word == "up" and stems[i + 1:i + 3] and stems[i + 1] == "to" and stems[i + 2].isdigit():
            defaults.add(i)  # "up to 2.5 cm" is a size, said by the number (numbers_in)
    roots: dict[str, set[str]] = {}
    for word in stems:
        if len(word) >= 6:
            roots.setdefault(word[:6], set()).add(word)
    return _Alias(
        text=text, stems=stems, defaults=defaults, negated=set(negated), roots=roots,
        positive=frozenset(w for i, w in enumerate(stems) if i not in negated) if negated else frozenset(stems),
        absent=frozenset(stems[i] for i in negated if i < len(stems)),
        content=tuple(w for i, w in enumerate(stems) if w not in UNSPECIFIC and i not in defaults),
        side=next((LATERALITY[w] for w in stems if w in LATERALITY), None),
        plain=bool(set(stems) & DEFAULT_MARKERS) or "without" in stems or "not specified" in joined
        or "not otherwise specified" in joined,
        sideless_sibling="unspecified" in stems and any(w in SIDED for w in stems),
        excluded=frozenset(stems[i + 1] for i, w in enumerate(stems[:-1]) if w in ("exclude", "excluding")),
    )


# Endings that make a derived form of the same word (diabet-es/-ic, menopaus-e/-al, fractur-e/-ed); what
# remains of parkin-g / parkin-son after the shared letters is not one.
ENDINGS = {"", "s", "es", "e", "ic", "ical", "al", "ia", "y", "ies", "ed", "ing", "er", "ous", "ity", "ism", "ist",
           "tic", "d",
           "ion", "ive", "a", "ae", "um", "us", "i", "ate", "ated", "ation", "ary", "ly", "ia", "ias", "is", "es",
           "ae", "ic", "id", "oid", "itis", "osis", "otic", "al", "ally", "iness", "ness",
           "sis",  # giardia / giardiasis: the organism and its infection
           "nce"}  # occurred / occurrence (Y92.- 'place of occurrence')


@lru_cache(maxsize=65536)
def _same_word(a: str, b: str) -> bool:
    """Derived forms differ only at the end (diabetes/diabetic, menopause/menopausal); cerebral/cerebellar,
    pneumonia/pneumothorax and hyponatremia/hyponasality do not."""
    if a == b:
        return True
    shared = len(os.path.commonprefix([a, b]))
    if shared < 6 or shared < min(len(a), len(b)) - 2:
        return False
    if {a[shared:], b[shared:]} == {"a", "iasis"}:
        return True  # the organism in -a and its infection: candida / candidiasis (not elephant / elephantiasis)
    if abs(len(a) - len(b)) > 3 and "iness" not in (a[shared:], b[shared:]):  # unsteady / unsteadiness
        return False
    if {a[shared:], b[shared:]} in ({"", "l"}, {"", "r"}, {"", "ry"}):
        # a noun in -a and its adjective: chlamydia(l), urethra(l), vagina(l), vulva(r), macula(r), patella(r),
        # axilla(ry) (L02.41- 'Cutaneous abscess of axilla'), maxilla(ry), papilla(ry)
        return a[-1] == "a" or b[-1] == "a"
    if {a[shared:], b[shared:]} in ({"ve", "on"}, {"ve", "onal"}) and a[shared - 1] == "i":
        return True  # infective/infection, postconcussive/postconcussional (F07.81)
    if {a[shared:], b[shared:]} in ({"t", "ce"}, {"t", "cy"}) and a[shared - 1] == "n":
        return True  # a state and who is in it: incompetent/incompetence, deficient/deficiency, pregnant/pregnancy
    if {a[shared:], b[shared:]} == {"m", "tic"} and a[shared - 2:shared] == "as":
        return True  # neoplasm/neoplastic (D63.0 'Anemia in neoplastic disease'), spasm/spastic
    if {a[shared:], b[shared:]} in ({"c", "a"}, {"c", "as"}) and a[shared - 1] == "i":
        return True  # a condition in -ia and its adjective in -ic: neutropenia/neutropenic, ischemia/ischemic
    return a[shared:] in ENDINGS and b[shared:] in ENDINGS


def _word_in(word: str, stems: set[str], roots: dict[str, set[str]]) -> bool:
    if word in stems:
        return True
    return len(word) >= 6 and any(_same_word(word, s) for s in roots.get(word[:6], ()) if s in stems)


def _concept_match(concept: Concept, alias: _Alias, stems: set[str]) -> tuple[float, tuple[str, ...]]:
    if concept.number is not None:
        return _number_match(concept, alias), (concept.text,)
    if concept.text == "normal" and "abnormal" in alias.absent:  # Z00.00 'without abnormal findings'
        return 1.0, ("normal",)
    if concept.negated:
        return _negated_match(concept, alias)
    best, words_hit = 0.0, []
    for alt in concept.stemmed:
        hit = [w for w in alt if (w in stems if concept.exact else _word_in(w, stems, alias.roots))]
        if len(hit) < len(alt) and "than" in alt:
            # "other than wood" (E0114) in part is the wood it rules out (E0112); its short name says "no wood"
            ruled_out = alt[alt.index("than") + 1:]
            hit = list(alt) if ruled_out and all(w in alias.absent for w in ruled_out) else []
        share = len(hit) / len(alt) * (BROADER_SHARE if alt in concept.broader else 1)
        if share == 1 and any(len(other) > len(alt) and set(alt) < set(other) for other in concept.stemmed):
            share = SUBSET_SHARE  # "methylprednisolone" when "methylprednisolone acetate" was meant
        best = max(best, share)
        words_hit += hit  # every synonym present is "asked for", not extra detail
    if best < COMPOUND_SHARE:
        joined = [w for w in concept.compounds if w in stems]
        if joined:
            best, words_hit = COMPOUND_SHARE, words_hit + joined
    if best < REGION_SHARE:
        # in a region list ("trunk, arms or legs"), not a code for the whole ("X-ray of the hand" is not a finger's)
        region = [w for w in concept.regions
                  if w in stems and (concept.region_named or any(w in group for group in alias.listed))]
        if region:
            best, words_hit = REGION_SHARE, words_hit + region
    if concept.side and not best and alias.side is None and not alias.sideless_sibling:
        best = SIDELESS_CREDIT  # a condition coded without sides (ingrowing nail) still answers "right big toe"
    return best, tuple(words_hit)


def _negated_match(concept: Concept, alias: _Alias) -> tuple[float, tuple[str, ...]]:
    """"without X": a code that says "without X" answers it; one that omits X is its plain form (nearly as
    good); one that has X answers the opposite (NEGATED_PRESENT)."""
    absent = set(alias.absent)
    said = [w for alt in concept.stemmed for w in alt if _word_in(w, absent, alias.roots)]
    if said:
        return 1.0, tuple(said)
    if any(all(_word_in(w, alias.positive, alias.roots) for w in alt) for alt in concept.stemmed):
        return NEGATED_PRESENT, ()
    return 0.5 if concept.named else 0.85, ()  # a code silent on X is no "non-X" test


FLOOR_MATCH = 0.95  # a number at the floor of a code's open range


def _number_match(concept: Concept, alias: _Alias) -> float:
    found = _value_match(concept, concept.number, alias)
    return max(found, _value_match(concept, concept.minutes, alias)) if concept.minutes else found


def _value_match(concept: Concept, value: int, alias: _Alias) -> float:
    if concept.bound:
        # "age 5+" meets "age 5 or older" (5 to any), not "under age 5" (0 to 4)
        low, high = concept.bound
        if any(a <= high and low <= b for a, b in alias.numbers):
            return 1.0 if (low, high) in alias.numbers else 0.9
        return 0.0
    if any(low == high == value for low, high in alias.numbers) or any(
            alt[0] in alias.stems for alt in concept.alternatives if not alt[0].isdigit()):
        return 1.0  # the number, or its spelling ("two horizontal muscles", "CIN I", "3a"); never the 5 of "2.5 cm"
    # "25 minutes" falls in "20+ minutes": a range counts, the closer its floor the better; "2 cm" is all of
    # "2.5 cm or less" (0 to 2).
    inside = [low for low, high in alias.numbers if low <= value <= high and low != high]
    if not inside:
        return 0.0
    if value in inside:
        return FLOOR_MATCH  # "2 views" is all that "at least 2 views" asks
    return 0.9 if min(inside) == 0 else 0.9 - 0.3 * (value - max(inside)) / max(value, 1)


def _matched(word: str, matched: set[str], roots: dict[str, set[str]]) -> bool:
    if word in matched:
        return True
    return len(word) >= 6 and any(_same_word(word, m) for m in roots.get(word[:6], ()) if m in matched)


@lru_cache(maxsize=1)
def _default_codes() -> dict[str, list[tuple[frozenset[str], frozenset[str]]]]:
    """Undotted code -> (stemmed words said, words ruled out) of each term it is the Alphabetic Index default of."""
    table: dict[str, list[tuple[frozenset[str], frozenset[str]]]] = {}
    for term, code in search_index.default_terms():
        said, ruled_out, negating = set(), set(), False
        for word in words(term):
            if word in NEGATIONS:
                negating = True
            elif word not in STOP:
                (ruled_out if negating else said).add(stem(word))
        table.setdefault(code, []).append((frozenset(said), frozenset(ruled_out)))
    return table


def _is_default_for(query: Query, code: str) -> bool:
    """True when the query names a term whose default code this is ("osteoporosis ..." and M81.0), what the term
    rules out ruled out in the query too ("migraine without aura" and G43.009)."""
    terms = _default_codes().get(code)
    if not terms:
        return False
    # as typed, not synonyms
    asked = {stem(w) for c in query.concepts if not c.negated for w in words(c.text)}
    denied = {stem(w) for c in query.concepts if c.negated for w in words(c.text)}
    # a derived form typed is the term ("dehydrated" names "dehydration", E86.0)
    return any(all(any(_same_word(w, a) for a in asked) for w in said) and ruled_out <= denied
               for said, ruled_out in terms)


def score_alias(query: Query, alias: _Alias, icd: bool = True, implied: bool = False) -> float:
    """Return how well one description or inclusion term answers the query (higher is better). `implied`: the
    code is the default of a term the query names, so its unasked words are what that default means."""
    stems = alias.positive  # words after "without" answer only a negated query word (_negated_match)
    total = sum(c.weight for c in query.concepts) or 1.0
    matched: set[str] = set()
    coverage = 0.0
    sized = False
    unmet, named = [], False
    for concept in query.concepts:
        part, hit = _concept_match(concept, alias, stems)
        coverage += concept.weight * part
        matched.update(hit)
        sized = sized or (concept.number is not None and part > 0)
        if part < 1:
            unmet.append((concept, part))
        elif concept.number is None and concept.text not in GIVEN_WORDS:
            named = True
    if len(alias.routes) == 1 and named:
        # A dosed drug code is the drug, given its way: "remicade infusion drug" is J1745 'Injection, infliximab,
        # ... 10 mg', once another word has named the drug. Only an injection of no stated kind is given by any
        # injection: J3358 'Ustekinumab, for intravenous injection' is not "stelara sq" (Q0163's oral drug "for
        # ... an iv anti-emetic" names two routes: it answers neither).
        given = DRUG_WORDS | (ROUTES["injected"] if alias.routes == {"injected"} and not alias.positive & (
            ROUTES["injected"] - INJECTION_WORDS) else frozenset())
        coverage += sum(c.weight * (1 - part) for c, part in unmet if c.text in given)
    if query.history and not query.relatives:
        matched.add("personal")  # "history of X" is the patient's own history
    if query.laterality in ("right", "left"):
        matched.add("unilateral")  # "rt thumb cmc oa": one side said is the unilateral code (M18.11)
    extras = [w for w in alias.content if not _matched(w, matched, query.roots)] if not implied else []
    if not icd:  # a procedure "without side rails" is a product variant, not the plain default
        # and when the asked number is in the code's range, its digits ("2.6 to 7.5") were asked
        extras = [w for w in extras if w not in PROCEDURE_DEFAULTS and not (sized and w.isdigit())]
        # the sites a repair code lists are choices: one asked, the others are not more detail than asked
        chosen = [group for group in alias.listed if any(_matched(w, matched, query.roots) for w in group)]
        extras = [w for w in extras if not any(w in group for group in chosen)]
        extras += [w for w in alias.absent if w not in NEUTRAL and w not in STOP and w not in alias.excluded
                   and not _matched(w, matched, query.roots)]
        # A brand in parentheses ("triamcinolone acetonide (xipere)") is another product than the one asked for.
        brands = [w for w in _brands_in_parentheses(alias.text) if not _matched(stem(w), matched, query.roots)]
        extras += brands
        if not DRUG_DOSE.search(alias.text):  # "(polysomnography)" names a method; a drug's brand is dosed
            brands = []
        # the short description names the title's brand without parentheses or dose ('inj naloxone hcl zimhi')
        brands += [w for w in alias.brands
                   if w not in brands and w in alias.stems and not _matched(w, matched, query.roots)]
    else:
        brands = []
    # a context word, or another brand than the one asked for, is another setting or product, not more detail
    context = sum(1 for w in extras if w[:6] in CONTEXT_ROOTS and w[:6] not in query.populations) + len(brands)
    context += sum(1 for w in alias.populations if w not in alias.positive and w[:6] not in query.populations)
    generic = sum(1 for w in extras if w in GENERIC_EXTRAS)
    score = coverage / total - 0.05 * min(len(extras), 12) + GENERIC_REFUND * generic - 0.1 * context
    side = alias.side
    if query.laterality and side and side != query.laterality:
        score -= 0.5
    elif icd and not query.laterality and side:
        score -= UNSAID_SIDE  # a side left unsaid is the unspecified-side code (guideline I.B.13), not bilateral
    elif icd and query.laterality and not side and alias.sideless_sibling:
        score -= SAID_SIDE  # and a side said is not the unspecified-side code ("morton's neuroma right foot")
    if query.encounter and (stems & ENCOUNTERS) and query.encounter not in stems:
        score -= 0.5
    elif not query.encounter and stems & {"subsequent", "sequela"}:
        score -= 0.02  # an encounter left unsaid is the initial one (active treatment), not a later one
    asked = {c.number for c in query.concepts if c.number is not None}
    doses = [c.number for c in query.concepts if c.dose and c.number]
    if asked:
        # A number the code states and the query did not ask for is another code's, unless it is the billing
        # unit a dose is counted in ("5000 units" of "heparin, per 1000 units"; "80 mg" of "per 1 mg").
        bounds = [c.bound for c in query.concepts if c.bound]
        score -= 0.12 * sum(1 for low, high in alias.numbers if low == high and low not in asked
                            and not any(low and dose % low == 0 for dose in doses)
                            and not any(a <= low <= b for a, b in bounds))  # "under 1 year" is age 0
    # "... in conditions classified elsewhere" is a manifestation, never coded alone (I.A.13): not the plain
    # "not elsewhere classified" default its "elsewhere" looks like
    manifestation = icd and "elsewhere" in alias.stems and bool(MANIFESTATION.search(" ".join(alias.stems)))
    if icd and (alias.plain or implied) and not manifestation and not query.laterality:
        score += 0.04  # the plain unspecified code for a bare condition name (or the Index default of one)
    if manifestation:
        score -= MANIFESTATION_SHARE
    if query.normal and "abnormal" in stems:
        score -= 0.15  # "normal findings" is the "without abnormal findings" code (Z00.00), not "with" (Z00.01)
    if query.routes and not icd:
        routes = alias.routes | {route for route, said in ROUTES.items() if said & alias.positive}
        if routes and not routes & query.routes:
            score -= ROUTE_SHARE  # the drug given another way
    if alias.absent and not icd:
        # "CT with contrast": a code that is also "without" it (without, then with) is the other service
        score -= 0.06 * sum(1 for w in matched if w in alias.absent)
    return score


def _word_start(word: str) -> str:
    """A pattern for where `word` can satisfy a concept in an alias (_word_in): its 6-letter root at a word's start,
    or, shorter, the whole word."""
    return re.escape(word[:6]) if len(word) >= 6 else rf"\b{re.escape(word)}\b"


def _title_holds_for_all_names(analysed: list[_Alias]) -> None:
    """What a HCPCS title says of the product is true of every name of the code, though its short description
    may leave it out: a dosed drug's brand in parentheses and its route (S0119 'Ondansetron, oral, 4 mg' is
    short-described 'Ondansetron 4 mg'), and whom a supply is for (A4772 '..., for dialysis': 'Blood glucose test
    strips')."""
    title = analysed[0]
    dosed = bool(DRUG_DOSE.search(title.text))
    brands = _brands_in_parentheses(title.text) if dosed else ()
    maker = OTHER_MAKER.search(title.text.lower())
    if maker:  # J0687 'Injection, cefazolin sodium (wg critical care), not therapeutically equivalent to j0690'
        brands += tuple(w for w in words(maker[1]) if not is_english(w) and w not in brands)
        title.brands = brands
    routes = frozenset(route for route, said in ROUTES.items() if said & title.positive) if dosed else frozenset()
    populations = tuple(w for w in title.content if w in HCPCS_POPULATIONS)
    sized = SIZED_BY_AREA.search(title.text) and title.numbers
    ranges = [(low, high) for low, high in title.numbers if low != high]
    title.routes = routes
    for alias in analysed[1:]:
        alias.brands, alias.routes, alias.populations = brands, routes, populations
        if sized:  # "alginate 4x5" names one pad of A6197's range: the title's sizes are the code's
            alias._numbers = title.numbers
        elif ranges and not alias.numbers:
            # "virtual check in" (G2012) is still the title's 5 to 10 minutes; its single numbers may cite other
            # codes (G2212 '99205, 99215'), which are no name's
            alias._numbers = ranges


def rank(query: Query, rows: list[dict], normalised_query: str) -> list[tuple[float, dict]]:
    """Return (score, row) pairs best first; ties go to the shorter description."""
    ranked = []
    # An alias sharing no word (or 6-letter root) with the query scores nothing: only the description and the
    # aliases that do are analysed (a drug-table code carries hundreds of substance names).
    # Of the others, only those within a tenth of the query's weight of the best word overlap are scored.
    # A row whose best possible coverage cannot reach the floor is not scored at all (the bonuses add at most
    # 0.08): a word satisfies a concept only if its first six letters appear in the alias; a negated word or a
    # number may be satisfied without appearing, so it always counts.
    total = sum(c.weight for c in query.concepts) or 1.0
    free = sum(c.weight for c in query.concepts if c.negated or c.number is not None or c.side)
    # (whole words under six letters: "lid" is not in "lidocaine", whose drug-table codes carry 400-word lists)
    keys = [(re.compile("|".join(sorted({_word_start(w) for alt in c.stemmed for w in alt} | {_word_start(c.text)}
                                        | {_word_start(w) for w in c.compounds + c.regions}))),
             c.weight) for c in query.concepts if not (c.negated or c.number is not None or c.side)]
    slack = 0.1 * total
    for row in rows:
        stored = json.loads(row["aliases"])
        bounds = [free + sum(weight for found, weight in keys if found.search(a[1])) for a in stored]
        if max(bounds) / total + 0.08 < MIN_SCORE:
            continue
        if len(stored) > 2:
            floor = max(bounds[1:]) - slack
            kept = sorted(((bound, a) for a, bound in zip(stored[1:], bounds[1:]) if bound > 0 and bound >= floor),
                          key=lambda t: (-t[0], len(t[1][1])))
            stored = stored[:1] + [a for _, a in kept[:ALIASES_SCORED]]
        # Not cached across searches: 100,000 cached alias objects made the garbage collector pause ~150 ms.
        analysed = [_alias(a) for a in stored]
        icd = row["sys"] == "icd10cm"
        for alias in analysed[1:] if row["sys"] == "cpt" else ():
            if not alias.numbers:  # a code's numbers are the code's: "simple lac repair" (12001) is still 2.5 cm
                # (medcode's own short CPT descriptions; a HCPCS title also cites other codes: G2212 '99205, 99215')
                alias._numbers = analysed[0].numbers
        if row["sys"] == "hcpcs":
            _title_holds_for_all_names(analysed)
        if query.laterality and analysed[0].sideless_sibling:
            # the code leaves the side open ("unspecified eye"): so does every other name of it ("dry eye")
            for alias in analysed[1:]:
                alias.sideless_sibling = True
        # a side said is more than the bare term: its default (an unspecified side) is not implied then
        implied = icd and row["billable"] and not query.laterality and _is_default_for(query, row["code"])
        scored = [(score_alias(query, a, icd, implied), a) for a in analysed]
        score, best = max(scored, key=lambda t: t[0])
        if best is scored[0][1]:
            score += TITLE_BONUS  # at equal fit, the code's own title says it better than an inclusion term
        score += 0.03 * fuzz.token_sort_ratio(normalised_query, " ".join(best.stems), processor=None) / 100
        # Add-on codes are reported only with a primary code; Category II codes only track measures.
        if row["kind"] == "add-on":
            score -= 0.05
        if row["sys"] != "icd10cm" and not query.reporting and REPORTING_CODE.match(row["code"]):
            score -= 0.12
        if row["sys"] == "hcpcs" and not query.facility and FACILITY_CODE.match(row["code"]):
            score -= 0.12
        if icd and row["code"][:3] in DIABETES_TYPES and query.diabetes \
                and not DIABETES_TYPES[row["code"][:3]] & query.diabetes:
            score -= DIABETES_TYPE_SHARE
        if icd and query.drug_caused and DRUG_TABLE_CODE.match(row["code"]) \
                and not row["code"].startswith(query.drug_caused):
            # "hypothyroid d/t amiodarone": the drug's own adverse effect (T46.2X5A) is the second code, not
            # poisoning, underdosing or another class's adverse effect, which the added "drug" words also reach
            score -= DRUG_CAUSED_SHARE
        if icd and row["code"].startswith("V") and not query.place and "nontraffic" in row["description"].lower():
            # "A vehicle accident is assumed to have occurred on the public highway unless another place is
            # specified" (icd10cm-tabular-2026-04 line 213067, V00-V99 note c): a traffic accident by default
            score -= NONTRAFFIC_SHARE
        if icd and row["code"].startswith("P") and not query.newborn:
            score -= NEWBORN_SHARE  # chapter 16 is for conditions of the perinatal period (OCG I.C.16)
        if query.medicare and row["sys"] == "hcpcs" and MEDICARE_CODE.match(row["code"]):
            score += MEDICARE_BONUS
        ranked.append((round(score, 4), row, len(best.stems)))
    ranked.sort(key=lambda t: (-t[0], t[2], t[1]["code"]))
    return [(s, r) for s, r, _ in ranked]


# --- search --------------------------------------------------------------------------------------------------


_checked: dict[tuple[int, tuple[str, ...]], int] = {}


def ensure_index(db: sqlite_utils.Database, systems: tuple[str, ...]) -> None:
    """Rebuild the index of any system whose current release it does not reflect (e.g. after an upgrade)."""
    # PRAGMA data_version changes only when another connection commits: no need to look again until then.
    version = db.execute("PRAGMA data_version").fetchone()[0]
    if _checked.get((id(db.conn), systems)) == version:
        return
    stale = [s for s in systems if not search_index.is_current(db, s)]
    if stale:
        with transaction(db):
            for system in stale:
                search_index.rebuild(db, system)
    _checked[(id(db.conn), systems)] = db.execute("PRAGMA data_version").fetchone()[0]


def warm(db: sqlite_utils.Database) -> None:
    """Do the first search's one-time work now (index check, word list, synonyms): a bot calls it on start."""
    ensure_index(db, search_index.SYSTEMS)
    vocabulary(db)
    synonyms()
    _english()


def _candidates(db: sqlite_utils.Database, query: Query, systems: tuple[str, ...]) -> list[dict]:
    """Documents matching every concept; if too few, those missing one concept (least weighty first);
    only then any concept. A plain OR over common words would sort tens of thousands of rows."""
    # A negated concept is met by a code that lacks the word, and a filler or payer word ("disease", "medicare")
    # need not be there: neither narrows the candidates.
    # An English word no code uses (searched as typed) finds nothing: leaving it out saves searches that must
    # come back empty.
    concepts = [c for c in query.concepts if (c.named or not (c.negated or c.soft)) and not c.exact] \
        or query.concepts
    found: dict[tuple[str, str], dict] = {}

    def add(subset: list[Concept], require_all: bool, limit: int) -> None:
        for row in _fts_rows(db, systems, subset, require_all, limit):
            if len(found) >= CANDIDATES:
                return
            found.setdefault((row["sys"], row["code"]), row)

    add(concepts, True, CANDIDATES)
    if len(found) >= ENOUGH_FOUND or len(concepts) < 2:
        return list(found.values())
    rarest = max(concepts, key=lambda c: c.weight)
    with_rarest = False

    def done() -> list[dict]:
        if len(concepts) < 3 or with_rarest or rarest.postings >= OR_COMMON:
            # (a concept in thousands of codes, "f/u" as "subsequent encounter", is no rare word to look for)
            return list(found.values())
        # No candidate has the query's rarest word: "erysipelas lt leg" is A46 'Erysipelas', a code with no site
        # or side, while the codes with the site and side but not the condition filled the searches. The codes
        # with that word alone join the candidates.
        extra = _fts_rows(db, systems, [rarest], True, RAREST_ALONE)
        return list(found.values()) + [r for r in extra if (r["sys"], r["code"]) not in found]

    # Each concept left out in turn, sharing what is left of the budget: the lightest alone could fill it with
    # codes of the heavier concept only ("s/p splenectomy": 150 "presence of ..." codes, no spleen).
    by_weight = sorted(range(len(concepts)), key=lambda i: concepts[i].weight)
    drops = [[c for j, c in enumerate(concepts) if j != i] for i in by_weight[:DROP_ATTEMPTS]]
    drops = [d for d in drops if not all(_qualifier(c) for c in d)]  # "right" or "25" alone says nothing
    named = [c for c in concepts if c.text not in GIVEN_WORDS]
    if "icd10cm" not in systems and len(concepts) - len(named) >= 2 and named:
        drops.append(named)  # "remicade infusion drug": the drug's code says neither how it is given nor "drug"
    for subset in drops:
        before = len(found)
        add(subset, True, max(10, (CANDIDATES - len(found)) // len(drops)))
        with_rarest = with_rarest or (rarest in subset and len(found) > before)
    if len(found) >= OR_UNLESS_FOUND:
        return done()  # codes matching all but one concept beat any that match fewer
    content = [c for c in concepts if not _qualifier(c)] or concepts
    if len(content) >= 3:
        # The any-concept search sorts every document it matches; the commonest concept ("fracture") would
        # add tens of thousands, and the codes it matters for also match the rarer ones.
        commonest = max(content, key=lambda c: c.postings)
        if commonest.postings >= OR_COMMON:
            content = [c for c in content if c is not commonest]
    add(content, False, CANDIDATES)
    return done()


def _qualifier(concept: Concept) -> bool:
    words_ = {w for alt in concept.alternatives for w in alt}
    # "encounter" (in ~40,000 chapter 19 titles) only qualifies, like "initial" or "right"
    return concept.number is not None or bool(words_ & (set(LATERALITY) | ENCOUNTERS | {"encounter"}))


def _fts_rows(db, systems: tuple[str, ...], concepts: list[Concept], require_all: bool,
              limit: int = CANDIDATES) -> list[dict]:
    expression = f"{{description body names}} : ({fts_expression(concepts, require_all)})"
    if "icd10cm" not in systems:
        # The procedure systems are small: naming them inside MATCH keeps ICD documents out of the sort.
        expression = f"sys : ({' OR '.join(f'{chr(34)}{s}{chr(34)}' for s in systems)}) AND {expression}"
    # ICD is filtered after MATCH: as an FTS term it would intersect ~100k postings per query.
    # bm25 weights: a match in the description counts five times one in an inclusion term, a default name or
    # index entry (names) eight times.
    marks = ",".join("?" * len(systems))
    return list(db.query(
        "SELECT code, display, description, billable, kind, aliases, section, sys FROM search_fts"
        f" WHERE search_fts MATCH ? AND sys IN ({marks}) ORDER BY bm25(search_fts, 0, 5, 1, 8) LIMIT ?",
        [expression, *systems, limit]))


def search(db: sqlite_utils.Database, text: str, systems: tuple[str, ...] = ("icd10cm",),
           limit: int = 10, offset: int = 0, dos=None) -> SearchResult:
    """Return ranked billable codes for typed words (and header codes as narrow-it-down hints); with a date of
    service, only the ICD-10-CM codes of the release in force that day."""
    cleaned = " ".join((text or "").split())
    if not words(cleaned):
        raise BadInput("type some words to search for, e.g. 'type 2 diabetes' or 'knee x-ray 3 views'")
    if len(cleaned) > MAX_QUERY_CHARS:
        raise BadInput(f"that search is longer than {MAX_QUERY_CHARS} characters: use fewer words, or a code")
    ensure_index(db, systems)
    vocab = vocabulary(db)
    query = parse_query(cleaned, vocab, icd="icd10cm" in systems)
    rows = _family_chapter(db, query, systems) if "icd10cm" in systems else None
    if all(c.number is not None or c.side or len(c.text) < 2 for c in query.concepts):
        # Numbers, a side or single letters alone ("' OR 1=1 --", "0", "right", "n", "a AND b", "%s%n{0}") name
        # nothing: nothing rather than nonsense.
        return SearchResult(query=cleaned, systems=list(systems), total=0)
    if not query.concepts:
        return SearchResult(query=cleaned, systems=list(systems), total=0)
    rows = rows if rows is not None else _candidates(db, query, systems)
    normalised = " ".join(stem(w) for w in words(cleaned) if w not in FEELINGS)  # (tie-breaks: rank)
    floor = _floor(query, vocab)
    ranked = [(s, r) for s, r in rank(query, rows, normalised) if s >= floor]
    ranked = _open_child(db, _inherit(ranked), query)
    day, notice = None, None
    if dos is not None and "icd10cm" in systems:
        ranked, day, notice = _in_force(db, ranked, dos)
    billable = [(s, r) for s, r in ranked if r["billable"]]
    # Discontinued HCPCS codes are not offered (an exact lookup still explains them); headers are hints.
    headers = [(s, r) for s, r in ranked if not r["billable"] and r["kind"] in ("category", "subcategory")]
    return SearchResult(
        query=cleaned, systems=list(systems), total=len(billable), offset=offset,
        results=[_hit(s, r) for s, r in billable[offset:offset + limit]],
        hints=[_hit(s, r) for s, r in headers[:3]] if offset == 0 else [],
        interpreted=[c.text for c in query.concepts], date_of_service=day, notice=notice,
    )


# A relative's condition with no family-history code of its own is coded by the chapter it is in: Z80-Z84 name
# the chapters (icd10cm-tabular-2026-04 lines 240252-240544): the chapter's first and last categories and the
# code. Neoplasms (Z80), pregnancy, perinatal, symptoms and injuries have none.
FAMILY_CHAPTERS = [
    ("A00", "B99", "Z83.1"),  # 'Family history of other infectious and parasitic diseases'
    ("D50", "D89", "Z83.2"),  # '... diseases of the blood and blood-forming organs ...'
    ("E00", "E89", "Z83.49"),  # '... other endocrine, nutritional and metabolic diseases'
    ("F01", "F99", "Z81.8"),  # '... other mental and behavioral disorders'
    ("G00", "G99", "Z82.0"),  # '... epilepsy and other diseases of the nervous system'
    ("H00", "H59", "Z83.518"),  # '... other specified eye disorder'
    ("I00", "I99", "Z82.49"),  # '... and other diseases of the circulatory system'
    ("J00", "J99", "Z83.6"),  # '... other diseases of the respiratory system'
    ("K00", "K95", "Z83.79"),  # '... other diseases of the digestive system'
    ("L00", "L99", "Z84.0"),  # '... diseases of the skin and subcutaneous tissue'
    ("M00", "M99", "Z82.69"),  # '... other diseases of the musculoskeletal system ...'
    ("N00", "N29", "Z84.19"),  # '... other disorders of kidney and ureter'
    ("N30", "N99", "Z84.2"),  # '... other diseases of the genitourinary system'
    ("Q00", "Q99", "Z82.79"),  # '... other congenital malformations, deformations and ...'
]
# The patient's own history likewise (Z85-Z87, lines 241236-241517): the nervous system's code holds the sense
# organs too.
PERSONAL_CHAPTERS = [
    ("A00", "B99", "Z86.19"),  # 'Personal history of other infectious and parasitic diseases'
    ("D50", "D89", "Z86.2"),  # '... diseases of the blood and blood-forming organs ...'
    ("E00", "E89", "Z86.39"),  # '... other endocrine, nutritional and metabolic disease'
    ("F01", "F99", "Z86.59"),  # '... other mental and behavioral disorders'
    ("G00", "H95", "Z86.69"),  # '... other diseases of the nervous system and sense organs'
    ("I00", "I99", "Z86.79"),  # '... other diseases of the circulatory system'
    ("J00", "J99", "Z87.09"),  # '... other diseases of the respiratory system'
    ("K00", "K95", "Z87.19"),  # '... other diseases of the digestive system'
    ("L00", "L99", "Z87.2"),  # '... diseases of the skin and subcutaneous tissue'
    ("M00", "M99", "Z87.39"),  # '... other diseases of the musculoskeletal system and connective tissue'
    ("N00", "N39", "Z87.448"),  # '... other diseases of urinary system'
    ("N40", "N53", "Z87.438"),  # '... other diseases of male genital organs'
    ("N70", "N98", "Z87.42"),  # '... other diseases of the female genital tract'
]
FAMILY_WORDS = RELATIVES | HISTORY | {"fam", "fhx", "fh", "personal", "status", "past", "prior", "previous"}
FAMILY_CODE = re.compile(r"^Z8[0-4]")
PERSONAL_CODE = re.compile(r"^Z8[5-7]")


def _family_chapter(db: sqlite_utils.Database, query: Query, systems: tuple[str, ...]) -> list[dict] | None:
    """"fam hx eczema": a relative's condition that no Z80-Z84 title names is found alone, and the words of its
    chapter's family-history code become another spelling of it (eczema is L30.9, chapter 12: Z84.0 'Family
    history of diseases of the skin and subcutaneous tissue'); the patient's own history likewise with Z85-Z87
    ("hx of eczema" Z87.2). A condition a history title names ("fam hx diabetes" Z83.3, "hx recurrent UTIs"
    Z87.440) keeps its own code: nothing is added, and the candidates searched to know it are returned for the
    search to use (None when the query changed or none were searched)."""
    condition = [c for c in query.concepts if not {w for alt in c.alternatives for w in alt} & FAMILY_WORDS
                 and not c.negated and c.number is None and not c.side]
    family = query.relatives or any(alt[:2] == ("family", "history") for c in query.concepts
                                    for alt in c.alternatives)
    if not ((family or query.history) and condition) or query.newborn:
        return None  # ("newborn withdrawal mom on opioids": a newborn's mother is no family history, P96.1)
    own_code, chapters = (FAMILY_CODE, FAMILY_CHAPTERS) if family else (PERSONAL_CODE, PERSONAL_CHAPTERS)
    weight = sum(c.weight for c in condition)
    rows = _candidates(db, query, systems)
    for row in rows:
        title = _alias(json.loads(row["aliases"])[0])
        if own_code.match(row["code"]) and sum(c.weight * _concept_match(c, title, title.positive)[0]
                                               for c in condition) >= weight / 2:
            # "family history of asthma" is Z82.5 'Family history of asthma and other chronic lower ...', "hx
            # diabetic foot ulcer healed" Z86.31 'Personal history of diabetic foot ulcer'
            return rows
    alone = replace(query, concepts=condition, history=False, relatives=False)
    ranked = rank(alone, _candidates(db, alone, systems), " ".join(c.text for c in condition))
    code = next((r["code"] for s, r in sorted(ranked, key=lambda t: -t[0]) if r["billable"]), None)
    chapter = next((row for row in chapters if code and row[0] <= code[:3] <= row[1]), None)
    release = current_release(db, "icd10cm") if chapter else None
    found = list(db.query("SELECT description FROM codes WHERE release_id = ? AND code = ?",
                          [release["id"], chapter[2].replace(".", "")])) if release else []
    if found:
        # the title's own words after "Family history of": what the chapter code says is what was asked
        said = tuple(w for w in words(found[0]["description"])[3:] if w not in UNSPECIFIC and w not in FILLER
                     and w != "history")
        for concept in condition:
            concept.alternatives.append(said)
            concept.stemmed.append(tuple(stem(w) for w in said))
    return None if found else rows


def _unknown(concept: Concept, vocab: Vocabulary) -> bool:
    """A word no code holds in any of its spellings (a name, "qzv", "vacation")."""
    return concept.number is None and not any(all(w in vocab.df for w in alt) for alt in concept.alternatives)


def _floor(query: Query, vocab: Vocabulary) -> float:
    """The least score that is an answer. A misspelt word is weaker evidence than one typed right: when the query
    also holds a word no code uses ("hepatitix qzv", "appendixxx vacation"), the corrected words' share of the
    query counts TYPO_FLOOR less toward it. An everyday thing with one code word in it ("cardigan buttons",
    "karaoke night": an English word no code uses, and one that codes do) names the everyday thing: it needs
    ONE_WORD_FLOOR more. The ranking itself is unchanged."""
    unknown = [c for c in query.concepts if _unknown(c, vocab)]
    if not unknown:
        return MIN_SCORE
    total = sum(c.weight for c in query.concepts) or 1.0
    floor = MIN_SCORE + TYPO_FLOOR * sum(c.weight for c in query.concepts if c.corrected) / total
    if len(query.concepts) - len(unknown) == 1 and any(c.exact and not c.corrected for c in unknown):
        floor += ONE_WORD_FLOOR
    return floor


def _in_force(db: sqlite_utils.Database, ranked: list[tuple[float, dict]], dos) -> tuple[list, str, str | None]:
    """The ranked rows as the ICD-10-CM release in force on `dos` has them: the index holds the current release's
    words, so a code that release lacks (G35.D for 2025-06-01) is left out and one it holds as a header is a
    header. (A code only that older release had is not in the index: words do not find it.)"""
    day = dos if hasattr(dos, "isoformat") else parse_dos(dos)
    resolution = release_for(db, "icd10cm", day)
    used, current = resolution.release, current_release(db, "icd10cm")
    if used is None or current is None or used["id"] == current["id"]:
        return ranked, day.isoformat(), None  # the current release answers, as for every search
    codes = [r["code"] for _, r in ranked]
    then = {}
    for chunk in range(0, len(codes), 500):
        part = codes[chunk:chunk + 500]
        then.update((c, b) for c, b in db.execute(
            f"SELECT code, billable FROM codes WHERE release_id = ? AND code IN ({','.join('?' * len(part))})",
            [used["id"], *part]))
    kept = [(s, {**r, "billable": then[r["code"]]}) for s, r in ranked if r["code"] in then]
    said = f"Searched for {day.isoformat()} in release {used['label']}: codes not in force that day are left out"
    return kept, day.isoformat(), f"{resolution.notice} {said}." if resolution.notice else f"{said}."


HEADER_SHARE = 0.005


def _inherit(ranked: list[tuple[float, dict]]) -> list[tuple[float, dict]]:
    """A header that answers better than every billable code passes its score to its best billable descendant."""
    best_billable = next((s for s, r in ranked if r["billable"]), None)
    if best_billable is None:
        return ranked
    lifted: dict[int, float] = {}
    for score, row in ranked:
        if score <= best_billable:
            break
        if row["billable"] or row["sys"] != "icd10cm" or len(row["code"]) < 4:
            continue
        child = next((i for i, (_, r) in enumerate(ranked) if r["billable"] and r["sys"] == row["sys"]
                      and len(r["code"]) == len(row["code"]) + 1 < 7 and r["code"].startswith(row["code"])), None)
        if child is not None and child not in lifted:
            lifted[child] = score - HEADER_SHARE
    if not lifted:
        return ranked
    out = [(max(s, lifted.get(i, s)), r) for i, (s, r) in enumerate(ranked)]
    return sorted(out, key=lambda t: -t[0])


SEVENTH = {"initial": "A", "subsequent": "D", "sequela": "S"}  # 7th characters of injuries and external causes


def _open_child(db: sqlite_utils.Database, ranked: list[tuple[float, dict]], query: Query) -> list[tuple[float, dict]]:
    """A header that waits only for its 7th character and answers better than every billable code found
    (W19 'Unspecified fall' for "fell at home") passes its place to its child for the encounter asked (initial
    when none is: W19.XXXA), which the candidate search may not have reached among thousands of fall codes."""
    best_billable = next((s for s, r in ranked if r["billable"]), None)
    score, row = next(((s, r) for s, r in ranked if not r["billable"]), (None, None))
    if row is None or row["sys"] != "icd10cm" or (best_billable is not None and score <= best_billable) \
            or len(row["code"]) > 5:
        return ranked  # (a six-character header, S90.211 '... great toe with damage to nail', names more than asked)
    code = row["code"] + "X" * (6 - len(row["code"])) + SEVENTH.get(query.encounter or "initial", "A")
    if any(r["code"] == code for _, r in ranked):
        return ranked
    current = current_release(db, "icd10cm")
    child = current and db.execute(
        "SELECT code, display, description, billable, kind FROM codes WHERE release_id = ? AND code = ?"
        " AND billable = 1", [current["id"], code]).fetchone()
    if not child:
        return ranked
    found = dict(zip(("code", "display", "description", "billable", "kind"), child), sys="icd10cm",
                 section=row["section"], aliases="[]")
    return sorted(ranked + [(score - HEADER_SHARE, found)], key=lambda t: -t[0])


def _hit(score: float, row: dict) -> SearchHit:
    return SearchHit(code=row["display"], system=row["sys"], description=row["description"],
                     billable=bool(row["billable"]), score=score, section=row["section"])


def looks_like_code(text: str, systems: tuple[str, ...]) -> bool:
    """True when typed text should take the exact-code path rather than search."""
    stripped = (text or "").strip()
    if "icd10cm" in systems:
        return looks_like_icd(stripped) and any(ch.isdigit() for ch in stripped)
    try:
        shape, _ = classify_procedure(stripped)
    except BadInput:
        return False
    return shape != "modifier" or stripped.upper().lstrip("-") in _modifier_keys()


@lru_cache(maxsize=1)
def _modifier_keys() -> frozenset[str]:
    return frozenset(modifier_explanations())


PROCEDURE_PREFIX = re.compile(r"^([A-V]\d{1,3}|\d{3,4})$")
CPT_NUMBER = re.compile(r"^\d{4}[0-9FTU]$", re.I)
CLAIM_LINE = re.compile(r"^(\d{4}[0-9FTU]|[A-V]\d{4})(?:-[A-Z0-9]{2})+$"
                        r"|^(\d{4}[0-9FTU]|[A-V]\d{4}) ?[x*] ?\d{1,4}$", re.I)  # 99213-25; 97110x3, 97110 x 3


def code_prefix(db: sqlite_utils.Database, text: str, systems: tuple[str, ...], limit: int = 10,
                offset: int = 0) -> SearchResult | None:
    """List the codes that start with a partial procedure code (J17, 9921), or None if `text` is not one."""
    prefix = re.sub(r"[\s.]", "", text or "").upper()
    if not PROCEDURE_PREFIX.match(prefix):
        return None
    ensure_index(db, systems)
    marks = ",".join("?" * len(systems))
    rows = list(db.query(
        f"SELECT code, display, description, billable, kind, section, sys FROM search_fts WHERE sys IN ({marks})"
        " AND code >= ? AND code < ? ORDER BY code", [*systems, prefix, prefix + "~"]))
    return SearchResult(query=prefix, systems=list(systems), total=len(rows), offset=offset,
                        results=[_hit(1.0, r) for r in rows[offset:offset + limit]])


def resolve(db: sqlite_utils.Database, text: str, kind: str, limit: int = 10, offset: int = 0, dos=None):
    """Answer what was typed after /icd or /cpt: a code lookup (on the date of service `dos`, default today),
    a prefix listing, or a ranked search."""
    systems = ("icd10cm",) if kind == "icd" else ("cpt", "hcpcs")
    typed = (text or "").strip()
    line = CLAIM_LINE.match(typed)
    if kind == "cpt" and line:  # 99213-25 or 97110x4: the code of a claim line
        typed = text = line.group(1) or line.group(2)
    if kind == "icd" and CPT_NUMBER.match(typed):
        raise BadInput(f"{typed} is shaped like a CPT code: look it up with /cpt (medcode cpt)")
    if kind == "cpt" and "." in typed and looks_like_code(typed, ("icd10cm",)):
        raise BadInput(f"{typed} is shaped like an ICD-10-CM code: look it up with /icd (medcode icd)")
    if looks_like_code(text, systems):
        if kind == "cpt":
            return lookup_procedure(db, text, dos=dos)
        if category_known(db, normalise_icd(text)):
            return lookup_icd(db, text, dos=dos)
        # Code-shaped but no such category in any release (DM2, T2DM): words, unless they find nothing.
        found = search(db, text, systems, limit=limit, offset=offset, dos=dos)
        return found if found.results else lookup_icd(db, text, dos=dos)
    if kind == "cpt":
        listing = code_prefix(db, text, systems, limit, offset)
        if listing is not None and listing.total:
            return listing
        if listing is not None:  # no code starts so ("b12", "b6"): the words, unless they find nothing either
            found = search(db, text, systems, limit=limit, offset=offset, dos=dos)
            return found if found.results else listing
    return search(db, text, systems, limit=limit, offset=offset, dos=dos)
