//! The strata estimator of the size of a set difference (docs/PROTOCOL.md §8.4), so a
//! responder can size its IBLT before anyone knows what differs.
//!
//! Every element is hashed (`check`, [`super::iblt::check`]) and falls into stratum
//! `min(trailing zeros of the low 32 bits, STRATA − 1)`: stratum `i` samples 2^−(i+1) of
//! the set. Each stratum is a tiny IBLT of [`STRATUM_CELLS`] cells holding a 32-bit
//! fingerprint of each element (the high 32 bits of its check), not the element:
//! `count (i16 LE) ‖ fingerprint XOR (u32 LE) ‖ fingerprint-check XOR (u16 LE)`, 8
//! bytes. Subtracting two estimators and peeling strata from the sparsest down, the
//! first stratum `i` that does not peel gives the estimate `2^(i+1) × found so far`.

use super::iblt::{check, mix64, Element};

/// Number of strata (estimates up to ≈ 2^16 × 16 differences).
pub const STRATA: usize = 16;
/// Cells per stratum (3 sub-tables of 8).
pub const STRATUM_CELLS: usize = 24;
const CELL: usize = 8;
/// Encoded size of an estimator (3 072 bytes).
pub const STRATA_BYTES: usize = STRATA * STRATUM_CELLS * CELL;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Cell {
    count: i16,
    fp: u32,
    check: u16,
}

fn fp_check(fp: u32) -> u16 {
    (mix64(u64::from(fp) ^ 0x5555_5555_0000_0000) >> 48) as u16
}

fn cells_of(fp: u32) -> [usize; 3] {
    let sub = STRATUM_CELLS / 3;
    std::array::from_fn(|j| j * sub + (mix64(u64::from(fp) + j as u64 + 1) % sub as u64) as usize)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strata {
    cells: Vec<Cell>,
}

impl Default for Strata {
    fn default() -> Self {
        Strata {
            cells: vec![Cell::default(); STRATA * STRATUM_CELLS],
        }
    }
}

impl Strata {
    pub fn insert(&mut self, e: &Element) {
        let c = check(e);
        let stratum = ((c as u32).trailing_zeros() as usize).min(STRATA - 1);
        let fp = (c >> 32) as u32;
        let chk = fp_check(fp);
        for i in cells_of(fp) {
            let cell = &mut self.cells[stratum * STRATUM_CELLS + i];
            cell.count = cell.count.wrapping_add(1);
            cell.fp ^= fp;
            cell.check ^= chk;
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(STRATA_BYTES);
        for c in &self.cells {
            out.extend_from_slice(&c.count.to_le_bytes());
            out.extend_from_slice(&c.fp.to_le_bytes());
            out.extend_from_slice(&c.check.to_le_bytes());
        }
        out
    }

    /// An estimator from its encoding: exactly [`STRATA_BYTES`] bytes.
    pub fn decode(bytes: &[u8]) -> Result<Strata, String> {
        if bytes.len() != STRATA_BYTES {
            return Err(format!(
                "estimator of {} bytes, want {STRATA_BYTES}",
                bytes.len()
            ));
        }
        let cells = bytes
            .chunks_exact(CELL)
            .map(|b| Cell {
                count: i16::from_le_bytes([b[0], b[1]]),
                fp: u32::from_le_bytes([b[2], b[3], b[4], b[5]]),
                check: u16::from_le_bytes([b[6], b[7]]),
            })
            .collect();
        Ok(Strata { cells })
    }

    /// Estimated size of the symmetric difference between the two sets.
    pub fn estimate(&self, other: &Strata) -> u64 {
        let mut found = 0u64;
        for s in (0..STRATA).rev() {
            let range = s * STRATUM_CELLS..(s + 1) * STRATUM_CELLS;
            let mut diff: Vec<Cell> = self.cells[range.clone()]
                .iter()
                .zip(&other.cells[range])
                .map(|(a, b)| Cell {
                    count: a.count.wrapping_sub(b.count),
                    fp: a.fp ^ b.fp,
                    check: a.check ^ b.check,
                })
                .collect();
            match peel(&mut diff) {
                Some(n) => found += n,
                None => return found.max(1) << (s + 1),
            }
        }
        found
    }
}

/// Number of fingerprints in one stratum's difference, or `None` if it does not peel.
fn peel(cells: &mut [Cell]) -> Option<u64> {
    let pure = |c: &Cell| (c.count == 1 || c.count == -1) && fp_check(c.fp) == c.check;
    let mut n = 0u64;
    // Each pass takes out at least one fingerprint or stops; at most 3 × cells of them.
    for _ in 0..3 * STRATUM_CELLS {
        let Some(i) = (0..cells.len()).find(|&i| pure(&cells[i])) else {
            break;
        };
        let Cell { count, fp, check } = cells[i];
        if !cells_of(fp).contains(&i) {
            return None;
        }
        for j in cells_of(fp) {
            cells[j].count = cells[j].count.wrapping_sub(count);
            cells[j].fp ^= fp;
            cells[j].check ^= check;
        }
        n += 1;
    }
    cells.iter().all(|c| *c == Cell::default()).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::iblt::element;
    use crate::sync::tests_support::item;

    fn strata(range: impl Iterator<Item = u32>) -> Strata {
        let mut s = Strata::default();
        for n in range {
            s.insert(&element(&item(n, 1)));
        }
        s
    }

    #[test]
    fn estimates_are_within_a_factor_of_two_or_so() {
        let n = 20_000;
        let a = strata(0..n);
        assert_eq!(a.estimate(&a), 0);
        for d in [1u32, 5, 100, 1000, 5000] {
            let b = strata(d..n + d / 2);
            let real = f64::from(d + d / 2);
            let est = a.estimate(&b) as f64;
            assert!(
                est >= real / 2.5 && est <= real * 2.5,
                "d = {real}: estimate {est}"
            );
        }
    }

    #[test]
    fn encoding_round_trips_and_length_is_checked() {
        let a = strata(0..500);
        let bytes = a.encode();
        assert_eq!(bytes.len(), STRATA_BYTES);
        assert_eq!(Strata::decode(&bytes).unwrap(), a);
        assert!(Strata::decode(&bytes[..100]).is_err());
        // Garbage estimates something, quickly.
        let junk: Vec<u8> = (0..STRATA_BYTES).map(|i| (i * 13 % 256) as u8).collect();
        let _ = Strata::decode(&junk).unwrap().estimate(&a);
    }
}
