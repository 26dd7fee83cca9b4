//! Errors of the protocol crate. Every error names what was wrong and where: a field
//! path (`classifications[1].code`) for body rules, the envelope part for the rest.

use std::fmt;

/// One broken rule in a body, located by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `classifications[1].code` (empty for the whole body).
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A list of broken body rules (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// Why a record (envelope + body) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("record is not valid JSON: {0}")]
    NotJson(String),
    #[error("record is not in canonical form (RFC 8785 JSON, see docs/PROTOCOL.md §2): {0}")]
    NotCanonical(String),
    #[error("envelope field `{field}`: {message}")]
    Envelope {
        field: &'static str,
        message: String,
    },
    #[error("unsupported record format version {0} (this node speaks version 1)")]
    UnsupportedVersion(u64),
    #[error("publisher key is not a canonical ed25519 point encoding")]
    NonCanonicalKey,
    #[error("publisher key is a small-order (weak) ed25519 point")]
    WeakKey,
    #[error("signature does not verify (strict ed25519) for this publisher and content")]
    BadSignature,
    #[error("issued_at {issued_at} is more than {max_skew_secs} s in the future (now {now})")]
    FromTheFuture {
        issued_at: String,
        now: String,
        max_skew_secs: u64,
    },
    #[error("invalid body: {0}")]
    Body(FieldErrors),
}

impl RecordError {
    /// A short stable name for metrics and logs (`bad_signature`, `not_canonical`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            RecordError::TooLarge { .. } => "too_large",
            RecordError::NotJson(_) => "not_json",
            RecordError::NotCanonical(_) => "not_canonical",
            RecordError::Envelope { .. } => "bad_envelope",
            RecordError::UnsupportedVersion(_) => "unsupported_version",
            RecordError::NonCanonicalKey => "non_canonical_key",
            RecordError::WeakKey => "weak_key",
            RecordError::BadSignature => "bad_signature",
            RecordError::FromTheFuture { .. } => "future_timestamp",
            RecordError::Body(_) => "invalid_body",
        }
    }
}
