//! Full scans of the sled store for `techmesh check`: every current version against
//! its record bytes (read and CRC-checked from its segment), sync row and watermark;
//! the running totals against a recount; the segment end against the files; leftover
//! rows of older formats and the format marker.

use super::keys::{self, key, SyncItem, COUNTS_KEY, FORMAT_KEY, SEGMENT_END_KEY, STORE_FORMAT};
use super::segments::{self, SegmentEnd};
use super::sled_store::{corrupt, parse_current, SledStore};
use super::{Counts, Store, StoreError};
use techmesh_protocol::record::Identity;
use techmesh_protocol::Kind;

impl SledStore {
    /// Count the current versions by kind, walking every current row (what the
    /// running totals row must equal).
    pub(super) fn recount(&self) -> Result<Counts, StoreError> {
        let mut c = Counts::default();
        for row in self.tree.scan_prefix([keys::CURRENT]) {
            let (k, _) = row?;
            let kind = Kind::from_tag(*k.get(33).unwrap_or(&0))
                .ok_or_else(|| corrupt("identity key", hex::encode(&k)))?;
            // A withdrawn identity holds a tombstone: count it as one.
            let is_tomb = self
                .tree
                .get(key(keys::SYNC, &[&keys::identity_digest(&k[1..])]))?
                .and_then(|v| v.get(73).copied())
                == Some(1);
            keys::tally(&mut c, kind, is_tomb, true);
        }
        Ok(c)
    }

    pub(super) fn problems(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let mut current = 0u64;
        for row in self.tree.scan_prefix([keys::CURRENT]) {
            let (k, v) = row?;
            current += 1;
            let Some(id) = Identity::from_key(&k[1..]) else {
                problems.push(format!("unreadable identity key {}", hex::encode(&k)));
                continue;
            };
            let version = parse_current(&v)?;
            let r = match self.blob(&version.hash) {
                Ok(Some(r)) => r,
                Ok(None) => {
                    problems.push(format!(
                        "{id}: current version {} has no record bytes",
                        version.hash
                    ));
                    continue;
                }
                Err(e) => {
                    problems.push(format!("{id}: record bytes unreadable: {e}"));
                    continue;
                }
            };
            if r.identity() != id || r.seq != version.seq || r.hash() != version.hash {
                problems.push(format!(
                    "{id}: record bytes disagree with the current-version row"
                ));
            }
            let sync_key = key(keys::SYNC, &[&keys::identity_digest(&k[1..])]);
            match self.tree.get(&sync_key)? {
                Some(s)
                    if SyncItem::decode(&sync_key, &s).map(|i| i.hash) == Some(version.hash) => {}
                _ => problems.push(format!("{id}: sync index row missing or stale")),
            }
            match self.watermark(&r.publisher)? {
                Some(w) if w >= r.seq => {}
                _ => problems.push(format!("{id}: publisher watermark below seq {}", r.seq)),
            }
        }
        let blobs = self.prefix_count(&[keys::BLOB]);
        let syncs = self.prefix_count(&[keys::SYNC]);
        if blobs != current || syncs != current {
            problems.push(format!(
                "{current} current versions but {blobs} record locations and {syncs} sync rows"
            ));
        }
        let recounted = self.recount()?;
        match self.tree.get(COUNTS_KEY)?.map(|v| keys::decode_counts(&v)) {
            Some(Some(stored)) if stored == recounted => {}
            other => problems.push(format!(
                "running totals row is {:?} but the current versions count {recounted:?}",
                other.flatten()
            )),
        }
        self.check_segments(&mut problems)?;
        let legacy = self.prefix_count(&[keys::LEGACY_INDEX]);
        if legacy > 0 {
            problems.push(format!(
                "{legacy} secondary-index rows of store format 1 left in a format-{STORE_FORMAT} store"
            ));
        }
        match self.tree.get(FORMAT_KEY)? {
            Some(v) if v.as_ref() == STORE_FORMAT.to_string().as_bytes() => {}
            other => problems.push(format!(
                "store format marker is {:?}, expected {STORE_FORMAT}",
                other.map(|v| String::from_utf8_lossy(&v).into_owned())
            )),
        }
        Ok(problems)
    }

    /// The segment end row against the files: the active segment holds at least the
    /// referenced bytes, and no location points past its segment's end.
    fn check_segments(&self, problems: &mut Vec<String>) -> Result<(), StoreError> {
        let files = segments::list(self.segments.dir())?;
        let end = match self.tree.get(SEGMENT_END_KEY)? {
            None if self.prefix_count(&[keys::BLOB]) == 0 => return Ok(()),
            None => {
                problems.push("record locations but no segment end row".into());
                return Ok(());
            }
            Some(v) => match SegmentEnd::decode(&v) {
                Some(e) => e,
                None => {
                    problems.push(format!("unreadable segment end row {}", hex::encode(&v)));
                    return Ok(());
                }
            },
        };
        let len_of = |segment: u32| {
            files.iter().find(|(n, _)| *n == segment).map(|(_, len)| {
                if segment == end.segment {
                    end.end
                } else {
                    *len
                }
            })
        };
        if files
            .iter()
            .any(|(n, len)| *n == end.segment && *len < end.end)
        {
            problems.push(format!(
                "segment {} is shorter than the committed end {}",
                end.segment, end.end
            ));
        }
        for row in self.tree.scan_prefix([keys::BLOB]) {
            let (k, v) = row?;
            let Some(loc) = segments::Location::decode(&v) else {
                problems.push(format!(
                    "unreadable record location under {}",
                    hex::encode(&k)
                ));
                continue;
            };
            match len_of(loc.segment) {
                Some(len) if loc.end() <= len => {}
                _ => problems.push(format!(
                    "record location {} points past the end of segment {}",
                    hex::encode(&k[1..]),
                    loc.segment
                )),
            }
        }
        Ok(())
    }
}
