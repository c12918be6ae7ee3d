"""The vocabularies `api.handoff` reads: who a user may ask for, how they ask, what cancels it.

Data only; the detector that uses them is `api.handoff`. These are the English rule pass's
sets and the withdrawal phrases; the other seven languages' concept tables live in
`api.handoff_words_intl`. A miss is usually fixed by adding a word to one of these sets (and
a case to tests/api/test_handoff.py).
"""

from __future__ import annotations

import re

from api.ai.retrieval import word_set


def word_list(text: str) -> tuple[str, ...]:
    """Like `word_set`, for a list whose order matters."""
    return tuple(text.split())


def _variants(text: str) -> dict[str, str]:
    """Lines of `spelling: variant variant ...` → {variant: spelling}."""
    table: dict[str, str] = {}
    for line in text.strip().splitlines():
        spelling, _, variants = line.partition(":")
        table.update(dict.fromkeys(variants.split(), spelling.strip()))
    return table


# --- who the user may ask for ----------------------------------------------------

#: Words that name a human who can take over the chat.
HUMAN_TARGETS = word_set(
    """
    agent human person people representative rep operator supervisor manager staff employee
    specialist advisor consultant boss colleague colleagues coworker coworkers teammate
    """
) | word_set(
    # multi-word targets, merged into one token by _merge_phrases
    "customer_service live_support help_desk call_centre"
)
#: "someone": a target, but only when the verb around it makes it a request.
PRONOUN_TARGETS = word_set("someone somebody anyone anybody")
#: A department on its own ("support", "your team") only counts after a verb
#: that moves the conversation, such as "connect me to support".
DEPARTMENT_TARGETS = word_set("support service team department desk care")

#: (first word, second word) -> merged token.
PHRASES: dict[tuple[str, str], str] = {
    ("is", "there"): "isthere",
    ("are", "there"): "isthere",
    ("never", "mind"): "nevermind",
    ("help", "desk"): "help_desk",
    ("call", "center"): "call_centre",
    ("call", "centre"): "call_centre",
}
for _first in ("customer", "client", "cust"):
    for _second in ("service", "services", "support", "care", "team", "success"):
        PHRASES[(_first, _second)] = "customer_service"
for _first in ("live", "human"):
    for _second in ("support", "chat", "help", "assistance", "assistant", "agent", "person"):
        PHRASES[(_first, _second)] = "live_support"
for _first in ("staff", "team", "support", "crew"):
    PHRASES[(_first, "member")] = "staff"
    PHRASES[(_first, "members")] = "staff"
PHRASES[("get", "back")] = "getback"
for _first in ("tech", "technical"):
    PHRASES[(_first, "support")] = "support"
for _first in ("support", "service", "help"):
    for _second in ("team", "staff", "desk", "department"):
        PHRASES[(_first, _second)] = "live_support"

# --- how the user asks -----------------------------------------------------------

#: Verbs that move the chat somewhere: enough with any target, even "support".
STRONG_VERBS = word_set(
    """
    talk speak chat connect transfer reach contact put pass hand forward redirect route switch
    send direct hook bring complain message deal
    """
)
#: Past participles that only ask for something after "be"/"get"
#: ("can I be transferred"), not in a report ("I was transferred").
PARTICIPLES = word_set("transferred connected escalated forwarded redirected")
PARTICIPLE_AUXILIARIES = word_set("be get getting being me us")
#: Verbs of wanting: a request only with a human target ("I want a human").
WEAK_VERBS = word_set(
    """
    want need get give request require prefer ask demand call wait waiting isthere like love
    have
    """
)
#: Verbs that need one of the two preceding words to mean "I ask for"
#: ("I'd like", "can I have"), unlike "I like the agent" or "I have a person here".
VERB_NEEDS_PREVIOUS: dict[str, frozenset[str]] = {
    "like": word_set("id would wd wed"),
    "love": word_set("id would wd wed"),
    "have": word_set("can could may"),
}
#: Verbs that need the user (or their case) as object: "give me a human", not
#: "give the agent my address".
VERB_NEEDS_NEXT: dict[str, frozenset[str]] = dict.fromkeys(
    ["give", "send", "pass", "hand", "put", "forward", "redirect", "route", "switch"],
    word_set("me us this it my our over through to in"),
)
#: "put a human on the line".
VERB_NEEDS_NEXT["put"] |= word_set("a an the your someone somebody")
#: Escalating needs no target: "please escalate this".
ESCALATE = word_set("escalate escalation escalated")
#: Neither does "transfer me" / "put me through" when nothing else follows.
MOVE_ME_VERBS = word_set("transfer connect put hand forward redirect route")
MOVE_ME_OBJECTS = word_set("me us")
#: Words that mark a verb as a noun: "the chat with the agent was cut off".
DETERMINERS = word_set("the a an my this that your our his her their")

#: Words allowed between a verb and its target: "put me through to one of your
#: real live agents", "transfer my case to a supervisor".
LINK_WORDS = word_set(
    """
    to me us with through over a an the some any your yalls one of in touch up for from hold
    ahold on another different other my this it real actual actually live proper living
    breathing right now please just literally directly immediately asap quickly member be speak
    talk help assistance case issue ticket complaint question problem query conversation call
    chat request transfer word callback reply response
    """
)
#: An unknown word may sit between a determiner and the target ("a competent
#: person"), but not anywhere else ("need to update the person").
ADJECTIVE_AFTER = word_set("a an the some your one any")

#: "can a human help me": context word, target, then one of these verbs.
HELP_CONTEXT = word_set("can could would will may please need want get is are let lets")
HELP_VERBS = word_set(
    """
    help assist call phone ring contact handle look check review take sort reply respond
    intervene step join talk speak chat deal fix answer explain getback
    """
)
HELP_GAP = word_set("to who that can could will please just actually there here available around")

#: Words that may surround a bare target: "a real human please!!", "agent now".
FILLER = word_set(
    """
    please now asap a an the to real actual actually live human being right immediately quick
    quickly hi hello hey ok okay just urgent urgently yes yeah yo sir again one some any your
    thanks thank you over help here there available online around directly needed required
    wanted i said
    """
)

# --- what cancels a request ------------------------------------------------------

NEGATORS = word_set(
    """
    no not dont doesnt didnt never nevermind without nor neither stop avoid instead nah wont
    wouldnt shouldnt cancel
    """
)
#: "someone from your team", "anybody who works there": a person of the shop, said the long
#: way round, read as "staff" before the clause rules run.
STAFF_PERIPHRASIS = re.compile(
    r"\b(?:someone|somebody|anyone|anybody|one|people|person)\s+"
    r"(?:(?:from|at|of|on|in)\s+(?:your|the|this|ur)\s+"
    r"(?:team|staff|company|store|shop|support|side|end|office|business)"
    r"|(?:from|at|of|in)\s+customer\s+(?:service|support|care)"
    r"|(?:who\s+)?(?:actually\s+|really\s+)?(?:works?|working)\s+(?:there|here|for\s+(?:you|the\s+company)|at\s+(?:the|your)))\b"
)

#: Words a negation reaches across: "don't [really] [even] want", "no need for".
NEGATION_SKIP = word_set(
    """
    a an the to really even ever any be being me us for mind going think necessarily of bother
    more longer
    """
)
#: Words that may sit between a negated "want" and the verb it governs:
#: "don't want to [be] talk to a human" stays negated.
NEGATION_BRIDGE = word_set("to be get getting being me us really")

#: A target right after one of these is someone else's: "my agent", "FBI agent".
OTHER_MEANING_BEFORE = word_set(
    """
    my his her their travel estate insurance secret user fbi cia chemical double free sports
    literary booking shipping customs border nerve cleaning sleeper undercover special talent
    property letting leasing rental browser software ai bot chatbot virtual automated robot
    delivery sales first third in per each password file task package download tour network
    mobile boolean logical ternary machine
    """
)
#: A target right before one of these is a topic, not a person to talk to:
#: "agent number", "human resources", "customer service hours".
#: ("s" is the possessive: "the agent's name".)
OTHER_MEANING_AFTER = word_set(
    """
    s number id code string name email address phone salary salaries pay earn earns job jobs
    position role career login portal app software mode resources orange smith provocateur movie
    film hours hour schedule times opening hair error rights readable body nature race
    trafficking discount discounts pick picks price prices pricing fee fees rate rates
    """
)

# --- typo correction -------------------------------------------------------------

#: Hand-written variants, mostly for words too short to correct by distance
#: (`spelling: variants`; a spelling may be two words).
VARIANTS: dict[str, str] = _variants(
    """
    talk: tlak takl tolk tawk
    speak: spk
    want: wnat wan
    need: ned nd
    want to: wanna
    give me: gimme
    let me: lemme
    going to: gonna
    please: pls plz plez plse pleas
    you: u
    your: ur
    are: r
    human: hooman hoomans humn huma hmn humen humans
    agent: agnt agen agents
    rep: reps repr
    representative: csr representatives
    customer_service: cs
    people: ppl
    person: persons prsn
    someone: some1 sum1
    anyone: any1
    operator: operators
    manager: managers mngr mgr
    supervisor: supervisors sup
    employee: employees
    through: thru
    customer: cust
    help_desk: helpdesk
    escalate: escalte esclate
    real: irl
    to: 2
    for: 4
    """
)
#: Words typos are corrected toward (core words only, to keep collisions rare). In order:
#: of two words equally close to a typo, the first wins.
FUZZY_VOCABULARY = word_list(
    """
    agent human person people representative operator supervisor manager someone somebody
    anyone anybody customer service support speak connect transfer escalate contact please
    """
)
#: Real words one or two edits from the vocabulary; never "corrected".
PROTECTED = word_set(
    """
    steak sneak spear speck stuff contract transform operated operates operation operations
    manage managed manages escalator pleased employer agency humane serves served persona
    """
)


# === withdrawal: "never mind, it's fixed" ============================================

#: Phrases (folded, space-separated) that say the user no longer needs anyone.
WITHDRAW_PHRASES = tuple(
    line.strip()
    for line in """
    never mind
    nevermind
    nvm
    forget it
    forget about it
    no need anymore
    no longer need
    no longer needed
    not needed anymore
    dont need help anymore
    cancel the request
    cancel my request
    you can close
    you can ignore
    figured it out
    sorted it
    all sorted
    all good now
    im good now
    found the answer
    found it
    got it working
    works now
    working now
    it works
    it worked
    fixed
    solved
    resolved
    olvidalo
    olvidelo
    ya no hace falta
    ya no necesito
    no hace falta
    ya funciona
    ya lo solucione
    ya lo resolvi
    ya lo arregle
    resuelto
    solucionado
    arreglado
    cancela
    laissez tomber
    laisse tomber
    plus besoin
    cest bon
    cest regle
    regle
    resolu
    ca marche
    jai trouve
    hat sich erledigt
    erledigt
    schon gut
    vergessen sie es
    vergiss es
    brauche keine hilfe mehr
    funktioniert jetzt
    funktioniert wieder
    es funktioniert
    gelost
    geloest
    lascia stare
    lascia perdere
    non serve piu
    risolto
    tutto a posto
    funziona
    deixa pra la
    deixa para la
    nao precisa mais
    ja resolvi
    resolvido
    funcionou
    pode cancelar
    laat maar
    hoeft niet meer
    opgelost
    het werkt
    werkt nu
    juz nie trzeba
    niewazne
    juz dziala
    dziala
    zalatwione
    rozwiazalem
    rozwiazalam
    mozna anulowac
    """.strip().splitlines()
)
#: Words that undo a withdrawal: the problem persists, or a person is still wanted.
WITHDRAW_BLOCKERS = word_set(
    """
    not no isnt wasnt doesnt dont didnt still yet broken
    todavia sigue sigo sin nada falta
    pas toujours encore
    nicht noch immer kein keine
    non ancora
    nao ainda continua
    niet nog steeds kapot
    nie nadal wciaz dalej jeszcze
    """
)
