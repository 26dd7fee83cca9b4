//! The bounded path search behind [`Translator::translate`].

use std::cmp::Ordering;
use std::collections::HashMap;

use super::index::{Edge, NodeId, SetIdx, Translator};
use super::{
    chain_order, compose, inverse, negation_blocks, Predicate, Step, TranslateOptions, Translation,
};
use crate::codes::{self, Scheme};

/// Stands for the query code when no mapping mentions it (it has no node).
const ORIGIN: NodeId = NodeId::MAX;

#[derive(Clone, Copy)]
struct RawStep {
    /// The node the mapping starts from (the reached node or one of its ancestors).
    via: NodeId,
    /// The reached node, when `via` is one of its ancestors (may be [`ORIGIN`]).
    applied_to: Option<NodeId>,
    to: NodeId,
    predicate: Predicate,
    set: SetIdx,
    confidence: f64,
    inverted: bool,
}

struct Candidate {
    predicate: Predicate,
    confidence: f64,
    steps: Vec<RawStep>,
}

struct Search<'a> {
    t: &'a Translator,
    origin_code: &'a str,
    target: Scheme,
    max_depth: usize,
    min_confidence: f64,
    best: HashMap<NodeId, Candidate>,
    steps: Vec<RawStep>,
    /// The nodes of the path so far, the start first.
    path: Vec<NodeId>,
    /// For each node of the path: the composed predicate from it to the current node.
    from: Vec<Predicate>,
}

fn bit(s: Scheme) -> u32 {
    1 << (s as u32)
}

impl Translator {
    /// Translate `code` of `scheme` into codes of `target` (see the module docs for every
    /// rule). A code that is not a code of `scheme` translates to nothing.
    pub fn translate(
        &self,
        scheme: Scheme,
        code: &str,
        target: Scheme,
        opts: &TranslateOptions,
    ) -> Vec<Translation> {
        if scheme == target || opts.max_depth == 0 {
            return Vec::new();
        }
        let Ok(code) = codes::normalise(scheme, code) else {
            return Vec::new();
        };
        let (start, ancestors): (NodeId, Vec<NodeId>) = match self.find(scheme, &code) {
            Some(n) => (n, self.nodes[n as usize].ancestors.to_vec()),
            None => {
                let chain = codes::ancestors(scheme, &code);
                let broader = chain.split_last().map_or(&[][..], |(_, b)| b);
                let found = broader.iter().filter_map(|c| self.find(scheme, c));
                (ORIGIN, found.collect())
            }
        };
        let mut s = Search {
            t: self,
            origin_code: &code,
            target,
            max_depth: opts.max_depth,
            min_confidence: opts.min_confidence,
            best: HashMap::new(),
            steps: Vec::new(),
            path: vec![start],
            from: vec![Predicate::Exact],
        };
        s.walk(start, &ancestors, 1.0, bit(scheme));
        let best = std::mem::take(&mut s.best);
        let mut out: Vec<Translation> = best
            .into_iter()
            .map(|(node, c)| Translation {
                code: self.nodes[node as usize].code.to_string(),
                predicate: c.predicate,
                confidence: c.confidence,
                chain: c.steps.iter().map(|r| s.step(r)).collect(),
            })
            .collect();
        out.sort_by(|x, y| {
            y.confidence
                .total_cmp(&x.confidence)
                .then_with(|| x.code.cmp(&y.code))
                .then_with(|| chain_order(&x.chain, &y.chain))
        });
        if let Some(limit) = opts.limit {
            out.truncate(limit);
        }
        out
    }
}

impl Search<'_> {
    fn code(&self, n: NodeId) -> &str {
        if n == ORIGIN {
            self.origin_code
        } else {
            &self.t.nodes[n as usize].code
        }
    }

    fn step(&self, r: &RawStep) -> Step {
        let node = |n: NodeId| &self.t.nodes[n as usize];
        Step {
            set: self.t.set_id(r.set).clone(),
            subject_scheme: node(r.via).scheme,
            subject: self.code(r.via).to_owned(),
            applied_to: r.applied_to.map(|n| self.code(n).to_owned()),
            predicate: r.predicate,
            object_scheme: node(r.to).scheme,
            object: self.code(r.to).to_owned(),
            confidence: r.confidence,
            inverted: r.inverted,
        }
    }

    /// Would concluding `p` from `x` to `y` contradict a winning negation?
    fn blocked(&self, x: NodeId, y: NodeId, p: Predicate) -> bool {
        if x == ORIGIN {
            return false;
        }
        let Some(key) = self.t.find_key(x, y) else {
            return false;
        };
        let p_ab = if key.a == x { p } else { inverse(p) };
        key.negations.iter().any(|&n| negation_blocks(n, p_ab))
    }

    /// Extend the path from `current` (whose broader nodes are `ancestors`).
    fn walk(&mut self, current: NodeId, ancestors: &[NodeId], confidence: f64, visited: u32) {
        let depth = self.steps.len();
        let own = (current != ORIGIN).then_some(current);
        for via in own.into_iter().chain(ancestors.iter().copied()) {
            let hierarchy = via != current;
            let t = self.t;
            for g in &t.nodes[via as usize].groups {
                if visited & bit(g.to_scheme) != 0
                    || (depth + 1 == self.max_depth && g.to_scheme != self.target)
                {
                    continue;
                }
                let step_predicate = if hierarchy {
                    match compose(Predicate::Broad, g.predicate) {
                        Some(p) => p,
                        None => continue,
                    }
                } else {
                    g.predicate
                };
                let Some(total) = compose(self.from[0], step_predicate) else {
                    continue;
                };
                for e in &g.edges {
                    self.try_edge(
                        current,
                        via,
                        hierarchy,
                        g.predicate,
                        step_predicate,
                        total,
                        e,
                        confidence,
                        visited | bit(g.to_scheme),
                    );
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn try_edge(
        &mut self,
        current: NodeId,
        via: NodeId,
        hierarchy: bool,
        predicate: Predicate,
        step_predicate: Predicate,
        total: Predicate,
        e: &Edge,
        confidence: f64,
        visited: u32,
    ) {
        let confidence = confidence * e.confidence;
        if confidence < self.min_confidence {
            return;
        }
        let to = e.to;
        let to_node = &self.t.nodes[to as usize];
        if to_node.negations > 0 {
            // The mapping's own pair (when applied through the hierarchy), then every
            // sub-chain ending here.
            if hierarchy && self.blocked(via, to, predicate) {
                return;
            }
            for (i, &n) in self.path.iter().enumerate() {
                let Some(p) = compose(self.from[i], step_predicate) else {
                    return;
                };
                if self.blocked(n, to, p) {
                    return;
                }
            }
        }
        let raw = RawStep {
            via,
            applied_to: hierarchy.then_some(current),
            to,
            predicate,
            set: e.set,
            confidence: e.confidence,
            inverted: e.inverted,
        };
        self.steps.push(raw);
        if to_node.scheme == self.target {
            self.offer(to, total, confidence);
        } else if self.steps.len() < self.max_depth {
            let saved = self.from.clone();
            for p in &mut self.from {
                // Defined for every suffix because it is defined for the whole path.
                *p = compose(*p, step_predicate).unwrap_or(*p);
            }
            self.from.push(Predicate::Exact);
            self.path.push(to);
            let ancestors = &self.t.nodes[to as usize].ancestors;
            self.walk(to, ancestors, confidence, visited);
            self.path.pop();
            self.from = saved;
        }
        self.steps.pop();
    }

    /// Keep the current path to `to` if it beats the best one so far.
    fn offer(&mut self, to: NodeId, predicate: Predicate, confidence: f64) {
        let better = match self.best.get(&to) {
            None => true,
            Some(old) => match confidence.total_cmp(&old.confidence) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => match self.steps.len().cmp(&old.steps.len()) {
                    Ordering::Less => true,
                    Ordering::Greater => false,
                    Ordering::Equal => {
                        let new: Vec<Step> = self.steps.iter().map(|r| self.step(r)).collect();
                        let old: Vec<Step> = old.steps.iter().map(|r| self.step(r)).collect();
                        chain_order(&new, &old) == Ordering::Less
                    }
                },
            },
        };
        if better {
            self.best.insert(
                to,
                Candidate {
                    predicate,
                    confidence,
                    steps: self.steps.clone(),
                },
            );
        }
    }
}
