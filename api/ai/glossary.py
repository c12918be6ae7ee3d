"""The help articles' key words in the seven other languages, so the offline assistant can
answer "¿dónde está mi pedido?" from the English articles.

Word for word, not a translation: a question in another language becomes the English words
for the shop's topics it names ("pedido" → order, "dónde" → where), and only those are
searched. A question naming too few of them stays "not sure" (plus, in its language, that a
person can help in it). Entries are the articles' own vocabulary, lowercased, with and
without accents where customers often drop them.
"""

from __future__ import annotations

import re
import unicodedata

from api.ai.search_terms import word_set

_ENTRIES = {
    "es": """
        producto=item productos=item artículo=item articulo=item cuándo=when cuando=when
        pedido=order pedidos=order paquete=parcel envío=shipping envio=shipping enviar=send
        dónde=where donde=where seguimiento=tracking rastrear=track llegado=arrive llega=arrive
        llegar=arrive entrega=delivery entregado=delivered devolver=return devolución=return
        devolucion=return reembolso=refund dinero=money cambiar=change cambio=exchange
        talla=size cancelar=cancel dirección=address direccion=address pago=payment pagar=pay
        tarjeta=card factura=invoice contraseña=password contrasena=password cuenta=account
        correo=email borrar=delete eliminar=delete regalo=gift código=code codigo=code
        descuento=discount roto=broken dañado=damaged danado=damaged equivocado=wrong
        incorrecto=wrong falta=missing tienda=shop horario=hours cuesta=cost precio=price
        gratis=free aduana=customs garantía=warranty garantia=warranty puntos=points
        cobrado=charged días=days dias=days
    """,
    "fr": """
        article=item produit=item quand=when
        commande=order colis=parcel livraison=delivery livré=delivered livre=delivered
        envoyer=send expédition=shipping expedition=shipping où=where suivi=tracking
        suivre=track arrivé=arrive arrive=arrive retourner=return retour=return
        remboursement=refund rembourser=refund argent=money échanger=exchange echanger=exchange
        échange=exchange echange=exchange taille=size annuler=cancel modifier=change
        adresse=address paiement=payment payer=pay carte=card facture=invoice
        passe=password compte=account supprimer=delete cadeau=gift code=code réduction=discount
        reduction=discount cassé=broken casse=broken endommagé=damaged endommage=damaged
        mauvais=wrong manquant=missing magasin=shop boutique=shop horaires=hours coûte=cost
        coute=cost prix=price gratuit=free douane=customs garantie=warranty points=points
        débité=charged debite=charged jours=days
    """,
    "de": """
        produkt=item artikel=item wann=when
        bestellung=order paket=parcel lieferung=delivery geliefert=delivered versand=shipping
        senden=send wo=where sendungsverfolgung=tracking verfolgen=track angekommen=arrive
        ankommen=arrive zurückschicken=return zurueckschicken=return rücksendung=return
        ruecksendung=return retoure=return rückerstattung=refund rueckerstattung=refund
        erstattung=refund geld=money umtauschen=exchange umtausch=exchange größe=size
        groesse=size stornieren=cancel ändern=change aendern=change adresse=address
        zahlung=payment bezahlen=pay karte=card rechnung=invoice passwort=password
        konto=account löschen=delete loeschen=delete geschenk=gift gutschein=gift code=code
        rabatt=discount kaputt=broken beschädigt=damaged beschaedigt=damaged falsch=wrong
        falschen=wrong falsche=wrong fehlt=missing laden=shop geschäft=shop filiale=shop
        öffnungszeiten=hours
        oeffnungszeiten=hours kostet=cost preis=price kostenlos=free zoll=customs
        garantie=warranty punkte=points abgebucht=charged tage=days
    """,
    "it": """
        prodotto=item articolo=item quando=when dov=where
        ordine=order pacco=parcel spedizione=shipping consegna=delivery consegnato=delivered
        inviare=send dove=where tracciamento=tracking tracciare=track arrivato=arrive
        arriva=arrive restituire=return reso=return rimborso=refund soldi=money denaro=money
        cambiare=exchange cambio=exchange taglia=size annullare=cancel modificare=change
        indirizzo=address pagamento=payment pagare=pay carta=card fattura=invoice
        password=password account=account conto=account eliminare=delete cancellare=delete
        regalo=gift codice=code sconto=discount rotto=broken danneggiato=damaged sbagliato=wrong
        manca=missing mancante=missing negozio=shop orari=hours costa=cost prezzo=price
        gratis=free gratuita=free dogana=customs garanzia=warranty punti=points
        addebitato=charged giorni=days
    """,
    "pt": """
        produto=item artigo=item quando=when
        pedido=order encomenda=order pacote=parcel envio=shipping entrega=delivery
        entregue=delivered enviar=send onde=where rastreamento=tracking rastrear=track
        chegou=arrive chegar=arrive devolver=return devolução=return devolucao=return
        reembolso=refund dinheiro=money trocar=exchange troca=exchange tamanho=size
        cancelar=cancel alterar=change mudar=change endereço=address endereco=address
        morada=address pagamento=payment pagar=pay cartão=card cartao=card fatura=invoice
        senha=password conta=account apagar=delete excluir=delete presente=gift código=code
        codigo=code desconto=discount quebrado=broken danificado=damaged errado=wrong
        falta=missing loja=shop horário=hours horario=hours custa=cost preço=price preco=price
        grátis=free gratis=free alfândega=customs alfandega=customs garantia=warranty
        pontos=points cobrado=charged dias=days
    """,
    "nl": """
        product=item artikel=item wanneer=when
        bestelling=order pakket=parcel pakketje=parcel verzending=shipping levering=delivery
        bezorging=delivery bezorgd=delivered geleverd=delivered versturen=send waar=where
        volgen=track track=track aangekomen=arrive terugsturen=return retour=return
        retourneren=return terugbetaling=refund geld=money ruilen=exchange maat=size
        annuleren=cancel wijzigen=change veranderen=change adres=address betaling=payment
        betalen=pay kaart=card factuur=invoice wachtwoord=password account=account
        verwijderen=delete cadeau=gift cadeaubon=gift code=code korting=discount kapot=broken
        beschadigd=damaged verkeerd=wrong verkeerde=wrong ontbreekt=missing winkel=shop
        openingstijden=hours kost=cost prijs=price gratis=free douane=customs garantie=warranty
        punten=points afgeschreven=charged dagen=days
    """,
    "pl": """
        produkt=item produktu=item kiedy=when
        zamówienie=order zamowienie=order zamówienia=order zamowienia=order paczka=parcel
        paczki=parcel wysyłka=shipping wysylka=shipping dostawa=delivery dostarczona=delivered
        wysłać=send wyslac=send gdzie=where śledzenie=tracking sledzenie=tracking
        śledzić=track sledzic=track dotarła=arrive dotarla=arrive zwrot=return zwrócić=return
        zwrocic=return pieniądze=refund pieniadze=refund wymiana=exchange wymienić=exchange
        wymienic=exchange rozmiar=size anulować=cancel anulowac=cancel zmienić=change
        zmienic=change adres=address płatność=payment platnosc=payment zapłacić=pay
        zaplacic=pay karta=card faktura=invoice faktury=invoice hasło=password haslo=password
        konto=account usunąć=delete usunac=delete prezent=gift kod=code rabat=discount
        zniżka=discount znizka=discount zepsuty=broken uszkodzony=damaged uszkodzona=damaged
        zły=wrong zly=wrong brakuje=missing sklep=shop godziny=hours kosztuje=cost cena=price
        darmowa=free darmowy=free cło=customs clo=customs gwarancja=warranty punkty=points
        obciążony=charged obciazony=charged dni=days
    """,
}


def _plain(word: str) -> str:
    """Without accents, as customers often type."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def _table(text: str) -> dict[str, str]:
    pairs = [entry.split("=") for entry in word_set(text)]
    return {**{_plain(word): english for word, english in pairs}, **dict(pairs)}


GLOSSARY: dict[str, dict[str, str]] = {lang: _table(text) for lang, text in _ENTRIES.items()}
MIN_TERMS = 2
"""Fewer of the shop's words than this ("¿dónde está la estación?") is not enough to answer."""
_WORD_RE = re.compile(r"[^\W\d_]+")


def to_english(text: str, language: str) -> str | None:
    """The English words for the shop's topics `text` names, or None when it names too few."""
    glossary = GLOSSARY.get(language)
    if glossary is None:
        return None
    found = []
    for word in _WORD_RE.findall(text.lower()):
        english = glossary.get(word) or glossary.get(_plain(word))
        if english:
            found.append(english)
    found = list(dict.fromkeys(found))
    return " ".join(found) if len(found) >= MIN_TERMS else None
