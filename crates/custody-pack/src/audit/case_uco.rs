//! The custody history as CASE/UCO JSON-LD (CASE 1.5, UCO 1.4 vocabulary), for exchange
//! with other investigative tools; `case_validate` (PyPI `case-utils`) checks it.
//!
//! The mapping (`docs/audit.md`, "CASE/UCO export"):
//! * the case: an `investigation:Investigation` whose `uco-core:object` lists everything
//!   below, with the legal authorities as `investigation:relevantAuthorization`;
//! * each item: an `observable:File` with a `FileFacet` (name, path, size) and a
//!   `ContentDataFacet` whose hashes are `uco-types:Hash` (SHA256, and BLAKE3: UCO's hash
//!   vocabulary is open, so `case_validate` reports BLAKE3 at severity Info only);
//! * each event: an `investigation:InvestigativeAction` with its performer (an
//!   `identity:Person`, member of an `identity:Organization`), instrument (the tool, when
//!   recorded), location, object (the items' files), participants (from, to) and result:
//!   one `investigation:ProvenanceRecord` per item, carrying the item id as its exhibit
//!   number and saying who held it afterwards;
//! * each legal authority: an `investigation:Authorization`, linked to the actions done
//!   under it by an `Authorized_By` relationship;
//! * each use limitation of a package: a `marking:MarkingDefinition` (statement marking)
//!   on every item's file.
//!
//! Node IRIs are `urn:uuid:` names derived from the ledger origin (or package id) and what
//! the node stands for, so the same history exports to the same graph.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{AuditReport, AuditScope, Party, TimelineEntry};

/// A name-based UUID URN: the first 128 bits of SHA-256 of the parts (NUL-separated),
/// with the RFC 9562 variant bits and version nibble 5 (name-based) set, so that every
/// node IRI ends in a UUID as UCO asks.
fn iri(parts: &[&str]) -> String {
    let joined = parts.join("\u{0}");
    let digest = custody_core::hash::hash_reader(joined.as_bytes(), &mut |_| {})
        .map(|d| d.sha256)
        .unwrap_or_default();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = custody_core::hex::encode(&b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn typed(datatype: &str, value: &str) -> Value {
    json!({"@type": datatype, "@value": value})
}

fn id(iri: &str) -> Value {
    json!({"@id": iri})
}

/// Builds the graph, node by node, each once.
struct Graph {
    base: String,
    nodes: BTreeMap<String, Value>,
    order: Vec<String>,
}

impl Graph {
    fn iri(&self, parts: &[&str]) -> String {
        let mut all = vec![self.base.as_str()];
        all.extend_from_slice(parts);
        iri(&all)
    }

    fn add(&mut self, iri: String, node: Value) -> String {
        if !self.nodes.contains_key(&iri) {
            let mut node = node;
            if let Some(object) = node.as_object_mut() {
                object.insert("@id".into(), Value::String(iri.clone()));
            }
            self.nodes.insert(iri.clone(), node);
            self.order.push(iri.clone());
        }
        iri
    }

    fn organisation(&mut self, name: &str, jurisdiction: Option<&str>) -> String {
        let iri = self.iri(&["organisation", name]);
        let mut node = json!({"@type": "identity:Organization", "uco-core:name": name});
        if let Some(j) = jurisdiction {
            node["uco-core:description"] = Value::String(format!("jurisdiction {j}"));
        }
        self.add(iri, node)
    }

    fn party(&mut self, party: &Party) -> String {
        let Some(key) = &party.key else {
            // A free-text authority.
            return self.organisation(&party.name, party.jurisdiction.as_deref());
        };
        let iri = self.iri(&["actor", key]);
        let mut description = Vec::new();
        if let Some(role) = &party.role {
            description.push(format!("role: {role}"));
        }
        if let Some(j) = &party.jurisdiction {
            description.push(format!("jurisdiction: {j}"));
        }
        description.push(format!("Ed25519 key: {key}"));
        let person = self.add(
            iri,
            json!({
                "@type": "identity:Person",
                "uco-core:name": party.name,
                "uco-core:description": description.join("; "),
            }),
        );
        if let Some(org) = &party.organisation {
            let org = self.organisation(org, party.jurisdiction.as_deref());
            let rel = self.iri(&["member-of", &person, &org]);
            self.add(
                rel,
                json!({
                    "@type": "uco-core:Relationship",
                    "uco-core:source": id(&person),
                    "uco-core:target": id(&org),
                    "uco-core:kindOfRelationship": "Member_Of",
                    "uco-core:isDirectional": true,
                }),
            );
        }
        person
    }
}

fn hash(iri: String, method: &str, value: &str) -> Value {
    json!({
        "@id": iri,
        "@type": "uco-types:Hash",
        "uco-types:hashMethod": method,
        "uco-types:hashValue": typed("xsd:hexBinary", value),
    })
}

/// The report's custody history as a CASE/UCO JSON-LD document.
pub fn export(report: &AuditReport) -> Value {
    let base = match &report.scope {
        AuditScope::Ledger { origin, .. } => format!("ledger {origin}"),
        AuditScope::Package { id, path, .. } => format!(
            "package {}",
            id.clone().unwrap_or_else(|| path.display().to_string())
        ),
    };
    let mut g = Graph {
        base,
        nodes: BTreeMap::new(),
        order: Vec::new(),
    };
    let markings: Vec<String> = report
        .package
        .iter()
        .flat_map(|p| &p.use_limitations)
        .map(|text| {
            let iri = g.iri(&["use-limitation", text]);
            let statement = g.iri(&["use-limitation-statement", text]);
            g.add(
                iri,
                json!({
                    "@type": "marking:MarkingDefinition",
                    "marking:definitionType": "statement",
                    "marking:definition": {
                        "@id": statement,
                        "@type": "marking:StatementMarking",
                        "marking:definitionType": "statement",
                        "marking:statement": text,
                    },
                }),
            )
        })
        .collect();
    let mut authorizations: Vec<String> = Vec::new();
    let mut authorization = |g: &mut Graph, text: &str| {
        let iri = g.iri(&["authorization", text]);
        let iri = g.add(
            iri,
            json!({
                "@type": "investigation:Authorization",
                "investigation:authorizationType": "legal authority",
                "investigation:authorizationIdentifier": text,
            }),
        );
        if !authorizations.contains(&iri) {
            authorizations.push(iri.clone());
        }
        iri
    };
    for case in &report.cases {
        if let Some(text) = &case.legal_authority {
            authorization(&mut g, text);
        }
    }
    // Items first, then one action per event (an event may name several items).
    let mut files: BTreeMap<&str, String> = BTreeMap::new();
    let mut events: BTreeMap<u64, (&TimelineEntry, Vec<&str>)> = BTreeMap::new();
    for item in &report.items {
        let mut content = json!({
            "@id": g.iri(&["content-data-facet", &item.id]),
            "@type": "observable:ContentDataFacet",
        });
        let mut hashes = Vec::new();
        if let Some(h) = &item.sha256 {
            hashes.push(hash(g.iri(&["sha256", &item.id]), "SHA256", h));
        }
        if let Some(h) = &item.blake3 {
            hashes.push(hash(g.iri(&["blake3", &item.id]), "BLAKE3", h));
        }
        if !hashes.is_empty() {
            content["observable:hash"] = Value::Array(hashes);
        }
        let mut file_facet = json!({
            "@id": g.iri(&["file-facet", &item.id]),
            "@type": "observable:FileFacet",
        });
        if let Some(size) = item.size {
            content["observable:sizeInBytes"] = json!(size);
            file_facet["observable:sizeInBytes"] = json!(size);
        }
        if let Some(path) = &item.path {
            file_facet["observable:filePath"] = Value::String(path.clone());
            let name = path.rsplit('/').next().unwrap_or(path);
            file_facet["observable:fileName"] = Value::String(name.to_owned());
        }
        let mut facets = vec![file_facet, content];
        let form = &item.form;
        if let Some(device) = &form.device {
            let mut facet = json!({
                "@id": g.iri(&["device-facet", &item.id]),
                "@type": "observable:DeviceFacet",
            });
            if let Some(make) = &device.make {
                let maker = g.organisation(make, None);
                facet["observable:manufacturer"] = id(&maker);
            }
            if let Some(model) = &device.model {
                facet["observable:model"] = Value::String(model.clone());
            }
            if let Some(serial) = &device.serial_number {
                facet["observable:serialNumber"] = Value::String(serial.clone());
            }
            if let Some(kind) = &form.item_type {
                facet["observable:deviceType"] = Value::String(kind.clone());
            }
            facets.push(facet);
        }
        let mut file = json!({
            "@type": "observable:File",
            "uco-core:name": item.id,
            "uco-core:hasFacet": facets,
        });
        let about: Vec<String> = [
            form.description.clone(),
            form.item_type.as_ref().map(|t| format!("type: {t}")),
            form.seals
                .as_ref()
                .map(|s| format!("seals: {}", s.join(", "))),
            form.storage_conditions
                .as_ref()
                .map(|t| format!("storage conditions: {t}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !about.is_empty() {
            file["uco-core:description"] = Value::String(about.join("; "));
        }
        if !markings.is_empty() {
            file["uco-core:objectMarking"] = Value::Array(markings.iter().map(|m| id(m)).collect());
        }
        let iri = g.iri(&["item", &item.id]);
        files.insert(&item.id, g.add(iri, file));
        for entry in &item.timeline {
            events
                .entry(entry.seq)
                .or_insert_with(|| (entry, Vec::new()))
                .1
                .push(&item.id);
        }
    }
    for (seq, (entry, items)) in &events {
        let seq_text = seq.to_string();
        let performer = g.party(&entry.actor);
        let mut action = Map::new();
        action.insert("@type".into(), json!("investigation:InvestigativeAction"));
        action.insert("uco-core:name".into(), json!(entry.kind));
        let mut description = vec![format!("ledger entry {seq}")];
        if let Some(p) = &entry.purpose {
            description.push(format!("purpose: {p}"));
        }
        if let Some(n) = &entry.notes {
            description.push(n.clone());
        }
        if let Some(form) = &entry.form {
            if let Some(c) = &form.condition_on_receipt {
                description.push(format!("condition on receipt: {c}"));
            }
            if let Some(seals) = &form.seals {
                description.push(format!("seals: {}", seals.join(", ")));
            }
            if let Some(shipment) = &form.shipment {
                let parts: Vec<String> = [
                    ("carrier", &shipment.carrier),
                    ("tracking number", &shipment.tracking_number),
                ]
                .into_iter()
                .filter_map(|(label, value)| Some(format!("{label} {}", value.as_ref()?)))
                .collect();
                description.push(format!("shipment: {}", parts.join(", ")));
            }
        }
        if entry.to_actor.is_some() {
            description
                .push("hand-over signed by both the releasing and the receiving actor".into());
        }
        action.insert("uco-core:description".into(), json!(description.join("; ")));
        action.insert(
            "action:startTime".into(),
            typed("xsd:dateTime", &entry.time),
        );
        action.insert("action:performer".into(), id(&performer));
        if let Some(tool) = &entry.tool {
            let iri = g.iri(&["tool", tool]);
            let tool = g.add(
                iri,
                json!({"@type": "uco-tool:Tool", "uco-core:name": tool}),
            );
            action.insert("action:instrument".into(), id(&tool));
        }
        if let Some(place) = &entry.place {
            let iri = g.iri(&["place", place]);
            let place = g.add(
                iri,
                json!({"@type": "uco-location:Location", "uco-core:name": place}),
            );
            action.insert("action:location".into(), id(&place));
        }
        let participants: Vec<Value> = [&entry.from, &entry.to, &entry.to_actor]
            .into_iter()
            .flatten()
            .map(|p| id(&g.party(p)))
            .collect();
        if !participants.is_empty() {
            action.insert("action:participant".into(), Value::Array(participants));
        }
        let objects: Vec<Value> = items
            .iter()
            .filter_map(|i| files.get(i))
            .map(|f| id(f))
            .collect();
        action.insert("action:object".into(), Value::Array(objects));
        let mut results = Vec::new();
        for item in items {
            let Some(file) = files.get(item).cloned() else {
                continue;
            };
            let holder = report
                .items
                .iter()
                .find(|i| i.id == *item)
                .and_then(|i| i.timeline.iter().find(|t| t.seq == *seq))
                .and_then(|t| t.holder.as_ref())
                .map_or_else(|| "no known holder".to_owned(), |h| h.affiliation_of());
            let iri = g.iri(&["provenance", item, &seq_text]);
            results.push(id(&g.add(
                iri,
                json!({
                    "@type": "investigation:ProvenanceRecord",
                    "investigation:exhibitNumber": item,
                    "uco-core:description": format!("custody after ledger entry {seq}: held by {holder}"),
                    "uco-core:object": [id(&file)],
                }),
            )));
        }
        action.insert("action:result".into(), Value::Array(results));
        let action_iri = g.iri(&["action", &seq_text]);
        let action_iri = g.add(action_iri, Value::Object(action));
        if let Some(text) = &entry.legal_authority {
            let auth = authorization(&mut g, text);
            let rel = g.iri(&["authorized-by", &action_iri, &auth]);
            g.add(
                rel,
                json!({
                    "@type": "uco-core:Relationship",
                    "uco-core:source": id(&action_iri),
                    "uco-core:target": id(&auth),
                    "uco-core:kindOfRelationship": "Authorized_By",
                    "uco-core:isDirectional": true,
                }),
            );
        }
    }
    let objects: Vec<Value> = g.order.iter().map(|i| id(i)).collect();
    for case in &report.cases {
        let iri = g.iri(&["investigation", &case.case]);
        let mut node = json!({
            "@type": "investigation:Investigation",
            "uco-core:name": case.case,
            "investigation:investigationForm": "case",
            "uco-core:object": objects,
        });
        if let Some(title) = &case.title {
            node["uco-core:description"] = Value::String(title.clone());
        }
        if !authorizations.is_empty() {
            node["investigation:relevantAuthorization"] =
                Value::Array(authorizations.iter().map(|a| id(a)).collect());
        }
        g.add(iri, node);
    }
    let graph: Vec<Value> = g
        .order
        .iter()
        .filter_map(|i| g.nodes.get(i).cloned())
        .collect();
    json!({
        "@context": {
            "action": "https://ontology.unifiedcyberontology.org/uco/action/",
            "identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
            "investigation": "https://ontology.caseontology.org/case/investigation/",
            "marking": "https://ontology.unifiedcyberontology.org/uco/marking/",
            "observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
            "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
            "uco-location": "https://ontology.unifiedcyberontology.org/uco/location/",
            "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
            "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@graph": graph,
    })
}

impl Party {
    /// The party as one line: name and affiliation.
    fn affiliation_of(&self) -> String {
        let affiliation = self.affiliation();
        if affiliation == self.name {
            affiliation
        } else {
            format!("{}, {affiliation}", self.name)
        }
    }
}
