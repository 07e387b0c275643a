//! rvsadm's VIP commands, an rvs extension beside ipvsadm's (IPVS leaves addresses to
//! `ip addr`; DPVS has `dpip addr`): add and remove VIPs on the running director and
//! list them. Changes go through [`LiveNet`] to every worker.
//!
//! ```text
//! rvsadm --add-vip ADDRESS [--ifname PORT]
//! rvsadm --del-vip ADDRESS
//! rvsadm --list-vip
//! ```

use std::net::IpAddr;

use super::Response;
use crate::net::LiveNet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VipCommand {
    Add(IpAddr, Option<String>),
    Del(IpAddr),
    List,
}

pub const USAGE: &str =
    "Usage:\n  rvsadm --add-vip ADDRESS [--ifname PORT]\n  rvsadm --del-vip ADDRESS\n  rvsadm --list-vip\n";

/// `None` when `args` is not a VIP command (then it is ipvsadm's); else the command or
/// the usage error to print (exit status 2, as ipvsadm's usage errors).
pub fn parse(args: &[String]) -> Option<Result<VipCommand, String>> {
    let first = args.first()?.as_str();
    if !matches!(first, "--add-vip" | "--del-vip" | "--list-vip") {
        return None;
    }
    let addr = |s: Option<&String>| -> Result<IpAddr, String> {
        let s = s.ok_or_else(|| format!("{first} needs an address\n{USAGE}"))?;
        s.parse().map_err(|_| format!("{s} is not an IP address\n{USAGE}"))
    };
    Some(match (first, &args[1..]) {
        ("--list-vip", []) => Ok(VipCommand::List),
        ("--del-vip", [a]) => addr(Some(a)).map(VipCommand::Del),
        ("--add-vip", [a]) => addr(Some(a)).map(|a| VipCommand::Add(a, None)),
        ("--add-vip", [a, opt, port]) if matches!(opt.as_str(), "--ifname" | "-F") => {
            addr(Some(a)).map(|a| VipCommand::Add(a, Some(port.clone())))
        }
        _ => Err(format!("bad arguments for {first}\n{USAGE}")),
    })
}

pub fn execute(net: &LiveNet, cmd: VipCommand) -> Response {
    let done = match cmd {
        VipCommand::Add(a, port) => net.add_vip(a, port.as_deref()),
        VipCommand::Del(a) => net.del_vip(a),
        VipCommand::List => {
            let mut out = format!("{:<40} {:<12} {}\n", "VIP", "Port", "Origin");
            for (a, port, origin) in net.vips() {
                out.push_str(&format!("{:<40} {:<12} {}\n", a, port, origin.name()));
            }
            return Response::out(out);
        }
    };
    match done {
        Ok(()) => Response::default(),
        Err(m) => Response::err(m, 255),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_three_commands_and_leaves_ipvsadm_alone() {
        assert_eq!(parse(&args("-L -n")), None);
        assert_eq!(parse(&args("--list-vip")), Some(Ok(VipCommand::List)));
        assert_eq!(
            parse(&args("--add-vip 10.0.2.101")),
            Some(Ok(VipCommand::Add("10.0.2.101".parse().unwrap(), None)))
        );
        assert_eq!(
            parse(&args("--add-vip 2001:db8:2::101 --ifname wan")),
            Some(Ok(VipCommand::Add("2001:db8:2::101".parse().unwrap(), Some("wan".into()))))
        );
        assert_eq!(parse(&args("--del-vip 10.0.2.101")), Some(Ok(VipCommand::Del("10.0.2.101".parse().unwrap()))));
        for bad in ["--add-vip", "--add-vip x", "--del-vip 1.2.3.4 5", "--list-vip -n", "--add-vip 1.2.3.4 --port wan"]
        {
            let e = parse(&args(bad)).unwrap().unwrap_err();
            assert!(e.ends_with(USAGE), "{bad}: {e}");
        }
    }
}
