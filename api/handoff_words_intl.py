"""The vocabularies of the handoff detector's concept pass: Spanish, French, German, Italian,
Portuguese, Dutch and Polish (plus English phrasings the English rules miss).

Data only, kept apart from the English word sets in `api.handoff_words` because this pass
reads concepts rather than words; the detector that uses them is `api.handoff_multilingual`.
A miss is usually fixed by adding a word to one of these tables (and a case to
tests/api/test_handoff.py).
"""

from __future__ import annotations

from api.ai.retrieval import word_set

# Read by the handoff detector's multilingual pass (`api.handoff_multilingual`), which works
# on concepts rather than words: each (accent-free, lowercase) word below maps to one concept.
# Words ending in "*" are stems that match any ending ("konsultant*" is konsultanta,
# konsultantem, ...). English entries here are only those the English rules (the sets in
# `api.handoff_words`) do not already cover.


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
