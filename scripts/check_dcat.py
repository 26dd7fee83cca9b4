#!/usr/bin/env python3
"""Check a techmesh DCAT-AP export (`techmesh export --format dcat FILE`) as RDF.

The file is parsed as JSON-LD by rdflib, a standard RDF library independent of
techmesh, and the triples are checked against what the export promises
(node/src/dcat.rs):

- one dcat:Catalog with a title, a publisher `urn:techmesh:publisher:<hex>` and
  dct:modified;
- one dcat:CatalogRecord per catalogued resource, each with exactly one
  foaf:primaryTopic and one dct:modified typed xsd:dateTime, listed by the catalogue;
- entries typed schema:Offer or schema:Demand, named
  `urn:techmesh:record:<publisher>/entry/<local_id>`, with language-tagged dct:title
  and dct:description, and dct:subject codes that are skos:Concepts with a notation
  in a scheme;
- mapping sets as dcat:Dataset with a language-tagged title and an SSSOM/TSV
  dcat:Distribution (media type text/tab-separated-values, conformsTo SSSOM).

Usage:
    check_dcat.py FILE [--entries N] [--offers N] [--requests N] [--datasets N]
                       [--title LANG=TEXT ...]

Prints one line per check and, last, `N passed, M failed`. Exit status 0 iff all pass.
"""

import argparse
import datetime
import re
import sys

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

SDO = Namespace("https://schema.org/")
SSSOM = URIRef("https://w3id.org/sssom/")
TSV = URIRef("http://www.iana.org/assignments/media-types/text/tab-separated-values")
ENTRY_IRI = re.compile(r"^urn:techmesh:record:[0-9a-f]{64}/entry/[A-Za-z0-9._:%-]{1,384}$")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"ok: {what}")
        else:
            self.failed += 1
            print(f"FAIL: {what}{': ' + detail if detail else ''}")
        return ok


def tagged(values):
    """All values are literals with a language tag (and there is at least one)."""
    values = list(values)
    return bool(values) and all(isinstance(v, Literal) and v.language for v in values)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--entries", type=int)
    ap.add_argument("--offers", type=int)
    ap.add_argument("--requests", type=int)
    ap.add_argument("--datasets", type=int)
    ap.add_argument("--title", action="append", default=[], help="LANG=TEXT expected as an entry title")
    args = ap.parse_args()
    c = Checks()

    g = Graph()
    try:
        with open(args.file, "rb") as f:
            g.parse(data=f.read(), format="json-ld")
    except Exception as e:  # noqa: BLE001 - report any parse failure as a failed check
        c.check(False, "parses as JSON-LD", repr(e))
        print(f"{c.passed} passed, {c.failed} failed")
        return 1
    c.check(len(g) > 0, f"parses as JSON-LD ({len(g)} triples)")

    catalogs = list(g.subjects(RDF.type, DCAT.Catalog))
    c.check(len(catalogs) == 1, "exactly one dcat:Catalog", f"found {len(catalogs)}")
    cat = catalogs[0] if catalogs else None
    if cat is not None:
        c.check(tagged(g.objects(cat, DCTERMS.title)), "catalogue has a language-tagged dct:title")
        pubs = list(g.objects(cat, DCTERMS.publisher))
        c.check(
            len(pubs) == 1 and str(pubs[0]).startswith("urn:techmesh:publisher:")
            and re.fullmatch(r"[0-9a-f]{64}", str(pubs[0]).rsplit(":", 1)[1]) is not None,
            "catalogue dct:publisher is urn:techmesh:publisher:<64 hex>",
            str(pubs),
        )
        c.check(
            pubs and (pubs[0], RDF.type, FOAF.Agent) in g and any(g.objects(pubs[0], FOAF.name)),
            "publisher is a foaf:Agent with a foaf:name",
        )

    records = list(g.subjects(RDF.type, DCAT.CatalogRecord))
    bad = []
    topics = []
    for r in records:
        pt = list(g.objects(r, FOAF.primaryTopic))
        mod = list(g.objects(r, DCTERMS.modified))
        if len(pt) != 1 or len(mod) != 1:
            bad.append(f"{r}: {len(pt)} primaryTopic, {len(mod)} modified")
            continue
        m = mod[0]
        value = m.toPython() if isinstance(m, Literal) else None
        if not (m.datatype == XSD.dateTime and isinstance(value, datetime.datetime) and value.tzinfo):
            bad.append(f"{r}: dct:modified {m!r} is not an xsd:dateTime")
        if cat is not None and (cat, DCAT.record, r) not in g:
            bad.append(f"{r}: not listed by the catalogue's dcat:record")
        topics.append(pt[0])
    c.check(bool(records) and not bad,
            f"{len(records)} dcat:CatalogRecord(s), each with one foaf:primaryTopic and an xsd:dateTime dct:modified",
            "; ".join(bad[:5]))

    offers = set(g.subjects(RDF.type, SDO.Offer))
    demands = set(g.subjects(RDF.type, SDO.Demand))
    entries = offers | demands
    c.check(not (offers & demands), "no entry is both schema:Offer and schema:Demand")
    if args.entries is not None:
        c.check(len(entries) == args.entries, f"{args.entries} entries (schema:Offer/Demand)", f"found {len(entries)}")
    if args.offers is not None:
        c.check(len(offers) == args.offers, f"{args.offers} schema:Offer", f"found {len(offers)}")
    if args.requests is not None:
        c.check(len(demands) == args.requests, f"{args.requests} schema:Demand", f"found {len(demands)}")
    untopical = [e for e in entries if e not in topics]
    c.check(not untopical, "every entry is the primaryTopic of a catalogue record", str(untopical[:3]))

    bad = []
    for e in entries:
        if not ENTRY_IRI.match(str(e)):
            bad.append(f"{e}: not urn:techmesh:record:<publisher>/entry/<local_id>")
        if not tagged(g.objects(e, DCTERMS.title)):
            bad.append(f"{e}: dct:title missing or without language tag")
        if not tagged(g.objects(e, DCTERMS.description)):
            bad.append(f"{e}: dct:description missing or without language tag")
        subjects = list(g.objects(e, DCTERMS.subject))
        if not subjects:
            bad.append(f"{e}: no dct:subject")
        for s in subjects:
            if (s, RDF.type, SKOS.Concept) not in g or not any(g.objects(s, SKOS.notation)) \
                    or not any(g.objects(s, SKOS.inScheme)):
                bad.append(f"{e}: subject {s} is not a skos:Concept with notation and scheme")
        if not any(g.objects(e, DCTERMS.identifier)):
            bad.append(f"{e}: no dct:identifier")
    c.check(bool(entries) and not bad,
            "entries: language-tagged dct:title and dct:description, dct:subject concepts, identifier",
            "; ".join(bad[:5]))

    for spec in args.title:
        lang, _, text = spec.partition("=")
        c.check((None, DCTERMS.title, Literal(text, lang=lang)) in g, f"an entry has the title @{lang} {text!r}")

    datasets = list(g.subjects(RDF.type, DCAT.Dataset))
    if args.datasets is not None:
        c.check(len(datasets) == args.datasets, f"{args.datasets} dcat:Dataset(s)", f"found {len(datasets)}")
    bad = []
    for d in datasets:
        if not tagged(g.objects(d, DCTERMS.title)):
            bad.append(f"{d}: dct:title missing or without language tag")
        if cat is not None and (cat, DCAT.dataset, d) not in g:
            bad.append(f"{d}: not listed by the catalogue's dcat:dataset")
        if d not in topics:
            bad.append(f"{d}: no catalogue record")
        dists = list(g.objects(d, DCAT.distribution))
        if not dists:
            bad.append(f"{d}: no dcat:distribution")
        for dist in dists:
            if (dist, RDF.type, DCAT.Distribution) not in g:
                bad.append(f"{dist}: not a dcat:Distribution")
            if (dist, DCAT.mediaType, TSV) not in g:
                bad.append(f"{dist}: dcat:mediaType is not text/tab-separated-values")
            if (dist, DCTERMS.conformsTo, SSSOM) not in g:
                bad.append(f"{dist}: does not conform to SSSOM")
            if not any(g.objects(dist, DCAT.accessURL)):
                bad.append(f"{dist}: no dcat:accessURL")
    if datasets or args.datasets:
        c.check(not bad, "mapping sets: dcat:Dataset with a title and an SSSOM/TSV distribution",
                "; ".join(bad[:5]))

    # The graph survives a round trip through another RDF syntax unchanged.
    g2 = Graph()
    g2.parse(data=g.serialize(format="turtle"), format="turtle")
    c.check(len(g2) == len(g), "Turtle round trip keeps every triple", f"{len(g)} → {len(g2)}")

    print(f"{c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
