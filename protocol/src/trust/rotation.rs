//! Key rotation: a member moves to a new publisher key with a statement signed by
//! its old key. The signed bytes are `ROTATION_PREFIX || JCS({at, member, new_key,
//! old_key})`: the prefix keeps a rotation signature from ever being valid as a
//! record's (whose prefix is `techmesh-record-v1:`) and vice versa.

use ed25519_dalek::Signature;
use serde_json::{json, Value};

use crate::canonical;
use crate::record::{Keypair, PublicKey};
use crate::time::Timestamp;

pub const ROTATION_PREFIX: &str = "techmesh-rotation-v1:";

/// What the old key says: "from `at` on, `member` publishes under `new_key`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationStatement {
    pub member: String,
    pub old_key: PublicKey,
    pub new_key: PublicKey,
    pub at: Timestamp,
}

/// A statement with the old key's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRotation {
    pub statement: RotationStatement,
    pub sig: [u8; 64],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    #[error("not a rotation statement: {0}")]
    Malformed(String),
    #[error("the signature is not the old key's signature of this statement")]
    BadSignature,
    #[error("the {which} key is not usable: {reason}")]
    BadKey { which: &'static str, reason: String },
    #[error("old and new key are the same")]
    SameKey,
}

impl RotationStatement {
    pub fn signing_bytes(&self) -> Vec<u8> {
        let v = json!({
            "at": self.at.to_string(),
            "member": self.member,
            "new_key": self.new_key.to_hex(),
            "old_key": self.old_key.to_hex(),
        });
        let mut msg = ROTATION_PREFIX.as_bytes().to_vec();
        msg.extend_from_slice(&canonical::encode(&v));
        msg
    }

    /// Sign with the old key (`old` must be the key pair of `old_key`).
    pub fn sign(self, old: &Keypair) -> Result<SignedRotation, RotationError> {
        if old.public() != self.old_key {
            return Err(RotationError::BadKey {
                which: "old",
                reason: "the signing key is not the statement's old key".into(),
            });
        }
        let sig = old.sign_bytes(&self.signing_bytes());
        Ok(SignedRotation {
            statement: self,
            sig,
        })
    }
}

impl SignedRotation {
    pub fn to_json(&self) -> Value {
        let s = &self.statement;
        json!({
            "type": "techmesh-key-rotation",
            "member": s.member,
            "old_key": s.old_key.to_hex(),
            "new_key": s.new_key.to_hex(),
            "at": s.at.to_string(),
            "sig": hex::encode(self.sig),
        })
    }

    pub fn from_json(v: &Value) -> Result<SignedRotation, RotationError> {
        let field = |name: &str| {
            v.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| RotationError::Malformed(format!("{name}: missing or not a string")))
        };
        let key = |name: &str| {
            PublicKey::from_hex(field(name)?).ok_or_else(|| {
                RotationError::Malformed(format!("{name}: not 64 lowercase hex digits"))
            })
        };
        let at = Timestamp::parse(field("at")?).ok_or_else(|| {
            RotationError::Malformed("at: not a timestamp YYYY-MM-DDTHH:MM:SSZ".into())
        })?;
        let mut sig = [0u8; 64];
        hex::decode_to_slice(field("sig")?, &mut sig)
            .map_err(|_| RotationError::Malformed("sig: not 128 hex digits".into()))?;
        Ok(SignedRotation {
            statement: RotationStatement {
                member: field("member")?.to_string(),
                old_key: key("old_key")?,
                new_key: key("new_key")?,
                at,
            },
            sig,
        })
    }

    /// Both keys usable, different, and the signature the old key's (strict).
    pub fn verify(&self) -> Result<(), RotationError> {
        let s = &self.statement;
        if s.old_key == s.new_key {
            return Err(RotationError::SameKey);
        }
        s.new_key.check_point().map_err(|e| RotationError::BadKey {
            which: "new",
            reason: e.to_string(),
        })?;
        let vk = s.old_key.check_point().map_err(|e| RotationError::BadKey {
            which: "old",
            reason: e.to_string(),
        })?;
        vk.verify_strict(&s.signing_bytes(), &Signature::from_bytes(&self.sig))
            .map_err(|_| RotationError::BadSignature)
    }
}
