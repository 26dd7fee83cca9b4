//! The IBLT steps of a sync session (docs/PROTOCOL.md §8.4), pure: what the initiator
//! sends first, how the responder answers it, how the initiator reads a table and
//! when it asks again for a bigger one.

use super::iblt::{self, element, table_cells, Iblt, IbltError, CELL_BYTES, MAX_TABLE_CELLS};
use super::strata::{Strata, STRATA_BYTES};
use super::{compare, Item, Outcome};

/// Cells of the IBLT in the first message (peels ≈ 15 differences; 2 040 bytes).
pub const SKETCH_CELLS: usize = 30;
/// Bigger tables asked for after one that did not peel, before falling back to
/// range reconciliation.
pub const MAX_TABLE_RETRIES: u32 = 2;
/// Requests one session keeps in flight to one peer (the server admits 4 per peer).
pub const PIPELINE: usize = 4;

/// The first message's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sketch {
    pub count: u32,
    pub strata: Vec<u8>,
    pub cells: Vec<u8>,
}

/// My sketch of my items (those the other side may receive).
pub fn sketch(mine: &[Item]) -> Sketch {
    let mut strata = Strata::default();
    for it in mine {
        strata.insert(&element(it));
    }
    Sketch {
        count: mine.len().min(u32::MAX as usize) as u32,
        strata: strata.encode(),
        cells: Iblt::of(SKETCH_CELLS, mine)
            .expect("SKETCH_CELLS is a valid size")
            .encode(),
    }
}

/// How a responder answers a sketch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SketchAnswer {
    /// The difference peeled: `they_lack` = my records the initiator lacks, `i_lack` =
    /// the initiator's records I lack.
    Diff(Outcome),
    /// It did not: send my table of this many cells (sized by the estimate).
    Table(u32),
}

/// The responder's step: peel `their sketch − mine`, else size a table.
pub fn answer_sketch(
    count: u32,
    strata: &[u8],
    cells: &[u8],
    mine: &[Item],
) -> Result<SketchAnswer, String> {
    let theirs_strata = Strata::decode(strata)?;
    let mut theirs = Iblt::decode(cells, SKETCH_CELLS).map_err(|e| format!("sketch: {e}"))?;
    theirs
        .subtract(&Iblt::of(SKETCH_CELLS, mine).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    if let Ok(p) = theirs.peel() {
        let (theirs, mine) = (items(&p.mine), items(&p.theirs));
        return Ok(SketchAnswer::Diff(compare(&mine, &theirs)));
    }
    let mut my_strata = Strata::default();
    for it in mine {
        my_strata.insert(&element(it));
    }
    let estimate = theirs_strata
        .estimate(&my_strata)
        .max(u64::from(count).abs_diff(mine.len() as u64));
    Ok(SketchAnswer::Table(table_cells(estimate)))
}

fn items(es: &[iblt::Element]) -> Vec<Item> {
    es.iter().map(iblt::item).collect()
}

/// The initiator's step: peel `my table − theirs` and compare versions. `they_lack` =
/// my records the responder lacks (push), `i_lack` = its records I lack (fetch).
pub fn read_table(theirs: &Iblt, mine: &[Item]) -> Result<Outcome, IbltError> {
    let mut t = Iblt::of(theirs.cells(), mine)?;
    t.subtract(theirs)?;
    let p = t.peel()?;
    Ok(compare(&items(&p.mine), &items(&p.theirs)))
}

/// The size to ask for after a table of `cells` did not peel: 4 × as many, or `None`
/// once the largest size has been tried.
pub fn retry_cells(cells: u32) -> Option<u32> {
    (cells < MAX_TABLE_CELLS).then(|| cells.saturating_mul(4).min(MAX_TABLE_CELLS))
}

/// Cells of a table that fit in one message of `budget` bytes.
pub fn cells_per_message(budget: usize) -> u32 {
    (budget / CELL_BYTES).clamp(1, MAX_TABLE_CELLS as usize) as u32
}

/// Bounds of a received `Table` request or answer: a valid size, the range within it,
/// at most `max_len` cells.
pub fn check_table(cells: u32, from: u32, len: u64, max_len: u32) -> Result<(), String> {
    if !iblt::valid_cells(u64::from(cells)) {
        return Err(IbltError::BadSize(u64::from(cells)).to_string());
    }
    if len > u64::from(max_len) || u64::from(from) + len > u64::from(cells) {
        return Err(format!(
            "cells {from} .. {from} + {len} of a table of {cells} (at most {max_len} per message)"
        ));
    }
    Ok(())
}

/// Exact sizes of a received sketch.
pub fn check_sketch(strata: &[u8], cells: &[u8]) -> Result<(), String> {
    if strata.len() != STRATA_BYTES || cells.len() != SKETCH_CELLS * CELL_BYTES {
        return Err(format!(
            "sketch of {} + {} bytes, want {STRATA_BYTES} + {}",
            strata.len(),
            cells.len(),
            SKETCH_CELLS * CELL_BYTES
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordHash;
    use crate::sync::tests_support::item;

    /// One IBLT session between two in-memory sets: (phases, a lacks, b lacks).
    fn session(a: &[Item], b: &[Item]) -> (u32, Vec<RecordHash>, Vec<RecordHash>) {
        let s = sketch(a);
        check_sketch(&s.strata, &s.cells).unwrap();
        let mut out = match answer_sketch(s.count, &s.strata, &s.cells, b).unwrap() {
            SketchAnswer::Diff(o) => {
                let mut o = o;
                // The responder's view: swap to the initiator's.
                std::mem::swap(&mut o.they_lack, &mut o.i_lack);
                (1, o)
            }
            SketchAnswer::Table(mut cells) => {
                let mut phases = 1;
                loop {
                    let t = Iblt::of(cells as usize, b).unwrap();
                    match read_table(&t, a) {
                        Ok(o) => break (phases, o),
                        Err(_) => {
                            phases += 1;
                            cells = retry_cells(cells).expect("peels within the bound");
                        }
                    }
                }
            }
        };
        out.1.i_lack.sort();
        out.1.they_lack.sort();
        (out.0, out.1.i_lack, out.1.they_lack)
    }

    #[test]
    fn small_differences_are_found_by_the_responder() {
        let base: Vec<Item> = (0..20_000).map(|n| item(n, 1)).collect();
        let mut a = base.clone();
        let mut b = base;
        a.push(item(1_000_001, 1));
        b.push(item(2_000_002, 1));
        a[7] = item(7, 2); // A has the newer version of 7
        b[9] = item(9, 3); // B has the newer version of 9
        let s = sketch(&a);
        let SketchAnswer::Diff(o) = answer_sketch(s.count, &s.strata, &s.cells, &b).unwrap() else {
            panic!("4 differences must peel in the sketch");
        };
        let mut b_lacks = o.i_lack;
        b_lacks.sort();
        let mut want = vec![
            RecordHash(item(1_000_001, 1).hash),
            RecordHash(item(7, 2).hash),
        ];
        want.sort();
        assert_eq!(b_lacks, want);
        let (phases, a_lacks, b_lacks2) = session(&a, &b);
        assert_eq!((phases, b_lacks2), (1, want));
        let mut want_a = vec![
            RecordHash(item(2_000_002, 1).hash),
            RecordHash(item(9, 3).hash),
        ];
        want_a.sort();
        assert_eq!(a_lacks, want_a);
    }

    #[test]
    fn larger_differences_go_through_a_sized_table() {
        let a: Vec<Item> = (0..20_000).map(|n| item(n, 1)).collect();
        let b: Vec<Item> = (300..20_500).map(|n| item(n, 1)).collect();
        let s = sketch(&a);
        let answer = answer_sketch(s.count, &s.strata, &s.cells, &b).unwrap();
        let SketchAnswer::Table(cells) = answer else {
            panic!("800 differences cannot peel in 30 cells");
        };
        assert!((600..=6000).contains(&cells), "{cells} cells for 800");
        let (phases, a_lacks, b_lacks) = session(&a, &b);
        assert!(phases <= 2, "{phases}");
        assert_eq!((a_lacks.len(), b_lacks.len()), (500, 300));
    }

    #[test]
    fn bounds_of_received_tables_and_sketches() {
        assert!(check_table(300, 0, 300, 2891).is_ok());
        assert!(check_table(300, 200, 101, 2891).is_err());
        assert!(check_table(301, 0, 1, 2891).is_err());
        assert!(check_table(MAX_TABLE_CELLS + 3, 0, 1, 2891).is_err());
        assert!(check_table(30_000, 0, 3000, 2891).is_err());
        assert!(check_sketch(&[0; STRATA_BYTES], &[0; 10]).is_err());
        assert!(answer_sketch(1, &[0; 10], &[0; SKETCH_CELLS * CELL_BYTES], &[]).is_err());
        assert_eq!(retry_cells(30), Some(120));
        assert_eq!(retry_cells(MAX_TABLE_CELLS), None);
        assert_eq!(cells_per_message(196_608), 2891);
    }
}
