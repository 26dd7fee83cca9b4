//! The translation engine: from a `(scheme, code)` to the codes of another scheme, over
//! the mapping sets (DATA-MODEL §3) that this node recognises. Pure: no I/O, no clock.
//!
//! A [`Translator`] is an incremental index. Callers feed it mapping sets as they arrive
//! ([`Translator::add_set`]; a newer version of a set or a tombstone is
//! [`Translator::add_set`] again or [`Translator::remove_set`]); each call touches only
//! the mappings of that set. [`Translator::translate`] then walks the index.
//!
//! # Recognition (互信互认)
//!
//! A set is used only if its publisher is a recognised authority for the set's
//! `(subject_scheme, object_scheme)` pair, exactly as written in the trust list
//! ([`Recognition::from_trust_list`]: a member's `roles.publish_mappings`). Anything else
//! is kept (so that a later trust-list change can take it into account, see
//! [`Translator::set_recognition`]) but ignored entirely; [`Translator::sets`] lists it
//! with `recognised: false`. Authorities are ranked by their order in the trust list:
//! rank 0 (the first member) has the highest priority.
//!
//! # Conflicts
//!
//! Statements are grouped by the *unordered* pair of codes they relate, so that
//! `gbt4754:C3841 broad nace2:27.20` and `nace2:27.20 narrow gbt4754:C3841` are the same
//! statement. For each pair, the recognised authority with the best rank that says
//! anything about the pair **wins**: all of its statements about the pair (positive and
//! negated, from all its sets) are used, and every lower-ranked authority's statements
//! about that pair are ignored. When a lower-ranked authority's statements differ from the
//! winner's (a different predicate, or negated vs. not; confidence does not count), the
//! pair is a [`Conflict`], listed by [`Translator::conflicts`] with the winning and the
//! overridden claims. Agreeing authorities are not conflicts. The outcome depends only on
//! the trust list order, never on the order sets arrived in.
//!
//! # Walking a mapping backwards (inverse steps)
//!
//! A set `S → O` can be walked `O → S`: `broad` becomes `narrow` and vice versa,
//! `exact`, `close` and `related` are symmetric ([`inverse`]), the confidence is kept,
//! and the step says `inverted: true` (its subject/object are given in the walked
//! direction). A negated mapping stays negated in both directions.
//!
//! # Chaining (SSSOM / semra rules)
//!
//! Predicates along a chain compose with [`compose`]: an `exact` step at either end
//! passes the other predicate through; `broad∘broad = broad`, `narrow∘narrow = narrow`;
//! every other combination (`broad∘narrow`, anything with two non-exact `close` /
//! `related` steps, ...) yields nothing and the path is abandoned. So `close` and `related`
//! never chain with each other or with `broad`/`narrow`. The confidence of a translation
//! is the product of its steps' confidences, multiplied in chain order.
//!
//! # Code hierarchy
//!
//! A mapping whose subject (in the walked direction) is a broader code than the code the
//! chain has reached — one of its [`codes::ancestors`] — covers it: `ipc:H01M broad
//! wipo35:1` applies to `ipc:H01M 10/0525`. Such a use is an implicit `broad` link (the
//! narrower code is *broader-matched* by its ancestor, confidence 1, not counted as a
//! step) composed with the mapping's predicate by the same rules: an `exact` or `broad`
//! mapping on an ancestor yields `broad` (the descendant is narrower than the ancestor,
//! so the target is broader than the descendant); `narrow`, `close` and `related`
//! mappings on an ancestor say nothing about the descendant and are not applied. The step
//! records the reached code in `applied_to`. Coverage runs only downwards: a query on
//! `H01M` does not use mappings of `H01M 10/0525`. Flat schemes (wipo35, cn-techfield,
//! maturity scales) have no ancestors.
//!
//! # Negation
//!
//! A winning negated statement `s not-p o` means "it is not the case that s p o". It is
//! never a step. It blocks any path that would conclude `p` — or `exact`, which is the
//! strongest claim and implies the others — between exactly `s` and `o` (either way
//! round, with the predicate inverted accordingly): the direct step, a longer sub-chain
//! from `s` to `o` inside a path, and so every path through it. Negation is about the
//! two codes only; it does not spread down the hierarchy (`H01M not-broad 14` says
//! nothing about `H01M 10/0525`). A blocked path is not extended.
//!
//! # Search bounds and result
//!
//! Paths have at most [`TranslateOptions::max_depth`] steps (default 3), never visit a
//! scheme twice (the start scheme included), and stop at the first code of the target
//! scheme. Translating to the start scheme returns nothing. Maturity scales
//! (trl-eu, trl-nasa, gbt22900, cn-stage) are schemes like any other: without a
//! published, recognised set nothing relates them, not even equal level numbers.
//!
//! When several paths reach one target code, the best is kept: highest confidence, then
//! fewest steps, then the smallest chain in the order of [`Step`]'s fields (set
//! identity, codes, predicate, ...). Results are sorted by confidence (descending), then
//! code. None of these choices depend on the order sets were added in.

mod index;
mod search;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::{json, Value};

pub use crate::body::mapping::Predicate;
use crate::codes::{self, Scheme};
use crate::record::{Identity, PublicKey, RecordHash};
use crate::trust::TrustList;

pub use index::Translator;

/// Default bound on the number of mapping steps in one chain.
pub const DEFAULT_MAX_DEPTH: usize = 3;

/// How a translation is searched.
#[derive(Debug, Clone, PartialEq)]
pub struct TranslateOptions {
    /// Most mapping steps in one chain (hierarchy coverage is not a step).
    pub max_depth: usize,
    /// Paths whose confidence falls below this are abandoned.
    pub min_confidence: f64,
    /// Keep only this many results (after sorting).
    pub limit: Option<usize>,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        TranslateOptions {
            max_depth: DEFAULT_MAX_DEPTH,
            min_confidence: 0.0,
            limit: None,
        }
    }
}

/// One target code and how it was reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// A normal-form code of the target scheme.
    pub code: String,
    /// The composed predicate: "query code `predicate` target code".
    pub predicate: Predicate,
    /// Product of the steps' confidences.
    pub confidence: f64,
    /// The mappings used, from the query code to `code`.
    pub chain: Vec<Step>,
}

/// One mapping used in a chain, in the direction it was walked.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The mapping set (publisher, `mapping_set`, local id).
    pub set: Identity,
    pub subject_scheme: Scheme,
    /// The mapping's code on the walked-from side (a broader code than the one reached
    /// when `applied_to` is set).
    pub subject: String,
    /// The code the chain had reached, when the mapping was applied through the code
    /// hierarchy (`subject` is one of its ancestors).
    pub applied_to: Option<String>,
    /// What the mapping says, in the walked direction (inverted when `inverted`); the
    /// implicit hierarchy link is not included (see the module docs).
    pub predicate: Predicate,
    pub object_scheme: Scheme,
    pub object: String,
    pub confidence: f64,
    /// The set states this mapping the other way round.
    pub inverted: bool,
}

impl Step {
    /// The predicate this step contributes to the chain: its own, composed after the
    /// implicit `broad` hierarchy link when `applied_to` is set.
    pub fn effective_predicate(&self) -> Option<Predicate> {
        if self.applied_to.is_some() {
            compose(Predicate::Broad, self.predicate)
        } else {
            Some(self.predicate)
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "set": self.set.to_string(),
            "subject_scheme": self.subject_scheme.as_str(),
            "subject": self.subject,
            "applied_to": self.applied_to,
            "predicate": predicate_name(self.predicate),
            "object_scheme": self.object_scheme.as_str(),
            "object": self.object,
            "confidence": self.confidence,
            "inverted": self.inverted,
        })
    }

    /// The deterministic order used to break ties between equally good chains.
    fn order(&self, other: &Step) -> Ordering {
        self.set
            .cmp(&other.set)
            .then(self.subject_scheme.cmp(&other.subject_scheme))
            .then_with(|| self.subject.cmp(&other.subject))
            .then_with(|| self.applied_to.cmp(&other.applied_to))
            .then(self.predicate.cmp(&other.predicate))
            .then(self.object_scheme.cmp(&other.object_scheme))
            .then_with(|| self.object.cmp(&other.object))
            .then(self.confidence.total_cmp(&other.confidence))
            .then(self.inverted.cmp(&other.inverted))
    }
}

impl Translation {
    pub fn to_json(&self) -> Value {
        json!({
            "code": self.code,
            "predicate": predicate_name(self.predicate),
            "confidence": self.confidence,
            "chain": self.chain.iter().map(Step::to_json).collect::<Vec<_>>(),
        })
    }
}

/// Compare two chains step by step (then by length).
pub(crate) fn chain_order(a: &[Step], b: &[Step]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = x.order(y);
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// The wire name of a predicate (`exact`, `close`, ...).
pub fn predicate_name(p: Predicate) -> &'static str {
    match p {
        Predicate::Exact => "exact",
        Predicate::Close => "close",
        Predicate::Broad => "broad",
        Predicate::Narrow => "narrow",
        Predicate::Related => "related",
    }
}

/// The predicate of the same mapping read the other way round.
pub fn inverse(p: Predicate) -> Predicate {
    match p {
        Predicate::Broad => Predicate::Narrow,
        Predicate::Narrow => Predicate::Broad,
        other => other,
    }
}

/// `a` then `b` along a chain (SSSOM chaining rules), or `None` when nothing follows.
pub fn compose(a: Predicate, b: Predicate) -> Option<Predicate> {
    use Predicate::*;
    match (a, b) {
        (Exact, x) | (x, Exact) => Some(x),
        (Broad, Broad) => Some(Broad),
        (Narrow, Narrow) => Some(Narrow),
        _ => None,
    }
}

/// The predicate a whole chain concludes, or `None` if it concludes nothing.
pub fn chain_predicate(chain: &[Step]) -> Option<Predicate> {
    chain.iter().try_fold(Predicate::Exact, |acc, step| {
        compose(acc, step.effective_predicate()?)
    })
}

/// Does a negated `p` between two codes forbid concluding `concluded` between them?
fn negation_blocks(negated: Predicate, concluded: Predicate) -> bool {
    concluded == negated || concluded == Predicate::Exact
}

// ---- recognition ----------------------------------------------------------------------

/// One recognised authority: the keys it publishes with and the scheme pairs it is
/// recognised for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    pub name: String,
    pub keys: Vec<PublicKey>,
    /// `(subject, object)` pairs, as written in the trust list.
    pub pairs: BTreeSet<(Scheme, Scheme)>,
}

/// Which publishers are recognised for which scheme pairs, in priority order (the
/// first authority has rank 0, the highest priority).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recognition {
    authorities: Vec<Authority>,
}

impl Recognition {
    /// Every trust-list member with at least one `publish_mappings` pair, in trust-list
    /// order.
    pub fn from_trust_list(trust: &TrustList) -> Recognition {
        let mut r = Recognition::default();
        for m in &trust.members {
            if !m.roles.publish_mappings.is_empty() {
                r.push(
                    m.name.clone(),
                    m.publisher_keys.clone(),
                    m.roles.publish_mappings.clone(),
                );
            }
        }
        r
    }

    /// Append an authority with the lowest priority so far (e.g. this node itself, when
    /// its administrators recognise their own sets).
    pub fn push(
        &mut self,
        name: impl Into<String>,
        keys: Vec<PublicKey>,
        pairs: BTreeSet<(Scheme, Scheme)>,
    ) {
        self.authorities.push(Authority {
            name: name.into(),
            keys,
            pairs,
        });
    }

    pub fn authorities(&self) -> &[Authority] {
        &self.authorities
    }

    /// The rank of the first authority that `publisher` belongs to and that is
    /// recognised for `subject → object`; `None` when the set is not to be used.
    pub fn rank(&self, publisher: &PublicKey, subject: Scheme, object: Scheme) -> Option<usize> {
        self.authorities
            .iter()
            .position(|a| a.keys.contains(publisher) && a.pairs.contains(&(subject, object)))
    }

    /// The name of the authority of `rank`.
    pub fn name(&self, rank: usize) -> Option<&str> {
        self.authorities.get(rank).map(|a| a.name.as_str())
    }
}

// ---- status and conflicts -------------------------------------------------------------

/// One indexed mapping set.
#[derive(Debug, Clone, PartialEq)]
pub struct SetStatus {
    pub id: Identity,
    pub hash: RecordHash,
    pub subject_scheme: Scheme,
    pub object_scheme: Scheme,
    pub mappings: usize,
    /// Whether the set is used (its publisher is recognised for its pair).
    pub recognised: bool,
    /// The recognising authority's rank and name.
    pub rank: Option<usize>,
    pub authority: Option<String>,
}

impl SetStatus {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "hash": self.hash.to_hex(),
            "subject_scheme": self.subject_scheme.as_str(),
            "object_scheme": self.object_scheme.as_str(),
            "mappings": self.mappings,
            "recognised": self.recognised,
            "rank": self.rank,
            "authority": self.authority,
        })
    }
}

/// Totals over the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    pub sets: usize,
    pub recognised_sets: usize,
    pub unrecognised_sets: usize,
    /// Mappings of recognised sets.
    pub mappings_used: usize,
    pub conflicts: usize,
}

/// One statement in a conflict, oriented as the conflict's subject → object.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub set: Identity,
    pub rank: usize,
    pub authority: String,
    pub predicate: Predicate,
    pub negated: bool,
    pub confidence: f64,
}

impl Claim {
    pub fn to_json(&self) -> Value {
        json!({
            "set": self.set.to_string(),
            "rank": self.rank,
            "authority": self.authority,
            "predicate": predicate_name(self.predicate),
            "negated": self.negated,
            "confidence": self.confidence,
        })
    }
}

/// Recognised authorities that disagree about one pair of codes. The subject/object
/// orientation is that of the winner's first claim (in set-identity order).
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub subject_scheme: Scheme,
    pub subject: String,
    pub object_scheme: Scheme,
    pub object: String,
    /// Every statement of the winning (best-ranked) authority about the pair: used.
    pub winner: Vec<Claim>,
    /// Statements of lower-ranked authorities that differ from the winner's: ignored.
    pub overridden: Vec<Claim>,
}

impl Conflict {
    pub fn to_json(&self) -> Value {
        json!({
            "subject_scheme": self.subject_scheme.as_str(),
            "subject": self.subject,
            "object_scheme": self.object_scheme.as_str(),
            "object": self.object,
            "winner": self.winner.iter().map(Claim::to_json).collect::<Vec<_>>(),
            "overridden": self.overridden.iter().map(Claim::to_json).collect::<Vec<_>>(),
        })
    }
}

/// What [`Translator::add_set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    Added,
    /// An earlier version of the same identity was replaced.
    Replaced,
    /// The same record (hash) was already indexed.
    Unchanged,
}

/// A mapping set the index cannot take (records that passed validation never fail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    #[error("{field}: {value:?} is not a known classification scheme")]
    UnknownScheme { field: &'static str, value: String },
    #[error("mappings[{index}].{field}: {error}")]
    Code {
        index: usize,
        field: &'static str,
        error: codes::CodeError,
    },
}
