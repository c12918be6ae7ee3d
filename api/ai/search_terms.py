"""How text becomes search terms: stopwords dropped, Snowball stems, synonyms, answer types.

Kept apart from the index (`api.ai.bm25`) and the ranking (`api.ai.retrieval`) because both
the articles and the queries go through exactly these functions: a change here moves both
sides of every match at once. The handoff vocabularies borrow `word_set` from here too.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer


def word_set(text: str) -> frozenset[str]:
    """Long word lists read better as one string than as a quoted literal per word."""
    return frozenset(text.split())


_WORD_RE = re.compile(r"[^\W_]+")
_POSSESSIVE_RE = re.compile(r"['’]s\b")
_APOSTROPHES = str.maketrans("", "", "'’")

STOPWORDS = word_set(
    """
    a about above after again ago all also am an and any anyone anything are arent as at be
    been being before below both but by can cannot cant could couldnt did didnt do does doesnt
    doing done dont down during each eight else even ever every few five for four from further
    get gets getting got had hadnt has hasnt have havent having he hello her here hers herself
    hey hi him himself his how however i id if ill im in into is isnt it its itself ive just
    know let lets like me might mine more most much must my myself need needs nine no nor not
    now of off ok okay on once one only or other our ours ourselves out over own please pls
    really right said same say says seven shall she should shouldnt six so some someone something
    still such tell ten than thank thanks that thats the their theirs them themselves then there
    theres these they thing things this those three through to told too two under until up us
    very want wanted wants was wasnt way we were werent what whats when which while
    who whom whose will with wont would wouldnt yes yet you youd youll your youre yours
    yourself wanna gonna like lol pls plz ya everything everyone because
    help idea wondering wonder possible anybody somebody happens happen happened happening oops
    guys kindly question
    hmm ugh
    """
)
"""Words that say nothing about which article answers: pronouns, auxiliaries, chat fillers.
"where" is not one of them: "where is my order" asks for tracking, and tags say so; nor is
"why": "why should I create an account" asks for the benefits, not how to sign up."""

_IRREGULAR = {
    "paid": "pay",
    "bought": "buy",
    "sent": "send",
    "broke": "break",
    "broken": "break",
    "torn": "tear",
    "tore": "tear",
    "shrank": "shrink",
    "shrunk": "shrink",
    "came": "come",
    "lost": "lose",
    "delivery": "deliver",
    "deliveries": "deliver",
    "delivered": "deliver",
    "wheres": "where",
    "left": "leave",
    "made": "make",
    "stole": "steal",
    "stolen": "steal",
    "wore": "wear",
    "worn": "wear",
    "took": "take",
    "taken": "take",
    "gave": "give",
    "given": "give",
    "forgotten": "forget",
    "forgot": "forget",
}

SYNONYMS: dict[str, str] = {
    # what customers call the thing they ordered
    "package": "parcel",
    "parcel": "package",
    "stuff": "order parcel",
    "shipment": "parcel order",
    "purchase": "order",
    "purchased": "order buy",
    # money coming back
    "money": "refund",
    "reimburse": "refund",
    "reimbursed": "refund",
    "repay": "refund",
    "credited": "refund",
    # money going out
    "charged": "charge pay",
    "installments": "instalments",
    "dollars": "currency",
    "pounds": "currency",
    "currency": "euros",
    # things that arrive wrong
    "smashed": "damaged broken",
    "shattered": "damaged broken",
    "cracked": "damaged broken",
    "dented": "damaged",
    "incorrect": "wrong",
    # the account
    "login": "sign",
    "signin": "sign",
    "signup": "register",
    "register": "create account",
    "close": "delete",
    "erase": "delete",
    "remove": "delete",
    # products
    "plates": "ceramics",
    "bowls": "ceramics",
    "jumper": "item clothes",
    "sweater": "item clothes",
    "cardigan": "item clothes",
    "sneakers": "shoes",
    "trainers": "shoes",
    "boots": "shoes",
    # what customers call what they bought: the articles say "item", "colour", "home goods"
    "shirt": "item clothes",
    "tshirt": "item clothes",
    "blouse": "item clothes",
    "top": "item clothes",
    "trousers": "item clothes",
    "pants": "item clothes",
    "jeans": "item clothes",
    "shorts": "item clothes",
    "dress": "item clothes",
    "skirt": "item clothes",
    "jacket": "item clothes",
    "coat": "item clothes",
    "hoodie": "item clothes",
    "sweatshirt": "item clothes",
    "scarf": "item clothes",
    "hat": "item clothes",
    "socks": "item clothes",
    "bag": "item",
    "sandals": "shoes",
    "heels": "shoes",
    "mug": "ceramics item",
    "cup": "ceramics item",
    "vase": "glass item",
    "chair": "furniture",
    "table": "furniture",
    "sofa": "furniture",
    "couch": "furniture",
    "cushion": "home goods",
    "blanket": "home goods",
    "bulky": "large",
    "big": "large",
    "heavy": "large",
    "blue": "colour",
    "green": "colour",
    "red": "colour",
    "black": "colour",
    "white": "colour",
    "grey": "colour",
    "gray": "colour",
    "pink": "colour",
    "yellow": "colour",
    "brown": "colour",
    "beige": "colour",
    "navy": "colour",
    "purple": "colour",
    "orange": "colour",
    # who brings the parcel
    "courier": "carrier",
    "driver": "carrier",
    "postman": "carrier",
    "mailman": "carrier",
    "postnl": "carrier",
    "dhl": "carrier",
    "doorstep": "door",
    # who else
    "husband": "friend",
    "wife": "friend",
    "partner": "friend",
    "mother": "friend",
    "mum": "friend",
    "mom": "friend",
    "dad": "friend",
    "father": "friend",
    "brother": "friend",
    "sister": "friend",
    "neighbour": "friend",
    "neighbor": "friend",
    "colleague": "friend",
    "porch": "door",
    "come": "arrive",
    "remember": "forget",
    "registering": "register",
    "coupon": "code",
    # everyday words for the articles' words
    "switch": "change swap",
    "mistake": "wrong",
    "typo": "wrong",
    "statement": "bank charge",
    "supposed": "expected",
    "house": "address home",
    "home": "address",
    "flat": "address",
    "apartment": "address",
    "somewhere": "wrong address",
    "chipped": "damaged",
    "scratch": "damaged",
    "stain": "damaged",
    "error": "failed rejected",
    "rejected": "declined",
    "gone": "missing",
    "disappeared": "missing",
    "vanished": "missing",
    "receipt": "invoice",
    "euro": "spend",
    "euros": "spend",
    "monday": "day",
    "tuesday": "day",
    "wednesday": "day",
    "thursday": "day",
    "friday": "day",
    "saturday": "day weekend",
    "sunday": "day weekend",
    "yesterday": "day",
    "today": "day",
    # keeping and holding
    "keep": "hold",
    "hold": "keep",
    # places and people
    "store": "shop",
    "shop": "store",
    "human": "person agent",
    "person": "agent",
    "someone": "person",
    # mail
    "emails": "newsletter",
    "mails": "email",
    # time words
    "restocked": "restock",
    "christmas": "december",
    "label": "return",
}
"""Everyday words mapped to the words the articles use; applied to queries only, by stem (so
"registering" finds what "register" does)."""

PHRASES: dict[str, str] = {
    "says delivered": "marked delivered nothing",
    "said delivered": "marked delivered nothing",
    "shows delivered": "marked delivered nothing",
    "showing delivered": "marked delivered nothing",
    "as delivered": "marked delivered nothing",
    "status delivered": "marked delivered nothing",
    "supposedly delivered": "marked delivered nothing",
    "doesnt show": "no information",
    "not showing": "no information",
    "shows nothing": "no information",
    "no updates": "no information",
    "no update": "no information",
    "without logging in": "guest",
    "without an account": "guest",
    "without account": "guest",
    "without signing in": "guest",
    "without registering": "guest",
    "no account": "guest",
    "left it": "marked delivered",
    "dropped it off": "marked delivered",
    "cant be returned": "non-returnable",
    "cannot be returned": "non-returnable",
    "cant be sent back": "non-returnable",
    "cant return": "non-returnable",
    "not returnable": "non-returnable",
    "doesnt match": "wrong item",
    "not what i ordered": "wrong item",
    "two charges": "charged twice",
    "charged two times": "charged twice",
    "double charged": "charged twice",
    "gives an error": "rejected",
    "get here": "arrive",
    "get to me": "arrive",
    "reach me": "arrive",
    "show up": "arrive",
    "turn up": "arrive",
    "delivery company": "carrier",
    "shipping company": "carrier",
    "service point": "pickup point",
    "parcel shop": "pickup point",
    "parcel locker": "pickup point",
    "post office": "pickup point",
    "house number": "address",
    "street name": "address",
    "postcode": "address",
    "zip code": "address",
    "postal code": "address",
    "send back": "return",
    "sent back": "return",
    "send it back": "return",
    "bring back": "return",
    "take back": "return",
    "get back": "refund",
    "money back": "refund",
    "paid back": "refund",
    "take the money": "charge",
    "take money": "charge",
    "not valid": "invalid",
    "no longer valid": "expired",
    "not working": "invalid",
    "email you": "contact email",
    "call you": "contact phone",
    "reach you": "contact",
    "get in touch": "contact",
    "log in": "sign",
    "sign up": "register",
    "pay later": "klarna",
    "gift voucher": "gift card",
    "run small": "runs small",
    "run big": "runs large",
    "too tight": "too small",
    "too loose": "too big",
}
INTENTS = word_set(
    """
    return returning returned refund refunded cancel cancelling cancelled exchange swap track
    tracking unsubscribe delete reset change edit collect invoice complain complaint
    """
)
"""Words that say what the user wants done: "return the sweater" is about returning, not
about sweaters. They weigh more than the things they are about."""

"""Everyday phrases whose words say nothing on their own ("get here") mapped to the articles'
words; matched on whole words of the query, and added like synonyms."""
_PHRASE_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in PHRASES) + r")\b")


def phrase_expansions(text: str) -> list[tuple[str, str]]:
    """Each known phrase in `text` with the articles' words for it."""
    flat = " ".join(_words(text))
    return [(m, PHRASES[m]) for m in _PHRASE_RE.findall(flat)]


TIME_QUESTION_RE = re.compile(
    r"\bhow (long|soon|quickly|fast|many (days|weeks|hours|minutes))\b|\bwhen\b|\btime limit\b"
    r"|\bwhat time\b|\buntil when\b|\bexpire\b|\bvalid\b"
)
_TIME_ANSWER_RE = re.compile(
    r"\d+\s*(?:[–-]\s*\d+\s*)?(?:business |working |calendar )?(?:days?|hours?|minutes?|weeks?"
    r"|months?|years?)\b|\bsame day\b|\bnext (?:business )?day\b|\bimmediately\b"
    r"|\bstraight away\b|\bright away\b"
)
COST_QUESTION_RE = re.compile(r"\bhow much\b|\bcosts?\b|\bprices?\b|\bfees?\b|\bcharges?\b")
_COST_ANSWER_RE = re.compile(r"€\s?\d|\bfree\b")
TIME_TERM = "~duration"
COST_TERM = "~price"
"""Answer-type terms: never produced by tokenising words, so they only match each other."""

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Snowball's English stemmer after a few irregular forms, so "shipping", "shipped" and
    "ships" meet, and so do "paid" and "pay"; both sides of the match go through it."""
    return str(_stemmer.stemWord(_IRREGULAR.get(word, word)))


def _words(text: str) -> list[str]:
    text = _POSSESSIVE_RE.sub("", text.lower())
    return _WORD_RE.findall(text.translate(_APOSTROPHES))


SLANG: dict[str, str] = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "y": "why",
    "wat": "what",
    "wot": "what",
    "wut": "what",
    "wher": "where",
    "whr": "where",
    "til": "until",
    "till": "until",
    "abt": "about",
    "cuz": "because",
    "coz": "because",
    "bc": "because",
    "b4": "before",
    "thx": "thanks",
    "ty": "thanks",
    "rn": "now",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "2moro": "tomorrow",
    "2day": "today",
    "acct": "account",
    "acc": "account",
    "pw": "password",
    "pwd": "password",
    "addr": "address",
    "pkg": "package",
    "txt": "text",
    "msg": "message",
    "n": "and",
    "nd": "and",
    "cant": "cannot",
    "cnt": "cannot",
    "dont": "do",
    "idk": "know",
}
"""Chat shorthand written out, on both sides of every match."""

_NUMBER_RE = re.compile(r"^\d{4,}$")


def content_words(text: str) -> list[str]:
    """One-letter leftovers of "3-D" or "e-gift" are noise, and so are stopwords."""
    words = (SLANG.get(w, w) for w in _words(text))
    return [w for w in words if len(w) > 1 and w not in STOPWORDS]


def is_number(term: str) -> bool:
    """Order numbers and years: an unknown one says nothing about the topic (a short number,
    "17 times 23", still counts as a word the articles lack)."""
    return bool(_NUMBER_RE.match(term))


def tokenize(text: str) -> list[str]:
    """Lowercased, stopword-free stems."""
    return [stem(w) for w in content_words(text)]


def query_terms(text: str) -> list[str]:
    """Distinct terms in first-seen order: repeating a word in a chat line adds no meaning."""
    return list(dict.fromkeys(tokenize(text)))


def answer_types(text: str) -> dict[str, float]:
    found = {}
    if _TIME_ANSWER_RE.search(text):
        found[TIME_TERM] = 1.0
    if _COST_ANSWER_RE.search(text):
        found[COST_TERM] = 1.0
    return found


@lru_cache(maxsize=1)
def _synonym_stems() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for word, extras in SYNONYMS.items():
        out.setdefault(stem(word), []).extend(extras.split())
    return {k: tuple(v) for k, v in out.items()}


def synonyms_of_stem(term: str) -> tuple[str, ...]:
    return _synonym_stems().get(term, ())
