//! cargo-fuzz target: see `techmesh_fuzz::jsonl_import`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| techmesh_fuzz::jsonl_import(data));
