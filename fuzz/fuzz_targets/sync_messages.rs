//! cargo-fuzz target: see `techmesh_fuzz::sync_messages`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| techmesh_fuzz::sync_messages(data));
