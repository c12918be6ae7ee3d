"""The vocabularies `api.handoff` reads: who a user may ask for, how they ask, what cancels it.

Data only; the detector that uses them is `api.handoff`. A miss is usually fixed by adding a
word to one of these sets (and a case to tests/api/test_handoff.py).
"""

from __future__ import annotations

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
    specialist advisor consultant boss
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
    send direct hook bring complain message
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
    chat request transfer
    """
)
#: An unknown word may sit between a determiner and the target ("a competent
#: person"), but not anywhere else ("need to update the person").
ADJECTIVE_AFTER = word_set("a an the some your one any")

#: "can a human help me": context word, target, then one of these verbs.
HELP_CONTEXT = word_set("can could would will may please need want get is are")
HELP_VERBS = word_set(
    """
    help assist call phone ring contact handle look check review take sort reply respond
    intervene step join talk speak chat deal fix answer explain
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


# === other languages ==============================================================
# Read by `api.handoff`'s multilingual pass, which works on concepts rather than words: each
# (accent-free, lowercase) word below maps to one concept. Words ending in "*" are stems that
# match any ending ("konsultant*" is konsultanta, konsultantem, ...). English entries here are
# only those the English rules above do not already cover.


def _concepts(text: str) -> dict[str, tuple[str, ...]]:
    """Lines of `CONCEPT: word word stem* ...` -> {concept: words}."""
    table: dict[str, tuple[str, ...]] = {}
    for line in text.strip().splitlines():
        concept, _, words = line.partition(":")
        table[concept.strip()] = table.get(concept.strip(), ()) + tuple(words.split())
    return table


MULTI_CONCEPTS = _concepts(
    """
    TARGET: agente agentes agent agenten agentin humano humanos humana humain humains humaine
    TARGET: mensch* menselijk* mens umano umani umana ser_humano essere_umano etre_humain
    TARGET: czlowiek* ludzi* persona personas personne_reelle person persoon personen pessoa*
    TARGET: osob* operador* operateur* operator* operatore operatori operatrice* konsultant*
    TARGET: asesor* conseiller* conseiler* berater* consulente* consultor* adviseur* doradc*
    TARGET: representante* representant* vertreter* rappresentante* vertegenwoordiger*
    TARGET: supervisor* superviseur* supervisore* vorgesetzt* leidinggevende przelozon*
    TARGET: encargado* responsable* responsabile* responsavel verantwortlich* kierownik*
    TARGET: manager* gerente* jefe jefa chef chefe capo baas szef*
    TARGET: empleado* employe* mitarbeiter* dipendente* funcionario* medewerker* pracownik*
    TARGET: companero* companera* collegue* kollege* kollegin* collega colleghi colega* kolleg*
    TARGET: kolega* kolezank* colleague* addetto addetta ejecutivo* atendente* ansprechpartner*
    TARGET: coworker* co_worker cowork* servicemitarbeiter* kundenberater* staff staffmember
    TARGET: alguien alguem quelquun qqn jemand* qualcuno iemand ktos kogos kims komus
    DEPARTMENT: atencion_cliente atendimento* service_client kundenservice* kundendienst*
    DEPARTMENT: servizio_clienti assistenza klantenservice obsluga* soporte suporte support
    DEPARTMENT: equipo equipe team squadra zespol* personeel personal servicio_humano
    DEPARTMENT: reklamac* dzial* helpdesk hotline
    TALK: hablar hablo conversar charlar platicar chatear comunicar* comunica*
    TALK: parler parle causer discuter echanger chatter
    TALK: sprechen spreche reden rede chatten telefonieren unterhalten schreiben
    TALK: parlare parla parlo chiacchierare chattare
    TALK: falar falo conversar papear
    TALK: praten praat spreken spreek chatten bellen
    TALK: hablando parlando falando chat talk speak
    TALK: rozmawiac porozmawiac rozmow* gadac pogadac pogadam rozmowa
    CONNECT: pasa pasar pasame paseme pasas pasarme pasen transferir* transfier* derivar* deriva*
    CONNECT: comunicame comuniqueme contactar* conectar* conecta* ponme ponerme ponga
    CONNECT: passer passez passe transferer* transferez* mettre mettez mets joindre rediriger
    CONNECT: relation contact contacto contatto contato kontakt* en_contact
    CONNECT: verbinden verbinde verbindet weiterleiten weiterleit* durchstellen durchgestellt
    CONNECT: passare passami passi passatemi passate trasferir* trasferisci* collega_mi
    CONNECT: collegami collegare mettermi mettetemi giri girare
    CONNECT: passar passa transfere transferir encaminha* encaminhar coloque conecta
    CONNECT: doorverbinden doorverbind* verbind zet doorzetten stuur doorsturen
    CONNECT: polacz* polaczyc* przelacz* przekieruj* przekierowa* skontaktowac skontaktuje
    CONNECT: connect* transfer*
    WANT: quiero quisiera queria necesito deseo gustaria prefiero puedo puede pueden podria
    WANT: podrian exijo kiero quero preciso gostaria prefiro posso pode podem
    WANT: veux voudrais souhaite souhaiterais besoin peux puis pouvez pourriez prefere exige
    WANT: aimerais jveux voulais peut hay ce il_y_a gibt_es is_er tem jest
    WANT: will mochte moechte mochten brauche hatte haette kann konnte konnten darf verlange
    WANT: wurde wuerde gern gerne
    WANT: voglio vorrei posso puo potete potrei bisogno mi_serve preferisco esigo vojo
    WANT: wil wilt kan kunt mag moet nodig graag liever wens
    WANT: chce chcialbym chcialabym potrzebuje moge moglbym mozna poprosze prosze wolalbym
    WANT: wolalabym zadam mozesz moze da_sie prefer
    HELP: ayudar ayude ayudarme atienda atender atenderme atiende revise revisar llame llamar
    HELP: contacte contacten aider aide rappelle rappeler prenne occuper regarder
    HELP: helfen hilft ubernehmen uebernehmen anschauen ansehen kontaktieren anrufen
    HELP: aiutare aiuti aiutarmi prendere controllasse richiamare seguito contattare
    HELP: ajudar ajude assumir analisasse ligar atender atendido
    HELP: helpen overnemen kijken terugbellen opnemen
    HELP: pomoc pomoze przejac przejal sprawdzil zadzwonic telefon
    HELP: help handle message contact call assist take_over takeover disponible dispo
    HELP: disponibile disponivel verfugbar beschikbaar
    HELP: dostepny dostepna available
    PLEASE: por_favor porfa porfavor pf pfv pfvr favor svp stp sil_vous_plait bitte
    PLEASE: per_favore perfavore grazie aub alsjeblieft alstublieft graag prosze poprosze
    PLEASE: plait please pls plz ya ahora agora subito sofort natychmiast maintenant nu asap
    PLEASE: hola oi ola bonjour salut hallo ciao hoi czesc dzien_dobry
    LINK: real reales reale vrai vraie vraiment echt echten echter echte vero vera veri
    LINK: verdade verdad prawdziw* zyw* zywego vivo viva humano humana humain umano menselijke
    LINK: menschlich* menschlichen carne_ossa carne_osso persoonlijk* personlich* de_verdad
    LINK: ludzk* un una uno un_ une ein eine einen einem einer nem nen um uma een n
    LINK: el la le il lo o os de del du des di da do dos van der den dem
    LINK: su sus vuestro votre vos vostro vostri seu sua vosso uw jullie ihrem ihren ihr
    LINK: wasz* tuo tu suyo suya vostre vous
    LINK: con a al avec mit com z ze met with to au aux alla all col co pro pra para vers naar
    LINK: do zu zum zur per me mi moi mich mir mij mnie mi me te et e y i und en und of your
    LINK: one uno una algun alguno jakis jakiegos qualche algum algun quelque irgendein*
    LINK: tipo someone somebody
    MACHINE: maquina maquinas machine machines maschine maschinen macchina macchine
    MACHINE: robot robots robo robos bot bots chatbot maszyn* automat* ia ki ai
    NEGATE: no non ne pas nao nicht nie niet ni nunca jamais nie_chce sin sans ohne senza sem
    NEGATE: zonder bez kein keine keinen keiner nessun nessuno nessuna nada nadie personne_neg
    NEGATE: niemand niemanden niemandem ninguem nikt nikim nikogo geen niets nichts rien
    NEGATE: plus no_hace_falta not dont rather_not
    INSTEAD: statt anstatt au_lieu en_vez en_lugar invece em_vez in_plaats zamiast instead
    INSTEAD: a_nie
    REPORT: hable hablado gesprochen schon parlato gia falei
    REPORT: gesproken gisteren wczoraj rozmawialem rozmawialam ayer hier gestern
    REPORT: ieri ontem vorige derniere ultima ostatnio yesterday already last was were
    REPORT: helped talked spoke transferred
    SELF: soy sou sono suis bin ben jestem jestesmy somos
    """
)
#: A target right after one of these belongs to someone else or means something else:
#: "mi agente de viajes", "mon responsable", "il mio capo".
MULTI_OTHER_BEFORE = word_set(
    """
    mi mis mio mia mon ma mes mein meine meinem meinen meiner mijn moj moja mojego mojej
    meu minha minhas meus tuo sua suo my his her their our
    """
)
#: A target right before one of these is a topic: "agente de viajes", "recursos humanos".
MULTI_OTHER_AFTER = word_set(
    """
    viajes viaje viaggio viaggi voyage voyages viagens viagem reis turystyczny turystyczna
    inmobiliario inmobiliaria immobilier immobiliere immobiliare imobiliario imobiliaria
    nieruchomosci seguros seguro assurance assicurazioni versicherung verzekering
    recursos ressources risorse hulpbronnen
    de_mi de_mon meiner mojego del_mio
    """
)
#: Words that make the whole clause about something else: human hair, HR, a food processor.
MULTI_TOPIC_WORDS = word_set(
    """
    cabello cabellos pelo cheveux capelli cabelo mensenhaar echthaar wlosow wlosy peruki pelucas
    perruques parrucche perucas perucken pruiken rrhh rh personalabteilung personeelszaken
    resources kadr kadry recursos_humanos ressources_humaines risorse_umane hr captcha
    cafe caffe kaffee koffie kawy lavar laver waschmaschine wasmachine pralka cocina cucina
    cuisine kuchenroboter keukenrobot kuchenny aspirador patissier banco banque bank banca banku
    """
)
#: Two-word phrases merged into one token before concepts are looked up.
MULTI_PHRASES: dict[tuple[str, str], str] = {
    ("ser", "humano"): "ser_humano",
    ("essere", "umano"): "essere_umano",
    ("etre", "humain"): "etre_humain",
    ("por", "favor"): "por_favor",
    ("per", "favore"): "per_favore",
    ("s", "il"): "sil_vous_plait",
    ("sil", "vous"): "sil_vous_plait",
    ("atencion", "al"): "atencion_cliente",
    ("atencion", "cliente"): "atencion_cliente",
    ("service", "client"): "service_client",
    ("service", "clients"): "service_client",
    ("servizio", "clienti"): "servizio_clienti",
    ("servicio", "al"): "atencion_cliente",
    ("quelqu", "un"): "quelquun",
    ("qu", "un"): "quelquun",
    ("carne", "e"): "carne_ossa",
    ("carne", "ed"): "carne_ossa",
    ("carne", "y"): "carne_ossa",
    ("chair", "et"): "carne_ossa",
    ("carne", "ossa"): "carne_ossa",
    ("carne", "osso"): "carne_ossa",
    ("recursos", "humanos"): "recursos_humanos",
    ("ressources", "humaines"): "ressources_humaines",
    ("risorse", "umane"): "risorse_umane",
    ("au", "lieu"): "au_lieu",
    ("en", "vez"): "en_vez",
    ("en", "lugar"): "en_lugar",
    ("em", "vez"): "em_vez",
    ("in", "plaats"): "in_plaats",
    ("a", "nie"): "a_nie",
    ("take", "over"): "take_over",
    ("da", "sie"): "da_sie",
    ("no", "hace"): "no_hace_falta",
    ("de", "verdad"): "de_verdad",
    ("member", "of"): "staffmember",
    ("staff", "member"): "staffmember",
    ("membre", "du"): "staffmember",
    ("membro", "dello"): "staffmember",
    ("support", "people"): "staffmember",
    ("dzien", "dobry"): "dzien_dobry",
    ("mi", "serve"): "mi_serve",
    ("c", "e"): "ce",
    ("y", "a"): "il_y_a",
    ("gibt", "es"): "gibt_es",
    ("is", "er"): "is_er",
}

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
