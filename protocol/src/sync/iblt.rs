//! Set reconciliation by invertible Bloom lookup tables (docs/PROTOCOL.md §8.4).
//!
//! An **element** is one sync item in 56 bytes: `id (16) ‖ seq (u64 big-endian) ‖
//! hash (32)`. An IBLT of `m` cells (`m` a multiple of [`HASHES`]) keeps in every cell a
//! signed count, the XOR of the elements in it and the XOR of their 64-bit checks;
//! each element goes into one cell of each of the [`HASHES`] equal sub-tables. The
//! difference of two tables of the same size holds only the elements one side has and
//! the other lacks, and *peeling* lists them while at most ≈ m / 1.3 differ.
//!
//! Everything here is pure and bounded: decoding refuses any size but the announced
//! one, tables are at most [`MAX_TABLE_CELLS`], and peeling stops after `m` elements.

use super::Item;

/// Bytes of one element.
pub const ELEMENT_BYTES: usize = 56;
/// Cells each element is added to (one per sub-table).
pub const HASHES: usize = 3;
/// Bytes of one encoded cell: count (i32 LE) ‖ element XOR (56) ‖ check XOR (u64 LE).
pub const CELL_BYTES: usize = 4 + ELEMENT_BYTES + 8;
/// Largest table a peer may ask for or send (6.7 MB; decodes ≈ 75 000 differences).
pub const MAX_TABLE_CELLS: u32 = 98_304;

pub type Element = [u8; ELEMENT_BYTES];

/// The element of an item.
pub fn element(it: &Item) -> Element {
    let mut e = [0u8; ELEMENT_BYTES];
    e[..16].copy_from_slice(&it.id);
    e[16..24].copy_from_slice(&it.seq.to_be_bytes());
    e[24..].copy_from_slice(&it.hash);
    e
}

/// The item of an element.
pub fn item(e: &Element) -> Item {
    let mut id = [0u8; 16];
    let mut seq = [0u8; 8];
    let mut hash = [0u8; 32];
    id.copy_from_slice(&e[..16]);
    seq.copy_from_slice(&e[16..24]);
    hash.copy_from_slice(&e[24..]);
    Item {
        id,
        seq: u64::from_be_bytes(seq),
        hash,
    }
}

/// The splitmix64 finaliser: a fixed, non-linear 64-bit mix (part of the wire format).
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The 64-bit check of a byte string: `h = 0; for each 8-byte little-endian word w
/// (the last one zero-padded): h = mix64(h ^ w ^ 0x9e3779b97f4a7c15)`.
pub fn check(bytes: &[u8]) -> u64 {
    bytes.chunks(8).fold(0u64, |h, c| {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        mix64(h ^ u64::from_le_bytes(w) ^ 0x9e37_79b9_7f4a_7c15)
    })
}

/// Cell `j` of an element with check `c` in a table of `m` cells: sub-table `j`
/// (cells `j·m/3 … (j+1)·m/3 − 1`), offset `mix64(c + j + 1) mod (m/3)`.
fn cells_of(c: u64, m: usize) -> [usize; HASHES] {
    let sub = m / HASHES;
    std::array::from_fn(|j| j * sub + (mix64(c.wrapping_add(j as u64 + 1)) % sub as u64) as usize)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell {
    count: i32,
    key: Element,
    check: u64,
}

const EMPTY: Cell = Cell {
    count: 0,
    key: [0; ELEMENT_BYTES],
    check: 0,
};

impl Cell {
    fn toggle(&mut self, e: &Element, c: u64, sign: i32) {
        self.count = self.count.wrapping_add(sign);
        for (k, b) in self.key.iter_mut().zip(e) {
            *k ^= b;
        }
        self.check ^= c;
    }
}

/// An invertible Bloom lookup table of sync elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iblt {
    cells: Vec<Cell>,
}

/// What peeling the difference `mine − theirs` found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Peeled {
    /// Elements only in the minuend (`mine`).
    pub mine: Vec<Element>,
    /// Elements only in the subtrahend (`theirs`).
    pub theirs: Vec<Element>,
}

/// Why a table was not accepted or not fully peeled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IbltError {
    #[error("table of {0} cells: must be a positive multiple of 3 and at most {MAX_TABLE_CELLS}")]
    BadSize(u64),
    #[error("table bytes: {got} bytes for {cells} cells (want {CELL_BYTES} per cell)")]
    BadLength { got: usize, cells: usize },
    #[error("tables of different sizes ({0} and {1} cells)")]
    SizeMismatch(usize, usize),
    #[error("the difference did not peel ({found} elements found before it stuck)")]
    Undecodable { found: usize },
}

/// A valid table size: a positive multiple of [`HASHES`], at most [`MAX_TABLE_CELLS`].
pub fn valid_cells(m: u64) -> bool {
    m > 0 && m.is_multiple_of(HASHES as u64) && m <= u64::from(MAX_TABLE_CELLS)
}

impl Iblt {
    pub fn new(m: usize) -> Result<Iblt, IbltError> {
        if !valid_cells(m as u64) {
            return Err(IbltError::BadSize(m as u64));
        }
        Ok(Iblt {
            cells: vec![EMPTY; m],
        })
    }

    /// A table of `m` cells holding `items`.
    pub fn of<'a>(m: usize, items: impl IntoIterator<Item = &'a Item>) -> Result<Iblt, IbltError> {
        let mut t = Iblt::new(m)?;
        for it in items {
            t.insert(&element(it));
        }
        Ok(t)
    }

    pub fn cells(&self) -> usize {
        self.cells.len()
    }

    pub fn insert(&mut self, e: &Element) {
        let c = check(e);
        for i in cells_of(c, self.cells.len()) {
            self.cells[i].toggle(e, c, 1);
        }
    }

    /// `self − other`, cell by cell.
    pub fn subtract(&mut self, other: &Iblt) -> Result<(), IbltError> {
        if self.cells.len() != other.cells.len() {
            return Err(IbltError::SizeMismatch(self.cells.len(), other.cells.len()));
        }
        for (a, b) in self.cells.iter_mut().zip(&other.cells) {
            a.count = a.count.wrapping_sub(b.count);
            for (k, x) in a.key.iter_mut().zip(&b.key) {
                *k ^= x;
            }
            a.check ^= b.check;
        }
        Ok(())
    }

    /// Encoded cells `from .. from + len` (clipped to the table).
    pub fn encode_range(&self, from: usize, len: usize) -> Vec<u8> {
        let end = from.saturating_add(len).min(self.cells.len());
        let mut out = Vec::with_capacity(end.saturating_sub(from) * CELL_BYTES);
        for c in self.cells.get(from..end).unwrap_or(&[]) {
            out.extend_from_slice(&c.count.to_le_bytes());
            out.extend_from_slice(&c.key);
            out.extend_from_slice(&c.check.to_le_bytes());
        }
        out
    }

    pub fn encode(&self) -> Vec<u8> {
        self.encode_range(0, self.cells.len())
    }

    /// A table of `m` cells from its encoding (exactly `m` × [`CELL_BYTES`] bytes).
    pub fn decode(bytes: &[u8], m: usize) -> Result<Iblt, IbltError> {
        let mut t = Iblt::new(m)?;
        t.fill(0, bytes)?;
        if bytes.len() != m * CELL_BYTES {
            return Err(IbltError::BadLength {
                got: bytes.len(),
                cells: m,
            });
        }
        Ok(t)
    }

    /// Set cells `from ..` from their encoding (a chunk of a table sent in parts).
    pub fn fill(&mut self, from: usize, bytes: &[u8]) -> Result<(), IbltError> {
        let n = bytes.len() / CELL_BYTES;
        if !bytes.len().is_multiple_of(CELL_BYTES) || from.saturating_add(n) > self.cells.len() {
            return Err(IbltError::BadLength {
                got: bytes.len(),
                cells: self.cells.len().saturating_sub(from),
            });
        }
        for (cell, b) in self.cells[from..from + n]
            .iter_mut()
            .zip(bytes.chunks_exact(CELL_BYTES))
        {
            cell.count = i32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
            cell.key.copy_from_slice(&b[4..4 + ELEMENT_BYTES]);
            cell.check = u64::from_le_bytes(b[4 + ELEMENT_BYTES..].try_into().expect("8 bytes"));
        }
        Ok(())
    }

    fn pure(&self, i: usize) -> bool {
        let c = &self.cells[i];
        (c.count == 1 || c.count == -1)
            && check(&c.key) == c.check
            && cells_of(c.check, self.cells.len()).contains(&i)
    }

    /// List the elements of a difference table (`mine − theirs`). Fails unless every
    /// cell ends empty; at most `cells` elements are taken out (a crafted table cannot
    /// make this loop long).
    pub fn peel(mut self) -> Result<Peeled, IbltError> {
        let m = self.cells.len();
        let mut out = Peeled::default();
        let mut queue: Vec<usize> = (0..m).filter(|&i| self.pure(i)).collect();
        while let Some(i) = queue.pop() {
            if !self.pure(i) {
                continue;
            }
            if out.mine.len() + out.theirs.len() >= m {
                break;
            }
            let Cell { count, key, check } = self.cells[i];
            if count == 1 {
                out.mine.push(key);
            } else {
                out.theirs.push(key);
            }
            for j in cells_of(check, m) {
                self.cells[j].toggle(&key, check, -count);
                if self.pure(j) {
                    queue.push(j);
                }
            }
        }
        if self.cells.iter().all(|c| *c == EMPTY) {
            Ok(out)
        } else {
            Err(IbltError::Undecodable {
                found: out.mine.len() + out.theirs.len(),
            })
        }
    }
}

/// Cells of the table a responder sends for an estimated difference: 1.8 × the
/// estimate + 30, rounded up to a multiple of 3, within [`MAX_TABLE_CELLS`].
pub fn table_cells(estimate: u64) -> u32 {
    let want = estimate.saturating_mul(9) / 5 + 30;
    let want = want.div_ceil(HASHES as u64) * HASHES as u64;
    want.min(u64::from(MAX_TABLE_CELLS)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::tests_support::item as mk;

    fn table(m: usize, items: &[Item]) -> Iblt {
        Iblt::of(m, items).unwrap()
    }

    #[test]
    fn elements_round_trip() {
        let it = mk(7, 3);
        assert_eq!(item(&element(&it)), it);
    }

    #[test]
    fn peels_both_sides_of_a_difference() {
        let base: Vec<Item> = (0..5000).map(|n| mk(n, 1)).collect();
        let mut a = base.clone();
        let mut b = base;
        a.extend((10_000..10_020).map(|n| mk(n, 1)));
        b.extend((20_000..20_015).map(|n| mk(n, 1)));
        a[3] = mk(3, 2);
        let mut t = table(120, &a);
        t.subtract(&table(120, &b)).unwrap();
        let p = t.peel().unwrap();
        assert_eq!(p.mine.len(), 21);
        assert_eq!(p.theirs.len(), 16);
        assert!(p.mine.contains(&element(&mk(3, 2))));
        assert!(p.theirs.contains(&element(&mk(3, 1))));
        assert!(p.theirs.contains(&element(&mk(20_014, 1))));
    }

    #[test]
    fn identical_sets_peel_to_nothing() {
        let a: Vec<Item> = (0..3000).map(|n| mk(n, 1)).collect();
        let mut t = table(30, &a);
        t.subtract(&table(30, &a)).unwrap();
        assert_eq!(t.peel().unwrap(), Peeled::default());
    }

    #[test]
    fn too_small_a_table_fails_instead_of_lying() {
        let a: Vec<Item> = (0..1000).map(|n| mk(n, 1)).collect();
        let mut t = table(30, &a);
        t.subtract(&table(30, &[])).unwrap();
        assert!(matches!(t.peel(), Err(IbltError::Undecodable { .. })));
    }

    #[test]
    fn encoding_round_trips_and_sizes_are_checked() {
        let a: Vec<Item> = (0..100).map(|n| mk(n, 1)).collect();
        let t = table(30, &a);
        let bytes = t.encode();
        assert_eq!(bytes.len(), 30 * CELL_BYTES);
        assert_eq!(Iblt::decode(&bytes, 30).unwrap(), t);
        assert!(matches!(
            Iblt::decode(&bytes[1..], 30),
            Err(IbltError::BadLength { .. })
        ));
        assert!(matches!(
            Iblt::decode(&bytes, 33),
            Err(IbltError::BadLength { .. })
        ));
        assert!(Iblt::new(31).is_err() && Iblt::new(0).is_err());
        assert!(Iblt::new(MAX_TABLE_CELLS as usize + 3).is_err());
        // In parts, as a table arrives in chunks.
        let mut u = Iblt::new(30).unwrap();
        u.fill(0, &t.encode_range(0, 12)).unwrap();
        u.fill(12, &t.encode_range(12, 100)).unwrap();
        assert_eq!(u, t);
        assert!(u.fill(29, &t.encode_range(0, 2)).is_err());
    }

    #[test]
    fn garbage_tables_end_quickly() {
        // Every cell "pure"-looking with the same element: peeling must stop.
        let e = element(&mk(1, 1));
        let mut t = Iblt::new(300).unwrap();
        for _ in 0..7 {
            t.insert(&e);
        }
        for c in t.cells.iter_mut() {
            c.count = 1;
            c.key = e;
            c.check = check(&e);
        }
        assert!(t.peel().is_err());
        let junk: Vec<u8> = (0..300 * CELL_BYTES).map(|i| (i * 7 % 251) as u8).collect();
        assert!(Iblt::decode(&junk, 300).unwrap().peel().is_err());
    }

    #[test]
    fn table_sizes_are_bounded() {
        assert_eq!(table_cells(0), 30);
        assert_eq!(table_cells(100) % 3, 0);
        assert_eq!(table_cells(u64::MAX), MAX_TABLE_CELLS);
        assert!(valid_cells(u64::from(table_cells(12_345))));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        #[test]
        fn small_differences_always_peel(only_a in 0u32..12, only_b in 0u32..12, seed in 0u32..1000) {
            let base: Vec<Item> = (0..500).map(|n| mk(seed * 1000 + n, 1)).collect();
            let mut a = base.clone();
            let mut b = base;
            a.extend((0..only_a).map(|n| mk(5_000_000 + seed * 100 + n, 1)));
            b.extend((0..only_b).map(|n| mk(6_000_000 + seed * 100 + n, 1)));
            let mut t = table(300, &a);
            t.subtract(&table(300, &b)).unwrap();
            let p = t.peel().unwrap();
            proptest::prop_assert_eq!(p.mine.len() as u32, only_a);
            proptest::prop_assert_eq!(p.theirs.len() as u32, only_b);
        }
    }
}
