//! Editing `trust.toml` for the admin API: the file stays the single source of
//! truth. A change is made on the parsed document (comments and layout of the
//! rest of the file are kept), the whole new text is validated with the same
//! parser as at start and reload, and only then written atomically (temp file,
//! fsync, rename, fsync of the directory).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike};

use techmesh_config::trust;
use techmesh_protocol::trust::{Member, ScopeName, TrustList};

use super::AdminError;

/// The fields of a member, in the order they are written.
const FIELD_ORDER: [&str; 12] = [
    "name",
    "country",
    "region",
    "publisher_keys",
    "peer_ids",
    "addresses",
    "roles",
    "publish_mappings",
    "receive_scopes",
    "on_removal",
    "allow_rotation",
    "revoked",
];

/// A member as JSON: the same fields (and spelling) as in `trust.toml`.
pub fn member_json(m: &Member) -> Value {
    let mut roles = Vec::new();
    if m.roles.publish_entries {
        roles.push("publish_entries");
    }
    if m.roles.publish_events {
        roles.push("publish_events");
    }
    if m.roles.observer {
        roles.push("observer");
    }
    let scopes: Vec<&str> = m
        .receive_scopes
        .iter()
        .map(|s| match s {
            ScopeName::Federation => "federation",
            ScopeName::National => "national",
            ScopeName::International => "international",
        })
        .collect();
    json!({
        "name": m.name,
        "country": m.country,
        "region": m.region,
        "publisher_keys": m.publisher_keys.iter().map(|k| k.to_hex()).collect::<Vec<_>>(),
        "peer_ids": m.peer_ids,
        "addresses": m.addresses,
        "roles": roles,
        "publish_mappings": m.roles.publish_mappings.iter()
            .map(|(a, b)| format!("{}->{}", a.as_str(), b.as_str())).collect::<Vec<_>>(),
        "receive_scopes": scopes,
        "on_removal": m.on_removal.as_str(),
        "allow_rotation": m.allow_rotation,
        "revoked": m.revoked.iter().map(|r| json!({
            "key": r.key.to_hex(),
            "as_of": r.as_of.to_string(),
            "max_seq": r.max_seq,
            "reason": r.reason,
        })).collect::<Vec<_>>(),
    })
}

/// A JSON value as a TOML value (null is not representable: refused).
fn to_toml(v: &Value, field: &str) -> Result<toml_edit::Value, AdminError> {
    Ok(match v {
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            (None, Some(f)) if n.as_u64().is_none() => f.into(),
            _ => return Err(AdminError::bad(format!("{field}: {n} is too large"))),
        },
        Value::Array(a) => {
            let mut arr = toml_edit::Array::new();
            for (i, x) in a.iter().enumerate() {
                arr.push(to_toml(x, &format!("{field}[{i}]"))?);
            }
            toml_edit::Value::Array(arr)
        }
        Value::Object(o) => {
            let mut t = InlineTable::new();
            for (k, x) in o.iter().filter(|(_, x)| !x.is_null()) {
                t.insert(k, to_toml(x, &format!("{field}.{k}"))?);
            }
            toml_edit::Value::InlineTable(t)
        }
        Value::Null => return Err(AdminError::bad(format!("{field}: null is not allowed"))),
    })
}

/// A member given as JSON as a `[[member]]` table (fields in the usual order;
/// null fields left out). Unknown fields are kept: validation refuses them with
/// their line.
pub fn member_table(v: &Value) -> Result<Table, AdminError> {
    let obj: &Map<String, Value> = v
        .as_object()
        .ok_or_else(|| AdminError::bad("the member must be a JSON object"))?;
    let mut t = Table::new();
    let known = FIELD_ORDER.iter().filter_map(|k| obj.get_key_value(*k));
    let others = obj
        .iter()
        .filter(|(k, _)| !FIELD_ORDER.contains(&k.as_str()));
    for (k, x) in known.chain(others) {
        if x.is_null() {
            continue;
        }
        t.insert(k, Item::Value(to_toml(x, k)?));
    }
    Ok(t)
}

/// `trust.toml` read for a change: its text, document and validated list.
pub struct TrustFile {
    pub path: PathBuf,
    pub doc: DocumentMut,
    pub list: TrustList,
}

impl TrustFile {
    /// Read and validate the file as it is on disk. A file that does not validate
    /// is not edited (fix it by hand first: the running list stays meanwhile).
    pub fn read(path: &Path) -> Result<TrustFile, AdminError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AdminError::internal(format!("reading {}: {e}", path.display())))?;
        let list = trust::parse(path, &text).map_err(|e| {
            AdminError::conflict(format!(
                "{} on disk is invalid, fix it before changing it through the API (the running list stays in force): {e}",
                path.display()
            ))
        })?;
        let doc: DocumentMut = text
            .parse()
            .map_err(|e| AdminError::internal(format!("{}: {e}", path.display())))?;
        Ok(TrustFile {
            path: path.to_path_buf(),
            doc,
            list,
        })
    }

    /// Index of the member named `name` (trimmed, as the parser does).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.list.members.iter().position(|m| m.name == name.trim())
    }

    /// The table of member `i` (in file order).
    pub fn member_mut(&mut self, i: usize) -> Option<&mut dyn TableLike> {
        match self.doc.get_mut("member")? {
            Item::ArrayOfTables(a) => a.get_mut(i).map(|t| t as &mut dyn TableLike),
            Item::Value(toml_edit::Value::Array(a)) => a
                .get_mut(i)
                .and_then(|v| v.as_inline_table_mut())
                .map(|t| t as &mut dyn TableLike),
            _ => None,
        }
    }

    pub fn push_member(&mut self, mut t: Table) -> Result<(), AdminError> {
        if self.doc.get("member").is_none() {
            // A file of comments only: keep them above the first member.
            let trailing = self.doc.trailing().as_str().unwrap_or("").to_string();
            if self.doc.as_table().is_empty() && !trailing.trim().is_empty() {
                t.decor_mut()
                    .set_prefix(format!("{}\n", trailing.trim_end()));
                self.doc.set_trailing("");
            }
            self.doc
                .insert("member", Item::ArrayOfTables(ArrayOfTables::new()));
        } else {
            t.decor_mut().set_prefix("\n");
        }
        match self.doc.get_mut("member") {
            Some(Item::ArrayOfTables(a)) => {
                a.push(t);
                Ok(())
            }
            Some(Item::Value(toml_edit::Value::Array(a))) => {
                a.push(toml_edit::Value::InlineTable(t.into_inline_table()));
                Ok(())
            }
            _ => Err(AdminError::conflict(
                "`member` in trust.toml is neither [[member]] tables nor an array of tables",
            )),
        }
    }

    pub fn remove_member(&mut self, i: usize) -> Result<(), AdminError> {
        let mut header: Option<String> = None;
        match self.doc.get_mut("member") {
            Some(Item::ArrayOfTables(a)) if i < a.len() => {
                // The comments above the first member are the file's header: keep them.
                if i == 0 {
                    header = a
                        .get(0)
                        .and_then(|t| t.decor().prefix())
                        .and_then(|p| p.as_str())
                        .filter(|p| !p.trim().is_empty())
                        .map(str::to_string);
                }
                a.remove(i);
                if let Some(h) = header.take() {
                    match a.get_mut(0) {
                        Some(next) => next.decor_mut().set_prefix(h),
                        None => header = Some(h),
                    }
                }
            }
            Some(Item::Value(toml_edit::Value::Array(a))) if i < a.len() => {
                a.remove(i);
            }
            _ => return Err(AdminError::internal("member table not found")),
        }
        if let Some(h) = header {
            let rest = self.doc.trailing().as_str().unwrap_or("").to_string();
            self.doc.set_trailing(format!("{h}{rest}"));
        }
        Ok(())
    }

    /// Append `value` to the array `field` of member `i` (created when missing).
    pub fn push_to(
        &mut self,
        i: usize,
        field: &str,
        value: toml_edit::Value,
    ) -> Result<(), AdminError> {
        let t = self
            .member_mut(i)
            .ok_or_else(|| AdminError::internal("member table not found"))?;
        match t.get_mut(field) {
            None => {
                let mut a = toml_edit::Array::new();
                a.push(value);
                t.insert(field, Item::Value(toml_edit::Value::Array(a)));
            }
            Some(Item::Value(toml_edit::Value::Array(a))) => a.push(value),
            Some(Item::ArrayOfTables(a)) => match value {
                toml_edit::Value::InlineTable(it) => a.push(it.into_table()),
                _ => return Err(AdminError::internal(format!("{field}: not a table"))),
            },
            Some(_) => {
                return Err(AdminError::conflict(format!(
                    "{field} of member {i} in trust.toml is not an array"
                )))
            }
        }
        Ok(())
    }

    pub fn render(&self) -> String {
        self.doc.to_string()
    }

    /// Validate the new text as a whole (errors name the line of the proposed
    /// file) and return its list.
    pub fn validate(&self, text: &str) -> Result<TrustList, AdminError> {
        let shown = PathBuf::from(format!("{} (proposed change)", self.path.display()));
        trust::parse(&shown, text)
            .map_err(|e| AdminError::unprocessable(format!("refused, nothing changed: {e}")))
    }
}

/// Write `text` to `path` atomically: a temp file beside it (mode of the old
/// file kept), fsync, rename over, fsync the directory.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trust.toml".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(std::fs::Permissions::from_mode(
                meta.permissions().mode() & 0o777,
            ))?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";

    fn file(dir: &Path, text: &str) -> TrustFile {
        let p = dir.join("trust.toml");
        std::fs::write(&p, text).unwrap();
        TrustFile::read(&p).unwrap()
    }

    #[test]
    fn add_remove_and_append_keep_the_rest_of_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = file(tmp.path(), trust::EMPTY_TRUST_TOML);
        let m = json!({"name": "GD", "country": "CN", "publisher_keys": [K1],
                       "roles": ["publish_entries"], "region": null, "on_removal": "purge"});
        f.push_member(member_table(&m).unwrap()).unwrap();
        let text = f.render();
        assert!(text.starts_with("# techmesh trust list"), "{text}");
        let list = f.validate(&text).unwrap();
        assert_eq!(list.members[0].name, "GD");
        assert_eq!(member_json(&list.members[0])["on_removal"], "purge");
        write_atomic(&f.path, &text).unwrap();
        let mut f = TrustFile::read(&f.path).unwrap();
        let k2 = techmesh_protocol::record::Keypair::from_seed(&[7; 32])
            .public()
            .to_hex();
        let m2 = json!({"name": "HB", "country": "CN", "publisher_keys": [k2]});
        f.push_member(member_table(&m2).unwrap()).unwrap();
        let i = f.index_of("GD").unwrap();
        f.push_to(
            i,
            "revoked",
            to_toml(
                &json!({"key": K1, "as_of": "2026-11-01T00:00:00Z"}),
                "revoked",
            )
            .unwrap(),
        )
        .unwrap();
        let list = f.validate(&f.render()).unwrap();
        assert_eq!(list.members.len(), 2);
        assert_eq!(list.members[0].revoked.len(), 1);
        f.remove_member(0).unwrap();
        let text = f.render();
        let list = f.validate(&text).unwrap();
        assert_eq!(list.members.len(), 1);
        assert_eq!(list.members[0].name, "HB");
        assert!(text.contains("# techmesh trust list"));
    }

    #[test]
    fn invalid_changes_are_refused_with_their_line() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = file(tmp.path(), "");
        let m = json!({"name": "GD", "country": "CN", "roles": ["admin"]});
        f.push_member(member_table(&m).unwrap()).unwrap();
        let e = f.validate(&f.render()).unwrap_err();
        assert!(
            e.1.contains("trust.toml (proposed change):4:")
                && e.1.contains("member[0].roles: unknown role \"admin\""),
            "{}",
            e.1
        );
        let m = json!({"name": "GD", "country": "CN", "colour": "red"});
        let mut f = file(tmp.path(), "");
        f.push_member(member_table(&m).unwrap()).unwrap();
        assert!(f
            .validate(&f.render())
            .unwrap_err()
            .1
            .contains("unknown field `colour`"));
        // A broken file on disk is not edited.
        std::fs::write(tmp.path().join("trust.toml"), "[[member]]\nname = 1\n").unwrap();
        assert!(TrustFile::read(&tmp.path().join("trust.toml")).is_err());
    }
}
