//! Changes to the trust list made through the admin API: adding and removing
//! members, revocations, key rotations and disconnects. Each one edits
//! `trust.toml` (validated as a whole, written atomically), applies it as a reload
//! does, and is audited — a refused change changes nothing.

use super::*;

impl Admin {
    /// Change `trust.toml` with `edit` (which returns the member name it is
    /// about), validate the whole new file, write it atomically, then apply it as
    /// a reload does. Anything refused changes nothing and is audited as failed.
    async fn change(
        &self,
        actor: &Actor,
        action: &str,
        target_hint: &str,
        edit: impl FnOnce(&mut TrustFile) -> Result<String, AdminError>,
    ) -> Result<Value, AdminError> {
        let _g = self.lock.lock().await;
        let prepared = (|| {
            let mut f = TrustFile::read(&self.trust_path)?;
            let before_list = f.list.clone();
            let target = edit(&mut f)?;
            let text = f.render();
            let new = f.validate(&text)?;
            write_atomic(&self.trust_path, &text).map_err(|e| {
                AdminError::internal(format!("writing {}: {e}", self.trust_path.display()))
            })?;
            Ok((target, before_list, new))
        })();
        let (target, before_list, new) = match prepared {
            Ok(x) => x,
            Err(e) => {
                self.log(
                    actor,
                    action,
                    target_hint,
                    Value::Null,
                    Value::Null,
                    Err(&e),
                );
                return Err(e);
            }
        };
        let find = |l: &TrustList| {
            l.members
                .iter()
                .find(|m| m.name == target)
                .map(member_json)
                .unwrap_or(Value::Null)
        };
        let (before, after) = (find(&before_list), find(&new));
        let report = self.apply(new).await;
        self.log(
            actor,
            action,
            &target,
            before.clone(),
            after.clone(),
            Ok(&report),
        );
        tracing::info!(action, member = %target, "trust list changed through the admin API");
        Ok(json!({
            "result": "ok", "action": action, "target": target,
            "before": before, "after": after, "report": report,
        }))
    }

    /// Admit a new member (JSON with the fields of `[[member]]` in trust.toml).
    pub async fn add_member(&self, actor: &Actor, member: Value) -> Result<Value, AdminError> {
        let hint = member["name"].as_str().unwrap_or("").to_string();
        self.change(actor, "members.add", &hint, |f| {
            let name = member["name"]
                .as_str()
                .map(|s| s.trim().to_string())
                .ok_or_else(|| AdminError::bad("name: missing or not a string"))?;
            if f.index_of(&name).is_some() {
                return Err(AdminError::conflict(format!(
                    "a member named {name:?} is already in the trust list (remove it first to replace it)"
                )));
            }
            f.push_member(trust_file::member_table(&member)?)?;
            Ok(name)
        })
        .await
    }

    /// Remove a member: disconnected at once, its new records refused, its stored
    /// records kept (marked "former member") or purged, as its `on_removal` says.
    pub async fn remove_member(&self, actor: &Actor, name: &str) -> Result<Value, AdminError> {
        self.change(actor, "members.remove", name, |f| {
            let i = f
                .index_of(name)
                .ok_or_else(|| AdminError::not_found(format!("no member named {name:?}")))?;
            f.remove_member(i)?;
            Ok(f.list.members[i].name.clone())
        })
        .await
    }

    /// Revoke one of a member's keys as of a time.
    pub async fn revoke(
        &self,
        actor: &Actor,
        name: &str,
        req: RevokeRequest,
    ) -> Result<Value, AdminError> {
        self.change(actor, "members.revoke", name, |f| {
            let i = f
                .index_of(name)
                .ok_or_else(|| AdminError::not_found(format!("no member named {name:?}")))?;
            let m = f.list.members[i].clone();
            let key = match (&req.key, m.publisher_keys.as_slice()) {
                (Some(k), _) => PublicKey::from_hex(k).ok_or_else(|| {
                    AdminError::bad(format!("key: {k:?} is not 64 lowercase hex digits"))
                })?,
                (None, [only]) => *only,
                (None, keys) => {
                    return Err(AdminError::bad(format!(
                        "key: member {:?} has {} keys: say which one to revoke",
                        m.name,
                        keys.len()
                    )))
                }
            };
            if !m.publisher_keys.contains(&key) {
                return Err(AdminError::bad(format!(
                    "key: {key} is not one of member {:?}'s publisher keys",
                    m.name
                )));
            }
            if let Some(r) = m.revoked.iter().find(|r| r.key == key) {
                return Err(AdminError::conflict(format!(
                    "key {key} is already revoked as of {}",
                    r.as_of
                )));
            }
            let as_of = match &req.as_of {
                Some(t) => Timestamp::parse(t).ok_or_else(|| {
                    AdminError::bad(format!(
                        "as_of: {t:?} is not a UTC time such as 2026-11-01T00:00:00Z"
                    ))
                })?,
                None => crate::ingest::now(),
            };
            let mut rv = json!({"key": key.to_hex(), "as_of": as_of.to_string()});
            if let Some(s) = req.max_seq {
                rv["max_seq"] = json!(s);
            }
            if let Some(r) = &req.reason {
                rv["reason"] = json!(r);
            }
            f.push_to(i, "revoked", revocation_entry(rv)?)?;
            Ok(m.name)
        })
        .await
    }

    /// Accept a key rotation statement: verified against the old key the trust
    /// list holds for the member, only if the member has `allow_rotation = true`.
    /// The new key is added; the old key stays listed (its records stay valid) and
    /// is retired as of the rotation time (later records under it are refused).
    pub async fn accept_rotation(
        &self,
        actor: &Actor,
        statement: Value,
    ) -> Result<Value, AdminError> {
        let hint = statement["old_key"].as_str().unwrap_or("").to_string();
        self.change(actor, "rotation.accept", &hint, |f| {
            let signed = SignedRotation::from_json(&statement)
                .map_err(|e| AdminError::bad(format!("rotation statement refused: {e}")))?;
            signed
                .verify()
                .map_err(|e| AdminError::bad(format!("rotation statement refused: {e}")))?;
            let s = &signed.statement;
            let now = crate::ingest::now();
            if s.at.0 > now.0 + 300 {
                return Err(AdminError::bad(format!(
                    "rotation statement refused: dated {} in the future",
                    s.at
                )));
            }
            let i = f
                .list
                .members
                .iter()
                .position(|m| m.publisher_keys.contains(&s.old_key))
                .ok_or_else(|| {
                    AdminError::not_found(format!(
                        "no member of this trust list has the old key {}",
                        s.old_key
                    ))
                })?;
            let m = f.list.members[i].clone();
            if !m.allow_rotation {
                return Err(AdminError::forbidden(format!(
                    "member {:?} may not rotate its key here (set allow_rotation = true for it in trust.toml)",
                    m.name
                )));
            }
            if let Some(other) = f.list.member_by_key(&s.new_key) {
                return Err(AdminError::conflict(format!(
                    "the new key is already listed under member {:?}",
                    other.name
                )));
            }
            let prior = m.revoked.iter().find(|r| r.key == s.old_key);
            if let Some(r) = prior {
                if r.as_of <= s.at {
                    return Err(AdminError::forbidden(format!(
                        "the old key is revoked as of {}: a rotation it signed at {} is not accepted",
                        r.as_of, s.at
                    )));
                }
            }
            f.push_to(i, "publisher_keys", s.new_key.to_hex().into())?;
            if prior.is_none() {
                let rv = json!({
                    "key": s.old_key.to_hex(),
                    "as_of": s.at.to_string(),
                    "reason": format!("rotated to {}", s.new_key),
                });
                f.push_to(i, "revoked", revocation_entry(rv)?)?;
            }
            Ok(m.name)
        })
        .await
    }

    /// Close the connections to a peer now (a trust-listed peer may reconnect:
    /// remove the member to keep it out).
    pub async fn disconnect(&self, actor: &Actor, peer_id: &str) -> Result<Value, AdminError> {
        let result = async {
            let peer: libp2p::PeerId = peer_id
                .parse()
                .map_err(|_| AdminError::bad(format!("{peer_id:?} is not a peer id")))?;
            let net = self
                .node
                .net()
                .ok_or_else(|| AdminError::conflict("this node has no network"))?;
            let was = net.peers.get(peer_id).is_some_and(|p| p.connected);
            net.disconnect(peer)
                .await
                .map_err(|e| AdminError::internal(e.to_string()))?;
            Ok(json!({"peer_id": peer_id, "was_connected": was}))
        }
        .await;
        self.log(
            actor,
            "peers.disconnect",
            peer_id,
            Value::Null,
            Value::Null,
            result.as_ref(),
        );
        result.map(|d| json!({"result": "ok", "action": "peers.disconnect", "target": peer_id, "report": d}))
    }
}

/// A `revoked` entry of trust.toml (an inline table) from its JSON form.
fn revocation_entry(rv: Value) -> Result<toml_edit::Value, AdminError> {
    trust_file::member_table(&json!({ "x": rv }))?
        .remove("x")
        .and_then(|i| i.into_value().ok())
        .ok_or_else(|| AdminError::internal("revocation entry"))
}
