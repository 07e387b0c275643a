//! `rvsadm --capture`: the command line (tcpdump's letters where ipvsadm has none for a
//! capture; after `--capture` they mean what tcpdump means).
//!
//! ```text
//! rvsadm --capture -i PORT|-t SERVICE|-u SERVICE -c COUNT -w FILE [-s SNAPLEN] [--timeout SECONDS]
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use rvs_core::capture::{DEFAULT_SNAPLEN, MAX_COUNT, MAX_SNAPLEN};
use rvs_core::service::ServiceKey;

use crate::ipvsadm::{self as ipv, Command, ListTarget};

pub const USAGE: &str = "Usage:\n  rvsadm --capture -i port|-t service-address|-u service-address -c count -w file [-s snaplen] [--timeout seconds]\n";

/// How long a capture runs at most unless asked, and at most when asked.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_TIMEOUT_SECS: u64 = 3600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A port, by its name in rvsd's configuration.
    Port(String),
    Service(ServiceKey),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureRequest {
    pub target: Target,
    pub count: u64,
    /// Written by rvsd: rvsadm makes a relative path absolute first.
    pub file: PathBuf,
    pub snaplen: u32,
    pub timeout: Duration,
}

fn number(opt: &str, v: &str, min: u64, max: u64) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{opt} {v}: a number from {min} to {max} is needed\n{USAGE}")),
    }
}

/// `-t`/`-u ADDRESS` parsed as ipvsadm parses a service address.
fn service(opt: &str, addr: &str) -> Result<ServiceKey, String> {
    let args = ["-L".to_string(), opt.to_string(), addr.to_string()];
    match ipv::parse(&args) {
        Ok(Command::List(spec)) => match spec.target {
            ListTarget::Service(key) => Ok(key),
            _ => Err(format!("{opt} {addr}: not a service address\n{USAGE}")),
        },
        Ok(_) => Err(format!("{opt} {addr}: not a service address\n{USAGE}")),
        Err(e) => Err(format!("{}{USAGE}", e.message)),
    }
}

/// `None` when `args` is not a capture command; else the request or the usage error to
/// print (exit status 2).
pub fn parse(args: &[String]) -> Option<Result<CaptureRequest, String>> {
    if args.first()? != "--capture" {
        return None;
    }
    Some(parse_options(&args[1..]))
}

fn parse_options(args: &[String]) -> Result<CaptureRequest, String> {
    let (mut target, mut count, mut file) = (None, None, None);
    let (mut snaplen, mut timeout) = (DEFAULT_SNAPLEN, DEFAULT_TIMEOUT);
    let mut it = args.iter();
    while let Some(opt) = it.next() {
        let opt = opt.as_str();
        let Some(v) = it.next() else {
            return Err(format!("option {opt} needs a value or is unknown\n{USAGE}"));
        };
        let set_target = |t: &mut Option<Target>, new: Target| {
            if t.is_some() {
                return Err(format!("one port or service only\n{USAGE}"));
            }
            *t = Some(new);
            Ok(())
        };
        match opt {
            "-i" | "--interface" => set_target(&mut target, Target::Port(v.clone()))?,
            "-t" | "--tcp-service" | "-u" | "--udp-service" => {
                set_target(&mut target, Target::Service(service(opt, v)?))?
            }
            "-c" | "--count" => count = Some(number(opt, v, 1, MAX_COUNT)?),
            "-w" | "--write" if !v.is_empty() => file = Some(PathBuf::from(v)),
            "-s" | "--snaplen" => snaplen = number(opt, v, 64, u64::from(MAX_SNAPLEN))? as u32,
            "--timeout" => timeout = Duration::from_secs(number(opt, v, 1, MAX_TIMEOUT_SECS)?),
            _ => return Err(format!("unknown option {opt} for --capture\n{USAGE}")),
        }
    }
    let target = target.ok_or_else(|| format!("--capture needs -i port, -t or -u service\n{USAGE}"))?;
    let count = count.ok_or_else(|| format!("--capture needs -c count\n{USAGE}"))?;
    let file = file.ok_or_else(|| format!("--capture needs -w file\n{USAGE}"))?;
    Ok(CaptureRequest { target, count, file, snaplen, timeout })
}

/// rvsadm's side: the `-w` file made absolute against `cwd` (rvsd writes it, elsewhere).
pub fn absolute_file(args: &[String], cwd: &Path) -> Vec<String> {
    let mut out = args.to_vec();
    let mut i = 1;
    while i + 1 < out.len() {
        if matches!(out[i].as_str(), "-w" | "--write") && Path::new(&out[i + 1]).is_relative() {
            out[i + 1] = cwd.join(&out[i + 1]).to_string_lossy().into_owned();
        }
        i += 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_core::addr::{Addr, Protocol};

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_ports_and_services_and_leaves_ipvsadm_alone() {
        assert_eq!(parse(&args("-L -n")), None);
        let r = parse(&args("--capture -i wan -c 10 -w /tmp/x.pcapng")).unwrap().unwrap();
        assert_eq!(r.target, Target::Port("wan".into()));
        assert_eq!((r.count, r.snaplen, r.timeout), (10, DEFAULT_SNAPLEN, DEFAULT_TIMEOUT));
        let r = parse(&args("--capture -t 10.0.2.100:80 --count 5 --write a.pcapng --snaplen 128 --timeout 3"))
            .unwrap()
            .unwrap();
        let key = ServiceKey::Proto {
            proto: Protocol::Tcp,
            addr: Addr::from(std::net::Ipv4Addr::new(10, 0, 2, 100)),
            port: 80,
        };
        assert_eq!(r.target, Target::Service(key));
        assert_eq!((r.count, r.snaplen, r.timeout.as_secs()), (5, 128, 3));
        assert!(parse(&args("--capture -u [2001:db8::1]:53 -c 1 -w f")).unwrap().is_ok());
    }

    #[test]
    fn bad_command_lines_get_the_usage() {
        for bad in [
            "--capture",
            "--capture -i wan -c 10",
            "--capture -i wan -w f",
            "--capture -c 10 -w f",
            "--capture -i wan -t 10.0.2.100:80 -c 1 -w f",
            "--capture -i wan -c 0 -w f",
            "--capture -i wan -c 100001 -w f",
            "--capture -i wan -c x -w f",
            "--capture -i wan -c 1 -w f -s 10",
            "--capture -i wan -c 1 -w f --timeout 0",
            "--capture -i wan -c 1 -w f -n",
            "--capture -i wan -c 1 -w f --bogus 1",
            "--capture -t nonsense:: -c 1 -w f",
        ] {
            let e = parse(&args(bad)).unwrap().unwrap_err();
            assert!(e.ends_with(USAGE), "{bad}: {e}");
        }
    }

    #[test]
    fn the_file_is_made_absolute() {
        let a = absolute_file(&args("--capture -i wan -w x.pcapng -c 1"), Path::new("/home/u"));
        assert_eq!(a, args("--capture -i wan -w /home/u/x.pcapng -c 1"));
        let a = absolute_file(&args("--capture -w /tmp/x"), Path::new("/home/u"));
        assert_eq!(a, args("--capture -w /tmp/x"));
    }
}
