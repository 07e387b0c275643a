//! `rvs-gen`: see the library's documentation and `rvs-gen --help`.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(rvs_gen::cli::main_with(std::env::args()));
}
