//! cargo-fuzz target: see `techmesh_fuzz::query_messages`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| techmesh_fuzz::query_messages(data));
