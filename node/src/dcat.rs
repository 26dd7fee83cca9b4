//! `techmesh export --format dcat`: the node's catalogue as DCAT-AP JSON-LD.
//!
//! One `@graph` with:
//!
//! - the `dcat:Catalog` of this node (`urn:techmesh:catalog:<publisher>`): its name as
//!   `dct:title`, `dct:publisher` this node's publisher key
//!   (`urn:techmesh:publisher:<hex>`, a `foaf:Agent`), `dct:modified`, its records
//!   and datasets;
//! - per current entry, a `dcat:CatalogRecord` (`dct:modified` = the record's
//!   `issued_at` as `xsd:dateTime`, `foaf:primaryTopic` the entry) and the entry
//!   itself, `urn:techmesh:record:<publisher>/entry/<local_id>`, typed `schema:Offer`
//!   or `schema:Demand`, with `dct:title` (title) and `dct:description` (summary) as
//!   language-tagged literals, `dcat:keyword`, `dct:subject` per classification code
//!   (`urn:techmesh:code:<scheme>:<code>`, a `skos:Concept` with `skos:notation` in
//!   `urn:techmesh:scheme:<scheme>`), validity, organisation, price, and the techmesh
//!   specifics (`tm:` = `urn:techmesh:vocab:`: transfer modes, maturity, scope, IPR);
//! - per mapping set, a `dcat:Dataset` with its own catalogue record and one
//!   `dcat:Distribution`: SSSOM/TSV (`dcat:mediaType` text/tab-separated-values,
//!   `dct:conformsTo` <https://w3id.org/sssom/>).
//!
//! Entries and mapping sets of every publisher the node holds are included (the
//! catalogue it serves), as `export` does for JSONL; tombstones are not.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde_json::{json, Map, Value};

use techmesh_protocol::body::{Body, Kind, LangMap};
use techmesh_protocol::codes::Scheme;
use techmesh_protocol::record::Record;

use crate::cli::Backend;
use crate::datadir::DataDir;
use crate::store::ListFilter;

pub const SSSOM: &str = "https://w3id.org/sssom/";
pub const TSV_MEDIA_TYPE: &str =
    "http://www.iana.org/assignments/media-types/text/tab-separated-values";

fn context() -> Value {
    json!({
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "schema": "https://schema.org/",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "tm": "urn:techmesh:vocab:"
    })
}

/// Percent-encode everything but unreserved characters (RFC 3986), byte by byte.
pub fn iri_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn publisher_iri(hex: &str) -> String {
    format!("urn:techmesh:publisher:{hex}")
}

/// The resource of a record: `urn:techmesh:record:<publisher>/<kind>/<local_id>`.
pub fn record_iri(r: &Record) -> String {
    let id = r.identity();
    format!(
        "urn:techmesh:record:{}/{}/{}",
        r.publisher.to_hex(),
        id.kind.as_str(),
        iri_escape(&id.local_id)
    )
}

fn catalog_record_iri(r: &Record) -> String {
    let id = r.identity();
    format!(
        "urn:techmesh:catalog-record:{}/{}/{}",
        r.publisher.to_hex(),
        id.kind.as_str(),
        iri_escape(&id.local_id)
    )
}

pub fn code_iri(scheme: &str, code: &str) -> String {
    format!(
        "urn:techmesh:code:{}:{}",
        iri_escape(scheme),
        iri_escape(code)
    )
}

fn scheme_iri(scheme: &str) -> String {
    format!("urn:techmesh:scheme:{}", iri_escape(scheme))
}

/// `[{"@value": …, "@language": …}]` for a language map.
fn literals(map: &LangMap) -> Value {
    Value::Array(
        map.iter()
            .map(|(lang, text)| json!({"@value": text, "@language": lang}))
            .collect(),
    )
}

fn datetime(r: &Record) -> Value {
    json!({"@value": r.issued_at.to_string(), "@type": "xsd:dateTime"})
}

fn date(d: &str) -> Value {
    json!({"@value": d, "@type": "xsd:date"})
}

/// A guess at the language of a bare name (the node name has none).
fn language_of(text: &str) -> &'static str {
    if text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
        "zh"
    } else {
        "en"
    }
}

fn wire<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn license_iri(l: &str) -> String {
    if l.contains("://") {
        l.to_string()
    } else {
        format!("https://spdx.org/licenses/{}", iri_escape(l.trim()))
    }
}

/// The `skos:Concept` of a code (added once), and its scheme.
fn concept(
    concepts: &mut BTreeMap<String, Value>,
    schemes: &mut BTreeMap<String, Value>,
    scheme: &str,
    code: &str,
) -> String {
    let iri = code_iri(scheme, code);
    concepts.entry(iri.clone()).or_insert_with(|| {
        json!({
            "@id": iri,
            "@type": "skos:Concept",
            "skos:notation": code,
            "skos:inScheme": {"@id": scheme_iri(scheme)}
        })
    });
    scheme_node(schemes, scheme);
    iri
}

/// The `skos:ConceptScheme` of a scheme identifier (added once).
fn scheme_node(schemes: &mut BTreeMap<String, Value>, scheme: &str) {
    schemes.entry(scheme.to_string()).or_insert_with(|| {
        let title = Scheme::parse(scheme)
            .map(|s| s.display_name())
            .unwrap_or(scheme);
        json!({
            "@id": scheme_iri(scheme),
            "@type": "skos:ConceptScheme",
            "dct:title": {"@value": title, "@language": "en"},
            "dct:identifier": scheme
        })
    });
}

/// The catalogue document of node `name` (publisher key `own`) holding `records`.
pub fn catalogue(name: &str, own: &str, records: &[Record]) -> Value {
    let mut graph: Vec<Value> = Vec::new();
    let mut concepts: BTreeMap<String, Value> = BTreeMap::new();
    let mut schemes: BTreeMap<String, Value> = BTreeMap::new();
    let mut publishers: BTreeMap<String, Value> = BTreeMap::new();
    let mut record_ids = Vec::new();
    let mut dataset_ids = Vec::new();
    let (mut entries, mut sets) = (0usize, 0usize);
    for r in records {
        let subject = record_iri(r);
        let publisher = r.publisher.to_hex();
        publishers.entry(publisher.clone()).or_insert_with(|| {
            let agent_name = if publisher == own {
                name.to_string()
            } else {
                format!("techmesh publisher {}", &publisher[..16])
            };
            json!({
                "@id": publisher_iri(&publisher),
                "@type": "foaf:Agent",
                "foaf:name": agent_name
            })
        });
        let mut node = Map::new();
        node.insert("@id".into(), json!(subject));
        match &r.body {
            Body::Entry(e) => {
                entries += 1;
                let ty = if e.entry_type.as_str() == "offer" {
                    "schema:Offer"
                } else {
                    "schema:Demand"
                };
                node.insert("@type".into(), json!([ty, "dcat:Resource"]));
                node.insert("dct:identifier".into(), json!(e.local_id));
                node.insert("dct:title".into(), literals(&e.title));
                node.insert("dct:description".into(), literals(&e.summary));
                if !e.description.is_empty() {
                    node.insert("tm:details".into(), literals(&e.description));
                }
                let keywords: Vec<Value> = e
                    .keywords
                    .iter()
                    .flat_map(|(lang, words)| {
                        words
                            .iter()
                            .map(move |w| json!({"@value": w, "@language": lang}))
                    })
                    .collect();
                if !keywords.is_empty() {
                    node.insert("dcat:keyword".into(), Value::Array(keywords));
                }
                let subjects: Vec<Value> = e
                    .classifications
                    .iter()
                    .map(|c| json!({"@id": concept(&mut concepts, &mut schemes, &c.scheme, &c.code)}))
                    .collect();
                node.insert("dct:subject".into(), Value::Array(subjects));
                node.insert(
                    "dct:publisher".into(),
                    json!({"@id": publisher_iri(&publisher)}),
                );
                node.insert("schema:validFrom".into(), date(&e.valid_from));
                node.insert("schema:validThrough".into(), date(&e.valid_until));
                let org = &e.organisation;
                let mut address = json!({
                    "@type": "schema:PostalAddress",
                    "schema:addressCountry": org.country
                });
                if let Some(region) = &org.region {
                    address["schema:addressRegion"] = json!(region);
                }
                node.insert(
                    "dct:creator".into(),
                    json!({
                        "@type": ["foaf:Organization", "schema:Organization"],
                        "foaf:name": literals(&org.name),
                        "tm:organisationKind": wire(&org.kind),
                        "schema:address": address
                    }),
                );
                if !e.target_countries.is_empty() {
                    node.insert("schema:eligibleRegion".into(), json!(e.target_countries));
                }
                if !e.transfer_modes.is_empty() {
                    let modes: Vec<Value> = e
                        .transfer_modes
                        .iter()
                        .map(|m| json!({"@id": format!("urn:techmesh:transfer-mode:{}", wire(m))}))
                        .collect();
                    node.insert("tm:transferMode".into(), Value::Array(modes));
                }
                if let Some(trl) = &e.trl {
                    let iri = concept(
                        &mut concepts,
                        &mut schemes,
                        &trl.scheme,
                        &trl.level.to_string(),
                    );
                    node.insert("tm:maturity".into(), json!({"@id": iri}));
                }
                if let Some(ipr) = &e.ipr {
                    node.insert("tm:iprStatus".into(), json!(wire(&ipr.status)));
                    if !ipr.patents.is_empty() {
                        node.insert("tm:patent".into(), json!(ipr.patents));
                    }
                }
                if let Some(p) = &e.price {
                    let mut spec = json!({
                        "@type": "schema:PriceSpecification",
                        "schema:price": {"@value": p.amount, "@type": "xsd:decimal"},
                        "schema:priceCurrency": p.currency
                    });
                    if let Some(n) = p.negotiable {
                        spec["tm:negotiable"] = json!(n);
                    }
                    node.insert("schema:priceSpecification".into(), spec);
                }
                if !e.events.is_empty() {
                    node.insert("tm:event".into(), json!(e.events));
                }
                node.insert("tm:scope".into(), json!(e.scope().as_str()));
            }
            Body::MappingSet(m) => {
                sets += 1;
                dataset_ids.push(json!({"@id": subject}));
                node.insert("@type".into(), json!("dcat:Dataset"));
                node.insert("dct:identifier".into(), json!(m.local_id));
                node.insert("dct:title".into(), literals(&m.title));
                let name_of = |s: &str| {
                    Scheme::parse(s)
                        .map(|s| s.display_name().to_string())
                        .unwrap_or_else(|| s.to_string())
                };
                node.insert(
                    "dct:description".into(),
                    json!({
                        "@value": format!(
                            "{} mapping(s) from {} to {} (SSSOM)",
                            m.mappings.len(),
                            name_of(&m.subject_scheme),
                            name_of(&m.object_scheme)
                        ),
                        "@language": "en"
                    }),
                );
                node.insert(
                    "dct:subject".into(),
                    json!([
                        {"@id": scheme_iri(&m.subject_scheme)},
                        {"@id": scheme_iri(&m.object_scheme)}
                    ]),
                );
                node.insert(
                    "dct:publisher".into(),
                    json!({"@id": publisher_iri(&publisher)}),
                );
                node.insert("dct:modified".into(), datetime(r));
                let dist_iri = format!(
                    "urn:techmesh:distribution:{}/mapping_set/{}/sssom-tsv",
                    publisher,
                    iri_escape(&m.local_id)
                );
                let mut dist = json!({
                    "@id": dist_iri,
                    "@type": "dcat:Distribution",
                    "dct:title": {"@value": "SSSOM/TSV", "@language": "en"},
                    "dcat:mediaType": {"@id": TSV_MEDIA_TYPE},
                    "dct:format": {"@id": "http://publications.europa.eu/resource/authority/file-type/TSV"},
                    "dct:conformsTo": {"@id": SSSOM},
                    "dcat:accessURL": {"@id": subject}
                });
                if let Some(l) = &m.license {
                    node.insert("dct:license".into(), json!({"@id": license_iri(l)}));
                    dist["dct:license"] = json!({"@id": license_iri(l)});
                }
                node.insert("dcat:distribution".into(), json!({"@id": dist_iri}));
                graph.push(dist);
                for scheme in [&m.subject_scheme, &m.object_scheme] {
                    scheme_node(&mut schemes, scheme);
                }
            }
            Body::Event(_) | Body::Tombstone(_) | Body::Membership(_) => continue,
        }
        graph.push(Value::Object(node));
        let rec = catalog_record_iri(r);
        record_ids.push(json!({"@id": rec}));
        graph.push(json!({
            "@id": rec,
            "@type": "dcat:CatalogRecord",
            "foaf:primaryTopic": {"@id": subject},
            "dct:modified": datetime(r),
            "dct:identifier": r.hash().to_hex(),
            "dct:publisher": {"@id": publisher_iri(&publisher)}
        }));
    }
    let modified = records.iter().map(|r| r.issued_at).max();
    publishers.entry(own.to_string()).or_insert_with(
        || json!({"@id": publisher_iri(own), "@type": "foaf:Agent", "foaf:name": name}),
    );
    let mut catalog = json!({
        "@id": format!("urn:techmesh:catalog:{own}"),
        "@type": "dcat:Catalog",
        "dct:title": {"@value": name, "@language": language_of(name)},
        "dct:description": {
            "@value": format!("techmesh catalogue of {name}: {entries} technology offer(s) and request(s), {sets} mapping set(s)"),
            "@language": "en"
        },
        "dct:publisher": {"@id": publisher_iri(own)},
        "dcat:record": record_ids,
        "dcat:dataset": dataset_ids,
        "dcat:themeTaxonomy": schemes.keys().map(|s| json!({"@id": scheme_iri(s)})).collect::<Vec<_>>()
    });
    if let Some(m) = modified {
        catalog["dct:modified"] = json!({"@value": m.to_string(), "@type": "xsd:dateTime"});
    }
    let mut all = vec![catalog];
    all.extend(publishers.into_values());
    all.extend(schemes.into_values());
    all.extend(concepts.into_values());
    all.extend(graph);
    json!({"@context": context(), "@graph": all})
}

/// Write the catalogue of the store behind `b` to `file`.
pub fn export(b: &dyn Backend, dir: &DataDir, file: &Path) -> Result<i32> {
    let name = dir.config()?.node.name.clone();
    let own = b.own_key().to_hex();
    let mut records = b.list(&ListFilter {
        kind: Some(Kind::Entry),
        ..Default::default()
    })?;
    records.extend(b.list(&ListFilter {
        kind: Some(Kind::MappingSet),
        ..Default::default()
    })?);
    records.sort_by_key(|r| (r.kind(), r.publisher.to_hex(), r.identity().local_id));
    let doc = catalogue(&name, &own, &records);
    let mut bytes = serde_json::to_vec_pretty(&doc)?;
    bytes.push(b'\n');
    crate::tabular::write_atomically(file, &bytes)?;
    let count = |k: Kind| records.iter().filter(|r| r.kind() == k).count();
    eprintln!(
        "exported a DCAT-AP catalogue of {} entr(ies) and {} mapping set(s) to {}",
        count(Kind::Entry),
        count(Kind::MappingSet),
        file.display()
    );
    Ok(0)
}
