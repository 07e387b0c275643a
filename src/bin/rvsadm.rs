//! rvsadm: administer rvsd as ipvsadm administers IPVS: the same commands, options,
//! messages, exit codes and byte-identical listings. Scripts written for ipvsadm run
//! unchanged with the program name swapped.
//!
//! Command lines are checked here first, so a bad one gets ipvsadm's usage text even
//! when rvsd is down; then rvsd executes it (socket: $RVSADM_SOCKET, default
//! /run/rvs/rvsd.sock).
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::process::ExitCode;

use control::admin::{socket, Request};
use control::ipvsadm::{self, Command};

fn exit(code: i32) -> ExitCode {
    ExitCode::from((code & 0xff) as u8)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // rvs's own VIP commands (not ipvsadm's): checked here too, then rvsd runs them.
    match control::admin::vip::parse(&args) {
        Some(Err(usage)) => {
            eprint!("{usage}");
            return exit(2);
        }
        Some(Ok(_)) => return call(args, None),
        None => {}
    }
    // rvs's packet capture: rvsd writes the file, so a relative path is made ours.
    match control::capture::request::parse(&args) {
        Some(Err(usage)) => {
            eprint!("{usage}");
            return exit(2);
        }
        Some(Ok(_)) => {
            let cwd = std::env::current_dir().unwrap_or_default();
            return call(control::capture::request::absolute_file(&args, &cwd), None);
        }
        None => {}
    }
    let cmd = match ipvsadm::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{}", e.message);
            return exit(e.exit_code);
        }
    };
    // An SCTP or fwmark service is refused here too, so without rvsd as well.
    if let Err(e) = cmd.check_forwardable() {
        eprint!("{}", e.message);
        return exit(e.exit_code);
    }
    match cmd {
        Command::Help => {
            print!("{}", ipvsadm::usage_text());
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("{}", ipvsadm::version_line());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let stdin = if matches!(cmd, Command::Restore) {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("rvsadm: reading the rules from standard input: {e}");
            return exit(2);
        }
        Some(text)
    } else {
        None
    };
    call(args, stdin)
}

fn call(args: Vec<String>, stdin: Option<String>) -> ExitCode {
    match socket::call(&socket::default_path(), &Request { args, stdin }) {
        Ok(r) => {
            let _ = std::io::stdout().write_all(r.stdout.as_bytes());
            let _ = std::io::stderr().write_all(r.stderr.as_bytes());
            exit(r.code)
        }
        Err(e) => {
            eprintln!("rvsadm: {e}");
            exit(2)
        }
    }
}
