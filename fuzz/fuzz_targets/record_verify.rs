//! cargo-fuzz target: see `techmesh_fuzz::record_verify`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| techmesh_fuzz::record_verify(data));
