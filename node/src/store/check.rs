//! Full scans of the store for `techmesh check`: every current version's record bytes
//! read from its segment (length and CRC-32 of the frame), decoded and compared with
//! its index row (identity digest, hash, seq, publisher, kind, scope, tombstone);
//! its hash lookup, seq entry and watermark; the running counts against a recount;
//! the segment end against the files; leftover sled rows of older formats and the
//! format marker.

use super::format::LEGACY_PREFIXES;
use super::keys::{self, COUNTS_KEY, FORMAT_KEY, SEGMENT_END_KEY, STORE_FORMAT};
use super::memindex::{scope_byte, Row};
use super::segments;
use super::sled_store::SledStore;
use super::StoreError;

impl SledStore {
    pub(super) fn problems(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        // A copy of the rows: the records are read without holding the index.
        let (rows, end, counts, recounted, bad_hash_lookups) = {
            let index = self.index();
            let rows: Vec<(Row, _, _, _)> = index
                .rows()
                .map(|r| {
                    (
                        *r,
                        index.publisher_key(r.publisher),
                        index.watermark(r.publisher),
                        index.seq_hash(r.publisher, r.seq),
                    )
                })
                .collect();
            (
                rows,
                index.segment_end(),
                index.counts(),
                index.recount(),
                index.hash_lookup_mismatches(),
            )
        };
        let files = segments::list(self.segments.dir())?;
        if let Some(end) = end {
            if files
                .iter()
                .any(|(n, len)| *n == end.segment && *len < end.end)
            {
                problems.push(format!(
                    "segment {} is shorter than the committed end {}",
                    end.segment, end.end
                ));
            }
        } else if !rows.is_empty() {
            problems.push("current versions but no committed segment end".into());
        }
        let readable_end = |segment: u32| match end {
            Some(e) if segment == e.segment => Some(e.end),
            Some(e) if segment > e.segment => None,
            _ => files.iter().find(|(n, _)| *n == segment).map(|(_, l)| *l),
        };
        for (row, publisher, watermark, seq_hash) in &rows {
            let digest = hex::encode(row.digest);
            if readable_end(row.segment).is_none_or(|e| row.location().end() > e) {
                problems.push(format!(
                    "identity digest {digest}: its record location (segment {} offset {}) points past the committed end",
                    row.segment, row.offset
                ));
                continue;
            }
            let r = match self.segments.read(&row.location()).and_then(|b| {
                techmesh_protocol::record::Record::decode_trusted(&b)
                    .map_err(|e| super::sled_store::corrupt("record", e))
            }) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!(
                        "identity digest {digest}: record bytes unreadable: {e}"
                    ));
                    continue;
                }
            };
            let id = r.identity();
            if keys::identity_digest(&id.key()) != row.digest
                || r.hash().0 != row.hash
                || r.seq != row.seq
                || r.publisher != *publisher
                || id.kind.tag() != row.kind
                || r.is_tombstone() != row.tombstone
                || scope_byte(r.body.scope()) != row.scope
            {
                problems.push(format!(
                    "{id}: record bytes (hash {}, seq {}) disagree with its index row (identity digest {digest}, hash {}, seq {})",
                    r.hash(),
                    r.seq,
                    hex::encode(row.hash),
                    row.seq
                ));
            }
            if watermark.is_none_or(|w| w < r.seq) {
                problems.push(format!("{id}: publisher watermark below seq {}", r.seq));
            }
            if seq_hash.is_none() {
                problems.push(format!("{id}: no seq entry for seq {}", r.seq));
            }
        }
        if bad_hash_lookups > 0 {
            problems.push(format!(
                "{bad_hash_lookups} current versions not found by their record hash"
            ));
        }
        if counts != recounted {
            problems.push(format!(
                "running totals are {counts:?} but the current versions count {recounted:?}"
            ));
        }
        for p in LEGACY_PREFIXES {
            let n = self.tree.scan_prefix([p]).count();
            if n > 0 {
                problems.push(format!(
                    "{n} '{}' rows of an older store format left in a format-{STORE_FORMAT} store",
                    p as char
                ));
            }
        }
        for k in [COUNTS_KEY, SEGMENT_END_KEY] {
            if self.tree.contains_key(k)? {
                problems.push(format!(
                    "a {} row of store format 3 left in a format-{STORE_FORMAT} store",
                    String::from_utf8_lossy(&k[1..])
                ));
            }
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
}
