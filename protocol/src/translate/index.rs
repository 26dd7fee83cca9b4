//! The incremental index behind [`Translator`].
//!
//! - Codes are interned as nodes (one per `(scheme, code)`), each knowing its ancestor
//!   nodes, so the hierarchy costs no allocation at query time.
//! - Every mapping of every set is a claim on a *key*: the unordered pair of its nodes.
//! - For each key, the claims of the best-ranked recognised authority win; its positive
//!   claims become edges (both directions) in the adjacency of the two nodes, grouped by
//!   (target scheme, predicate) so the search skips whole groups; its negated claims
//!   become the key's negations.
//!
//! Adding or removing a set recomputes only the keys of its own mappings.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::{
    inverse, AddOutcome, Claim, Conflict, Predicate, Recognition, SetError, SetStatus, Status,
};
use crate::body::{Body, Kind, MappingSet};
use crate::codes::{self, Scheme};
use crate::record::{Identity, PublicKey, Record, RecordHash};

pub(super) type NodeId = u32;
pub(super) type SetIdx = u32;
pub(super) type KeyId = u32;

pub(super) struct Node {
    pub scheme: Scheme,
    pub code: Arc<str>,
    /// Broader codes, broadest first, without the node itself.
    pub ancestors: Box<[NodeId]>,
    pub groups: Vec<Group>,
    /// Number of keys touching this node that carry negations.
    pub negations: u32,
}

/// Outgoing edges of one node towards one scheme with one predicate.
pub(super) struct Group {
    pub to_scheme: Scheme,
    /// The predicate in the walked direction (from this node).
    pub predicate: Predicate,
    pub edges: Vec<Edge>,
}

#[derive(Clone, Copy)]
pub(super) struct Edge {
    pub key: KeyId,
    pub to: NodeId,
    pub set: SetIdx,
    pub confidence: f64,
    pub inverted: bool,
}

#[derive(Clone, Copy)]
struct RawClaim {
    set: SetIdx,
    /// The mapping's subject is the key's `a` node.
    forward: bool,
    /// As stated in the set, subject → object.
    predicate: Predicate,
    negated: bool,
    confidence: f64,
    /// Position in the set (a deterministic order within one set).
    index: u32,
}

impl RawClaim {
    /// The predicate oriented `a → b`.
    fn ab(&self) -> Predicate {
        if self.forward {
            self.predicate
        } else {
            inverse(self.predicate)
        }
    }
}

pub(super) struct Key {
    pub a: NodeId,
    pub b: NodeId,
    claims: Vec<RawClaim>,
    /// Negated predicates of the winner, oriented `a → b`.
    pub negations: Vec<Predicate>,
    has_edges: bool,
}

struct SetEntry {
    id: Identity,
    hash: RecordHash,
    subject: Scheme,
    object: Scheme,
    mappings: usize,
    keys: Vec<KeyId>,
    rank: Option<usize>,
}

/// The mapping index (see the module docs of [`crate::translate`]).
pub struct Translator {
    pub(super) recognition: Recognition,
    pub(super) nodes: Vec<Node>,
    lookup: Vec<HashMap<Box<str>, NodeId>>,
    pub(super) keys: Vec<Key>,
    key_lookup: HashMap<(NodeId, NodeId), KeyId>,
    sets: Vec<Option<SetEntry>>,
    free_sets: Vec<SetIdx>,
    set_lookup: HashMap<Identity, SetIdx>,
    conflicted: HashSet<KeyId>,
}

impl Default for Translator {
    fn default() -> Self {
        Translator::new(Recognition::default())
    }
}

impl Translator {
    pub fn new(recognition: Recognition) -> Translator {
        Translator {
            recognition,
            nodes: Vec::new(),
            lookup: Scheme::ALL.iter().map(|_| HashMap::new()).collect(),
            keys: Vec::new(),
            key_lookup: HashMap::new(),
            sets: Vec::new(),
            free_sets: Vec::new(),
            set_lookup: HashMap::new(),
            conflicted: HashSet::new(),
        }
    }

    pub fn recognition(&self) -> &Recognition {
        &self.recognition
    }

    /// Replace the recognition policy (the trust list changed): re-ranks every set and
    /// recomputes every key. This is the one full rebuild; adding sets never needs it.
    pub fn set_recognition(&mut self, recognition: Recognition) {
        self.recognition = recognition;
        for entry in self.sets.iter_mut().flatten() {
            entry.rank = self
                .recognition
                .rank(&entry.id.publisher, entry.subject, entry.object);
        }
        for k in 0..self.keys.len() {
            self.recompute(k as KeyId);
        }
    }

    /// Index (or re-index) the mapping set `set` published by `publisher` in the record
    /// with hash `hash`. A set with the same identity (publisher, local id) is replaced.
    /// Codes are normalised; the set is refused only if a scheme is unknown or a code is
    /// not a code of its scheme (never the case for a validated record).
    pub fn add_set(
        &mut self,
        publisher: PublicKey,
        hash: RecordHash,
        set: &MappingSet,
    ) -> Result<AddOutcome, SetError> {
        let scheme = |field, value: &str| {
            Scheme::parse(value).ok_or_else(|| SetError::UnknownScheme {
                field,
                value: value.to_owned(),
            })
        };
        let subject = scheme("subject_scheme", &set.subject_scheme)?;
        let object = scheme("object_scheme", &set.object_scheme)?;
        let mut mappings = Vec::with_capacity(set.mappings.len());
        for (index, m) in set.mappings.iter().enumerate() {
            let code = |field, scheme, raw: &str| {
                codes::normalise(scheme, raw).map_err(|error| SetError::Code {
                    index,
                    field,
                    error,
                })
            };
            mappings.push((
                code("subject", subject, &m.subject)?,
                code("object", object, &m.object)?,
                m,
            ));
        }
        let id = Identity {
            publisher,
            kind: Kind::MappingSet,
            local_id: set.local_id.clone(),
        };
        let mut outcome = AddOutcome::Added;
        if let Some(&old) = self.set_lookup.get(&id) {
            if self.entry(old).hash == hash {
                return Ok(AddOutcome::Unchanged);
            }
            self.remove_idx(old);
            outcome = AddOutcome::Replaced;
        }
        let rank = self.recognition.rank(&publisher, subject, object);
        let idx = match self.free_sets.pop() {
            Some(i) => i,
            None => {
                self.sets.push(None);
                (self.sets.len() - 1) as SetIdx
            }
        };
        let mut touched = Vec::new();
        let mut seen = HashSet::new();
        for (index, (s, o, m)) in mappings.into_iter().enumerate() {
            let (sn, on) = (self.intern(subject, &s), self.intern(object, &o));
            if sn == on {
                continue;
            }
            let k = self.key(sn, on);
            let forward = self.keys[k as usize].a == sn;
            self.keys[k as usize].claims.push(RawClaim {
                set: idx,
                forward,
                predicate: m.predicate,
                negated: m.negated,
                confidence: m.confidence(),
                index: index as u32,
            });
            if seen.insert(k) {
                touched.push(k);
            }
        }
        self.sets[idx as usize] = Some(SetEntry {
            id: id.clone(),
            hash,
            subject,
            object,
            mappings: set.mappings.len(),
            keys: touched.clone(),
            rank,
        });
        self.set_lookup.insert(id, idx);
        // An unrecognised set changes nothing that is used.
        if rank.is_some() {
            for k in touched {
                self.recompute(k);
            }
        }
        Ok(outcome)
    }

    /// Apply a stored record, the way a store feeds the index: a `mapping_set` record is
    /// [`Translator::add_set`], a tombstone of one is [`Translator::remove_set`]
    /// (`Ok(None)`), anything else is ignored (`Ok(None)`). The caller passes only the
    /// winning version of each identity.
    pub fn apply_record(&mut self, record: &Record) -> Result<Option<AddOutcome>, SetError> {
        match &record.body {
            Body::MappingSet(set) => self.add_set(record.publisher, record.hash(), set).map(Some),
            Body::Tombstone(t) if t.target_kind == Kind::MappingSet => {
                self.remove_set(&record.identity());
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Forget a mapping set (withdrawn by a tombstone). Returns whether it was indexed.
    pub fn remove_set(&mut self, id: &Identity) -> bool {
        match self.set_lookup.get(id) {
            Some(&idx) => {
                self.remove_idx(idx);
                true
            }
            None => false,
        }
    }

    fn remove_idx(&mut self, idx: SetIdx) {
        let Some(entry) = self.sets[idx as usize].take() else {
            return;
        };
        self.set_lookup.remove(&entry.id);
        for &k in &entry.keys {
            self.keys[k as usize].claims.retain(|c| c.set != idx);
            if entry.rank.is_some() {
                self.recompute(k);
            }
        }
        self.free_sets.push(idx);
    }

    /// Every indexed set, in identity order, recognised or not.
    pub fn sets(&self) -> Vec<SetStatus> {
        let mut out: Vec<SetStatus> = self
            .sets
            .iter()
            .flatten()
            .map(|e| SetStatus {
                id: e.id.clone(),
                hash: e.hash,
                subject_scheme: e.subject,
                object_scheme: e.object,
                mappings: e.mappings,
                recognised: e.rank.is_some(),
                rank: e.rank,
                authority: e
                    .rank
                    .and_then(|r| self.recognition.name(r))
                    .map(str::to_owned),
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    pub fn status(&self) -> Status {
        let mut s = Status {
            conflicts: self.conflicted.len(),
            ..Status::default()
        };
        for e in self.sets.iter().flatten() {
            s.sets += 1;
            if e.rank.is_some() {
                s.recognised_sets += 1;
                s.mappings_used += e.mappings;
            } else {
                s.unrecognised_sets += 1;
            }
        }
        s
    }

    /// Every pair of codes on which recognised authorities disagree, sorted by subject
    /// then object.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out: Vec<Conflict> = self
            .conflicted
            .iter()
            .filter_map(|&k| self.conflict(k))
            .collect();
        out.sort_by(|x, y| {
            (x.subject_scheme, &x.subject, x.object_scheme, &x.object).cmp(&(
                y.subject_scheme,
                &y.subject,
                y.object_scheme,
                &y.object,
            ))
        });
        out
    }

    // ---- internals --------------------------------------------------------------------

    fn entry(&self, idx: SetIdx) -> &SetEntry {
        self.sets[idx as usize]
            .as_ref()
            .expect("claims and edges only refer to live sets")
    }

    pub(super) fn set_id(&self, idx: SetIdx) -> &Identity {
        &self.entry(idx).id
    }

    /// The node of a normal-form code, if any mapping ever mentioned it (or a narrower
    /// code).
    pub(super) fn find(&self, scheme: Scheme, code: &str) -> Option<NodeId> {
        self.lookup[scheme as usize].get(code).copied()
    }

    /// The key between two nodes, if any.
    pub(super) fn find_key(&self, x: NodeId, y: NodeId) -> Option<&Key> {
        let k = self.key_lookup.get(&(x.min(y), x.max(y)))?;
        Some(&self.keys[*k as usize])
    }

    fn intern(&mut self, scheme: Scheme, code: &str) -> NodeId {
        if let Some(id) = self.find(scheme, code) {
            return id;
        }
        let chain = codes::ancestors(scheme, code);
        let ancestors: Box<[NodeId]> = match chain.split_last() {
            Some((last, broader)) if last == code => {
                broader.iter().map(|c| self.intern(scheme, c)).collect()
            }
            _ => Box::new([]),
        };
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            scheme,
            code: code.into(),
            ancestors,
            groups: Vec::new(),
            negations: 0,
        });
        self.lookup[scheme as usize].insert(code.into(), id);
        id
    }

    fn key(&mut self, x: NodeId, y: NodeId) -> KeyId {
        let (a, b) = (x.min(y), x.max(y));
        if let Some(&k) = self.key_lookup.get(&(a, b)) {
            return k;
        }
        let k = self.keys.len() as KeyId;
        self.keys.push(Key {
            a,
            b,
            claims: Vec::new(),
            negations: Vec::new(),
            has_edges: false,
        });
        self.key_lookup.insert((a, b), k);
        k
    }

    fn rank_of(&self, c: &RawClaim) -> Option<usize> {
        self.entry(c.set).rank
    }

    /// Re-derive the edges, negations and conflict state of one key from its claims.
    fn recompute(&mut self, k: KeyId) {
        let (a, b) = {
            let key = &self.keys[k as usize];
            (key.a, key.b)
        };
        if self.keys[k as usize].has_edges {
            for n in [a, b] {
                for g in &mut self.nodes[n as usize].groups {
                    g.edges.retain(|e| e.key != k);
                }
                self.nodes[n as usize]
                    .groups
                    .retain(|g| !g.edges.is_empty());
            }
        }
        if !self.keys[k as usize].negations.is_empty() {
            self.nodes[a as usize].negations -= 1;
            self.nodes[b as usize].negations -= 1;
        }

        let claims = &self.keys[k as usize].claims;
        let best = claims.iter().filter_map(|c| self.rank_of(c)).min();
        let winners: Vec<RawClaim> = claims
            .iter()
            .filter(|c| best.is_some() && self.rank_of(c) == best)
            .copied()
            .collect();
        // Only claims from two ranks or more can disagree (the common case is one claim).
        let several_ranks = claims
            .iter()
            .filter_map(|c| self.rank_of(c))
            .any(|r| Some(r) != best);
        let conflict = several_ranks
            && best.is_some_and(|best| {
                let statements = |rank| -> BTreeSet<(Predicate, bool)> {
                    claims
                        .iter()
                        .filter(|c| self.rank_of(c) == Some(rank))
                        .map(|c| (c.ab(), c.negated))
                        .collect()
                };
                let mine = statements(best);
                let others: BTreeSet<usize> =
                    claims.iter().filter_map(|c| self.rank_of(c)).collect();
                others
                    .into_iter()
                    .any(|r| r != best && statements(r) != mine)
            });

        let mut negations: Vec<Predicate> = winners
            .iter()
            .filter(|c| c.negated)
            .map(RawClaim::ab)
            .collect();
        negations.sort();
        negations.dedup();
        let same_scheme = self.nodes[a as usize].scheme == self.nodes[b as usize].scheme;
        let mut has_edges = false;
        for c in winners.iter().filter(|c| !c.negated && !same_scheme) {
            let ab = c.ab();
            let edge = |to, inverted| Edge {
                key: k,
                to,
                set: c.set,
                confidence: c.confidence,
                inverted,
            };
            self.push_edge(a, ab, edge(b, !c.forward));
            self.push_edge(b, inverse(ab), edge(a, c.forward));
            has_edges = true;
        }
        if !negations.is_empty() {
            self.nodes[a as usize].negations += 1;
            self.nodes[b as usize].negations += 1;
        }
        let key = &mut self.keys[k as usize];
        key.negations = negations;
        key.has_edges = has_edges;
        if conflict {
            self.conflicted.insert(k);
        } else {
            self.conflicted.remove(&k);
        }
    }

    fn push_edge(&mut self, from: NodeId, predicate: Predicate, edge: Edge) {
        let to_scheme = self.nodes[edge.to as usize].scheme;
        let groups = &mut self.nodes[from as usize].groups;
        match groups
            .iter_mut()
            .find(|g| g.to_scheme == to_scheme && g.predicate == predicate)
        {
            Some(g) => g.edges.push(edge),
            None => groups.push(Group {
                to_scheme,
                predicate,
                edges: vec![edge],
            }),
        }
    }

    fn conflict(&self, k: KeyId) -> Option<Conflict> {
        let key = &self.keys[k as usize];
        let best = key.claims.iter().filter_map(|c| self.rank_of(c)).min()?;
        let mut ranked: Vec<(usize, &RawClaim)> = key
            .claims
            .iter()
            .filter_map(|c| Some((self.rank_of(c)?, c)))
            .collect();
        ranked.sort_by(|(r1, c1), (r2, c2)| {
            (r1, self.set_id(c1.set), c1.index).cmp(&(r2, self.set_id(c2.set), c2.index))
        });
        let first = ranked.first()?.1;
        // Orient as the winner's first claim: its subject is the conflict's subject.
        let (s, o) = if first.forward {
            (key.a, key.b)
        } else {
            (key.b, key.a)
        };
        let oriented = |c: &RawClaim| {
            if c.forward == first.forward {
                c.predicate
            } else {
                inverse(c.predicate)
            }
        };
        let statements = |rank: usize| -> BTreeSet<(Predicate, bool)> {
            ranked
                .iter()
                .filter(|(r, _)| *r == rank)
                .map(|(_, c)| (oriented(c), c.negated))
                .collect()
        };
        let winning = statements(best);
        let claim = |rank: usize, c: &RawClaim| Claim {
            set: self.set_id(c.set).clone(),
            rank,
            authority: self.recognition.name(rank).unwrap_or_default().to_owned(),
            predicate: oriented(c),
            negated: c.negated,
            confidence: c.confidence,
        };
        let mut conflict = Conflict {
            subject_scheme: self.nodes[s as usize].scheme,
            subject: self.nodes[s as usize].code.to_string(),
            object_scheme: self.nodes[o as usize].scheme,
            object: self.nodes[o as usize].code.to_string(),
            winner: Vec::new(),
            overridden: Vec::new(),
        };
        for &(rank, c) in &ranked {
            if rank == best {
                conflict.winner.push(claim(rank, c));
            } else if statements(rank) != winning {
                conflict.overridden.push(claim(rank, c));
            }
        }
        (!conflict.overridden.is_empty()).then_some(conflict)
    }
}
