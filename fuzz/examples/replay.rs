//! Runs one target's checks over files or directories without libFuzzer (stable
//! toolchain): `cargo run --example replay -- TARGET PATH...`. Used to replay a
//! crash artifact or a whole corpus; a failing input panics with its message.

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("usage: replay TARGET PATH...");
    let check: fn(&[u8]) = match target.as_str() {
        "record_verify" => techmesh_fuzz::record_verify,
        "sync_messages" => techmesh_fuzz::sync_messages,
        "query_messages" => techmesh_fuzz::query_messages,
        "config_files" => techmesh_fuzz::config_files,
        "jsonl_import" => techmesh_fuzz::jsonl_import,
        "sssom_parse" => techmesh_fuzz::sssom_parse,
        other => panic!("unknown target {other:?}"),
    };
    let mut n = 0;
    for path in args.map(std::path::PathBuf::from) {
        let files: Vec<std::path::PathBuf> = if path.is_dir() {
            std::fs::read_dir(&path)
                .expect("reading a corpus dir")
                .map(|e| e.expect("corpus entry").path())
                .collect()
        } else {
            vec![path]
        };
        for f in files {
            println!("{}", f.display());
            check(&std::fs::read(&f).expect("reading an input"));
            n += 1;
        }
    }
    println!("{target}: {n} input(s) passed");
}
