//! Identity digest → row slot, in digest order, for the in-memory index
//! (`memindex.rs`): 65 536 buckets by the digest's first two bytes, each a Vec of
//! (next four bytes, slot) sorted by the full digest. Digests are uniform (SHA-256),
//! so buckets stay small (~15 entries at 1 M) and an entry costs 8 bytes, where a
//! `BTreeMap<[u8; 16], u32>` cost ~30 with its node slack. Comparisons past the
//! first six bytes read the digest from the row, which holds it anyway.

use super::memindex::Row;

/// Bucket count: the first two bytes of a digest.
const BUCKETS: usize = 1 << 16;

#[derive(Clone, Copy)]
struct Entry {
    /// Digest bytes 2..6, big-endian: orders entries within a bucket.
    frag: u32,
    slot: u32,
}

pub struct DigestMap {
    buckets: Vec<Vec<Entry>>,
    len: usize,
}

impl Default for DigestMap {
    fn default() -> Self {
        DigestMap {
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            len: 0,
        }
    }
}

fn bucket_of(d: &[u8; 16]) -> usize {
    usize::from(u16::from_be_bytes([d[0], d[1]]))
}

fn frag_of(d: &[u8; 16]) -> u32 {
    u32::from_be_bytes([d[2], d[3], d[4], d[5]])
}

impl DigestMap {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Where `d` is (Ok) or would go (Err) in its bucket.
    fn search(&self, d: &[u8; 16], rows: &[Row]) -> Result<usize, usize> {
        let frag = frag_of(d);
        self.buckets[bucket_of(d)].binary_search_by(|e| {
            e.frag
                .cmp(&frag)
                .then_with(|| rows[e.slot as usize].digest[6..].cmp(&d[6..]))
        })
    }

    pub fn get(&self, d: &[u8; 16], rows: &[Row]) -> Option<u32> {
        let at = self.search(d, rows).ok()?;
        Some(self.buckets[bucket_of(d)][at].slot)
    }

    /// Insert `d` → `slot` (the row in `slot` must already hold `d`, and `d` be absent).
    pub fn insert_new(&mut self, d: &[u8; 16], slot: u32, rows: &[Row]) {
        match self.search(d, rows) {
            Ok(at) => self.buckets[bucket_of(d)][at].slot = slot,
            Err(at) => {
                self.buckets[bucket_of(d)].insert(
                    at,
                    Entry {
                        frag: frag_of(d),
                        slot,
                    },
                );
                self.len += 1;
            }
        }
    }

    pub fn remove(&mut self, d: &[u8; 16], rows: &[Row]) -> Option<u32> {
        let at = self.search(d, rows).ok()?;
        self.len -= 1;
        Some(self.buckets[bucket_of(d)].remove(at).slot)
    }

    /// Every slot, in digest order.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.buckets.iter().flatten().map(|e| e.slot)
    }

    /// Slots whose digest starts with `prefix` (at most 16 bytes), in digest order.
    pub fn range<'a>(
        &'a self,
        prefix: &'a [u8],
        rows: &'a [Row],
    ) -> impl Iterator<Item = u32> + 'a {
        let (first, last) = match prefix.len() {
            0 => (0, BUCKETS - 1),
            1 => {
                let b = usize::from(prefix[0]) << 8;
                (b, b + 0xff)
            }
            _ => {
                let b = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
                (b, b)
            }
        };
        self.buckets[first..=last]
            .iter()
            .flatten()
            .map(|e| e.slot)
            .filter(move |s| prefix.len() <= 2 || rows[*s as usize].digest.starts_with(prefix))
    }
}
