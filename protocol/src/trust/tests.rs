//! Unit tests of the trust list: revocations and rotation statements.

use super::rotation::*;
use super::*;
use crate::record::Keypair;

fn entry_body() -> Body {
    crate::body::prepare(Kind::Entry, &crate::vectors::sample_entry()).unwrap()
}

fn list_with(member: Member) -> TrustList {
    TrustList {
        members: vec![member],
        ..TrustList::default()
    }
}

fn local() -> LocalNode {
    LocalNode {
        publisher: Keypair::from_seed(&[1; 32]).public(),
        country: "CN".into(),
    }
}

fn publisher(kp: &Keypair) -> Member {
    Member {
        name: "GD".into(),
        country: "CN".into(),
        publisher_keys: vec![kp.public()],
        roles: Roles {
            publish_entries: true,
            ..Roles::default()
        },
        receive_scopes: ScopeName::all(),
        ..Member::default()
    }
}

#[test]
fn revocation_refuses_records_from_its_time_on_and_keeps_older_ones() {
    let kp = Keypair::from_seed(&[2; 32]);
    let as_of = Timestamp(1_800_000_000);
    let mut m = publisher(&kp);
    m.revoked.push(Revocation {
        key: kp.public(),
        as_of,
        max_seq: None,
        reason: None,
    });
    let t = list_with(m);
    let before = kp.sign(1, Timestamp(as_of.0 - 1), entry_body()).unwrap();
    let at = kp.sign(2, as_of, entry_body()).unwrap();
    assert_eq!(t.accept(&local(), &before), Ok(()));
    assert_eq!(t.publisher_status(&local(), &before), "member");
    let e = t.accept(&local(), &at).unwrap_err();
    assert_eq!(e.reason(), "key_revoked");
    assert_eq!(t.publisher_status(&local(), &at), "revoked key");
    // A seq bound catches a backdated record too.
    let mut m = publisher(&kp);
    m.revoked.push(Revocation {
        key: kp.public(),
        as_of,
        max_seq: Some(5),
        reason: None,
    });
    let t = list_with(m);
    let backdated = kp.sign(6, Timestamp(as_of.0 - 100), entry_body()).unwrap();
    assert_eq!(
        t.accept(&local(), &backdated).unwrap_err().reason(),
        "key_revoked"
    );
    // Someone no longer listed is a former member.
    let empty = TrustList::default();
    assert_eq!(empty.publisher_status(&local(), &before), "former member");
}

#[test]
fn rotation_statement_signs_and_verifies_strictly() {
    let old = Keypair::from_seed(&[3; 32]);
    let new = Keypair::from_seed(&[4; 32]);
    let st = RotationStatement {
        member: "GD".into(),
        old_key: old.public(),
        new_key: new.public(),
        at: Timestamp(1_800_000_000),
    };
    assert!(st
        .signing_bytes()
        .starts_with(b"techmesh-rotation-v1:{\"at\":"));
    let signed = st.clone().sign(&old).unwrap();
    signed.verify().unwrap();
    let back = SignedRotation::from_json(&signed.to_json()).unwrap();
    assert_eq!(back, signed);
    back.verify().unwrap();
    // Any change breaks the signature.
    let mut forged = signed.clone();
    forged.statement.new_key = Keypair::from_seed(&[5; 32]).public();
    assert_eq!(forged.verify(), Err(RotationError::BadSignature));
    // Only the old key may sign it.
    assert!(st.clone().sign(&new).is_err());
    // A record signature is never a rotation signature (domain separation).
    let mut as_record = signed;
    as_record.sig = old.sign_bytes(&st.signing_bytes()[ROTATION_PREFIX.len()..]);
    assert_eq!(as_record.verify(), Err(RotationError::BadSignature));
}
