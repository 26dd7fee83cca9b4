//! The `techmesh` binary: parse the command line, run, exit with its status.

use clap::Parser;

fn main() {
    let cli = techmesh_node::cli::Cli::parse();
    techmesh_node::logging::init();
    match techmesh_node::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
