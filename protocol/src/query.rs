//! Federated query: the messages of `/techmesh/query/1` and their bounds
//! (docs/PROTOCOL.md, "Federated query").
//!
//! An asker sends a [`QueryRequest`] (a search, or a matchmaking subject) to a trusted
//! peer; the peer answers from its own store with [`QueryResponse::Records`]: the raw
//! signed bytes of the current records that match and that the asker is entitled to
//! receive, at most [`MAX_ANSWER_RECORDS`] of them. The asker trusts nothing in the
//! answer but the signatures: it verifies every record and applies its own policy
//! (`TrustList::accept`), so a peer can only pass on what real publishers signed.
//!
//! Pure: validation only, no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Most records one answer may carry (the asker drops the rest and says so).
pub const MAX_ANSWER_RECORDS: usize = 200;
/// Most search parameters one request may carry.
pub const MAX_PARAMS: usize = 32;
/// Longest parameter name or value, bytes.
pub const MAX_PARAM_BYTES: usize = 1024;
/// Largest matchmaking subject (an entry body as JSON), bytes: a record's body bound.
pub const MAX_SUBJECT_BYTES: usize = 128 * 1024;
/// Longest deadline an asker may announce (and a node accepts from its API), ms.
pub const MAX_DEADLINE_MS: u64 = 10_000;
/// Longest refusal reason, bytes (longer ones are cut).
pub const MAX_REASON_BYTES: usize = 512;

/// What an asker wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRequest {
    pub query: Query,
    /// Most records wanted (capped at [`MAX_ANSWER_RECORDS`] by the answerer).
    pub limit: u32,
    /// How long the asker waits, ms: an answer later than this is wasted work.
    pub deadline_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// A search: the parameters of `GET /v1/search` by name (`q`, `type`, `class`, …),
    /// as text. Paging (`offset`, `limit`) is the asker's business and is ignored.
    Search { params: BTreeMap<String, String> },
    /// Matchmaking: the complementary entries for this subject, an entry body as
    /// JSON text (validated by the answerer like any entry body).
    Match {
        entry: String,
        today: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryResponse {
    /// Matching current records the asker may receive, best first, as signed bytes.
    /// `total` is how many matched before the cap; `truncated` says some were left out.
    Records {
        records: Vec<ByteBuf>,
        total: u32,
        truncated: bool,
    },
    /// Not answered (not a member, too many requests, malformed, over a bound).
    Refused { reason: String },
}

/// Why a request is out of bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryBoundError {
    #[error("{0} search parameters, more than {MAX_PARAMS}")]
    TooManyParams(usize),
    #[error("search parameter {0:?} is longer than {MAX_PARAM_BYTES} bytes")]
    ParamTooLong(String),
    #[error("matchmaking subject of {0} bytes, more than {MAX_SUBJECT_BYTES}")]
    SubjectTooLarge(usize),
    #[error("limit 0: ask for at least one record")]
    ZeroLimit,
}

impl QueryRequest {
    /// Check every bound of the request (the answerer does this before any work).
    pub fn validate(&self) -> Result<(), QueryBoundError> {
        if self.limit == 0 {
            return Err(QueryBoundError::ZeroLimit);
        }
        match &self.query {
            Query::Search { params } => {
                if params.len() > MAX_PARAMS {
                    return Err(QueryBoundError::TooManyParams(params.len()));
                }
                if let Some((k, _)) = params
                    .iter()
                    .find(|(k, v)| k.len() > MAX_PARAM_BYTES || v.len() > MAX_PARAM_BYTES)
                {
                    let name: String = k.chars().take(64).collect();
                    return Err(QueryBoundError::ParamTooLong(name));
                }
            }
            Query::Match { entry, today } => {
                let n = entry.len() + today.as_ref().map_or(0, String::len);
                if n > MAX_SUBJECT_BYTES {
                    return Err(QueryBoundError::SubjectTooLarge(n));
                }
            }
        }
        Ok(())
    }

    /// The number of records an answer may carry for this request.
    pub fn answer_cap(&self) -> usize {
        (self.limit as usize).min(MAX_ANSWER_RECORDS)
    }
}

impl QueryResponse {
    pub fn refused(reason: impl Into<String>) -> QueryResponse {
        let mut reason: String = reason.into();
        if reason.len() > MAX_REASON_BYTES {
            let mut cut = MAX_REASON_BYTES;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        QueryResponse::Refused { reason }
    }

    /// Check an answer against the request's cap (the asker does this first).
    pub fn check_cap(&self, req: &QueryRequest) -> Result<(), String> {
        match self {
            QueryResponse::Records { records, .. } if records.len() > req.answer_cap() => {
                Err(format!(
                    "answer of {} records, more than the {} asked for",
                    records.len(),
                    req.answer_cap()
                ))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(params: &[(&str, &str)], limit: u32) -> QueryRequest {
        QueryRequest {
            query: Query::Search {
                params: params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            limit,
            deadline_ms: 1000,
        }
    }

    #[test]
    fn bounds_are_checked() {
        assert!(search(&[("q", "battery")], 20).validate().is_ok());
        assert_eq!(
            search(&[("q", "x")], 0).validate(),
            Err(QueryBoundError::ZeroLimit)
        );
        let long = "x".repeat(MAX_PARAM_BYTES + 1);
        assert!(matches!(
            search(&[("q", &long)], 1).validate(),
            Err(QueryBoundError::ParamTooLong(k)) if k == "q"
        ));
        let many: Vec<(String, String)> = (0..=MAX_PARAMS)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        let r = QueryRequest {
            query: Query::Search {
                params: many.into_iter().collect(),
            },
            limit: 1,
            deadline_ms: 1,
        };
        assert_eq!(
            r.validate(),
            Err(QueryBoundError::TooManyParams(MAX_PARAMS + 1))
        );
        let big = QueryRequest {
            query: Query::Match {
                entry: "x".repeat(MAX_SUBJECT_BYTES + 1),
                today: None,
            },
            limit: 1,
            deadline_ms: 1,
        };
        assert!(matches!(
            big.validate(),
            Err(QueryBoundError::SubjectTooLarge(_))
        ));
    }

    #[test]
    fn answers_are_capped() {
        let req = search(&[], 10_000);
        assert_eq!(req.answer_cap(), MAX_ANSWER_RECORDS);
        let too_many = QueryResponse::Records {
            records: vec![ByteBuf::new(); MAX_ANSWER_RECORDS + 1],
            total: 0,
            truncated: false,
        };
        assert!(too_many.check_cap(&req).is_err());
        let small = search(&[], 2);
        let three = QueryResponse::Records {
            records: vec![ByteBuf::new(); 3],
            total: 3,
            truncated: false,
        };
        assert!(three.check_cap(&small).is_err());
        assert!(QueryResponse::refused("no").check_cap(&small).is_ok());
    }

    #[test]
    fn long_reasons_are_cut_on_a_char_boundary() {
        let QueryResponse::Refused { reason } = QueryResponse::refused("é".repeat(400)) else {
            panic!("not a refusal")
        };
        assert!(reason.len() <= MAX_REASON_BYTES);
        assert!(reason.chars().all(|c| c == 'é'));
    }
}
