//! cargo-fuzz target: see `techmesh_fuzz::sssom_parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| techmesh_fuzz::sssom_parse(data));
