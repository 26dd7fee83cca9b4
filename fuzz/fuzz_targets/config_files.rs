//! cargo-fuzz target: see `techmesh_fuzz::config_files`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| techmesh_fuzz::config_files(data));
