//! ipvsadm 1.31's `parse_options()` + `process_options()` checks, producing a
//! [`Command`] instead of calling libipvs. The state below mirrors
//! `struct ipvs_command_entry` so order-dependent quirks (`-M` before or after
//! an IPv6 `-t`, `-6` only after `-f`, `-r` copying the service port...) match.

use super::addr::{atoi, inet_aton, parse_service, pton6, SvcAddr, SERVICE_ADDR};
use super::check::*;
use super::model::*;
use super::options::*;
use super::popt::Popt;
use super::UsageError;
use rvs_core::service::ipv4_mask_prefix;
use std::net::IpAddr;

/// Schedulers rvs knows (the kernel's list; ipvsadm leaves the check to it).
pub const SCHEDULERS: &[&str] =
    &["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"];

/// Persistence engines rvs knows.
const PERSISTENCE_ENGINES: &[&str] = &["sip"];

/// ipvsadm's limit on -p and --set timeouts: 31 days.
pub(crate) const MAX_TIMEOUT: i64 = 86400 * 31;
const DEF_MCAST_IFN: &str = "eth0";
/// libipvs's message for ENOENT from add/update service.
const SCHED_NOT_FOUND: &str = "Scheduler or persistence engine not found";
/// What rvs answers for a non-contiguous `-M` (IPVS would mask with it as given; rvs
/// keeps persistence granularity as a prefix length).
const BAD_NETMASK: &str = "illegal netmask specified";

/// `struct ipvs_command_entry` + the option bits and format flags.
struct Ce {
    cmd: Cmd,
    options: u64,
    // svc; `svc_v6` is ipvsadm's `ce.svc.af` (None = AF_UNSPEC)
    svc_v6: Option<bool>,
    proto: Option<Protocol>,
    svc: SvcAddr,
    fwmark: u32,
    sched: String,
    persistent: Option<u32>,
    pe: Option<String>,
    ops: bool,
    flags: SchedFlags,
    sched_flags_arg: String,
    synproxy: bool,
    proxy_protocol: Option<ProxyProtocol>,
    toa: bool,
    // dest
    dest_addr: Option<IpAddr>,
    dest_port: u16,
    dest: DestSpec,
    tunnel: TunnelOpts,
    // daemon
    daemon: DaemonSpec,
    laddr: Option<IpAddr>,
    format: ListFormat,
}

impl Ce {
    fn new(cmd: Cmd) -> Self {
        Ce {
            cmd,
            options: 0,
            svc_v6: None,
            proto: None,
            svc: SvcAddr { addr: None, port: 0, netmask: 0xffff_ffff },
            fwmark: 0,
            sched: String::new(),
            persistent: None,
            pe: None,
            ops: false,
            flags: SchedFlags::default(),
            sched_flags_arg: String::new(),
            synproxy: false,
            proxy_protocol: None,
            toa: false,
            dest_addr: None,
            dest_port: 0,
            dest: DestSpec::new(Addr::v4([0; 4]), 0),
            tunnel: TunnelOpts::default(),
            daemon: DaemonSpec {
                state: DaemonState::Master,
                mcast_ifn: String::new(),
                syncid: 0,
                sync_maxlen: 0,
                mcast_group: None,
                mcast_port: 0,
                mcast_ttl: 0,
            },
            laddr: None,
            format: ListFormat::default(),
        }
    }

    fn set(&mut self, optc: usize) -> Result<(), UsageError> {
        set_option(&mut self.options, optc)
    }

    fn set_forward(&mut self, m: FwdMethod) -> Result<(), UsageError> {
        self.set(OPTC_FORWARD)?;
        self.dest.fwd = m;
        Ok(())
    }

    /// One iteration of the `while (poptGetNextOpt() >= 0)` switch.
    fn handle(&mut self, tag: Tag, arg: Option<&str>, bad: &str) -> Result<(), UsageError> {
        let a = arg.unwrap_or("");
        match tag {
            Tag::Tcp | Tag::Udp | Tag::Sctp => {
                self.set(OPTC_SERVICE)?;
                let proto = match tag {
                    Tag::Tcp => Protocol::Tcp,
                    Tag::Udp => Protocol::Udp,
                    _ => Protocol::Sctp,
                };
                self.proto = Some(proto);
                let parsed = parse_service(a, proto.number(), &mut self.svc);
                if let Some(addr) = self.svc.addr {
                    self.svc_v6 = Some(addr.is_ipv6());
                }
                if parsed & SERVICE_ADDR == 0 {
                    return Err(UsageError::fail("illegal virtual server address[:port] specified"));
                }
            }
            Tag::Fwmark => {
                self.set(OPTC_SERVICE)?;
                self.svc_v6 = Some(false);
                self.proto = Some(Protocol::Tcp);
                self.fwmark = parse_fwmark(a)?;
            }
            Tag::Scheduler => {
                self.set(OPTC_SCHEDULER)?;
                self.sched = truncated(a, 15);
            }
            Tag::Persistent => {
                self.set(OPTC_PERSISTENT)?;
                self.persistent = Some(parse_timeout(arg, 1, MAX_TIMEOUT)?);
            }
            Tag::Netmask => {
                self.set(OPTC_NETMASK)?;
                if self.svc_v6 != Some(true) {
                    match inet_aton(a) {
                        Some(m) => self.svc.netmask = u32::from(m),
                        None => return Err(UsageError::fail("illegal virtual server persistent mask specified")),
                    }
                } else {
                    let m = atoi(a);
                    if !(1..=128).contains(&m) {
                        return Err(UsageError::fail("illegal ipv6 netmask specified"));
                    }
                    self.svc.netmask = m as u32;
                }
            }
            Tag::RealServer => {
                self.set(OPTC_SERVER)?;
                let mut t = self.svc;
                let proto = self.proto.map_or(0, Protocol::number);
                let parsed = parse_service(a, proto, &mut t);
                self.dest_addr = t.addr;
                self.dest_port = t.port;
                if parsed & SERVICE_ADDR == 0 {
                    return Err(UsageError::fail("illegal real server address[:port] specified"));
                }
                if parsed == SERVICE_ADDR {
                    self.dest_port = self.svc.port;
                }
            }
            Tag::Ipip => self.set_forward(FwdMethod::Tunnel)?,
            Tag::Gatewaying => self.set_forward(FwdMethod::Route)?,
            Tag::Masq => self.set_forward(FwdMethod::Masq)?,
            Tag::FullNat => self.set_forward(FwdMethod::FullNat)?,
            Tag::Weight => {
                self.set(OPTC_WEIGHT)?;
                self.dest.weight = number(a, 0, 65535, "weight")?;
            }
            Tag::UThreshold => {
                self.set(OPTC_UTHRESHOLD)?;
                self.dest.u_threshold = number(a, 0, i64::from(i32::MAX), "u_threshold")?;
            }
            Tag::LThreshold => {
                self.set(OPTC_LTHRESHOLD)?;
                self.dest.l_threshold = number(a, 0, i64::from(i32::MAX), "l_threshold")?;
            }
            Tag::Connection => self.set(OPTC_CONNECTION)?,
            Tag::Numeric => {
                self.set(OPTC_NUMERIC)?;
                self.format.numeric = true;
            }
            Tag::McastInterface => {
                self.set(OPTC_MCAST)?;
                self.daemon.mcast_ifn = truncated(a, 15);
            }
            Tag::SyncId => {
                self.set(OPTC_SYNCID)?;
                self.daemon.syncid = number(a, 0, 255, "syncid")?;
            }
            Tag::Timeout => self.set(OPTC_TIMEOUT)?,
            Tag::Daemon => self.set(OPTC_DAEMON)?,
            Tag::Stats => {
                self.set(OPTC_STATS)?;
                self.format.stats = true;
            }
            Tag::Rate => {
                self.set(OPTC_RATE)?;
                self.format.rate = true;
            }
            Tag::Thresholds => {
                self.set(OPTC_THRESHOLDS)?;
                self.format.thresholds = true;
            }
            Tag::PersistentConn => {
                self.set(OPTC_PERSISTENTCONN)?;
                self.format.persistent_conn = true;
            }
            Tag::NoSort => {
                self.set(OPTC_NOSORT)?;
                self.format.nosort = true;
            }
            Tag::Sort => {} // "does nothing, for backwards compatibility"
            Tag::Exact => {
                self.set(OPTC_EXACT)?;
                self.format.exact = true;
            }
            Tag::Ipv6 => {
                if self.fwmark == 0 {
                    return Err(UsageError::fail("-6 used before -f\n"));
                }
                self.svc_v6 = Some(true);
                self.svc.netmask = 128;
            }
            Tag::Ops => {
                self.set(OPTC_ONEPACKET)?;
                self.ops = true;
            }
            Tag::Pe => {
                self.set(OPTC_PERSISTENCE_ENGINE)?;
                self.pe = Some(truncated(a, 32));
            }
            Tag::SchedFlags => {
                self.set(OPTC_SCHED_FLAGS)?;
                self.sched_flags_arg = truncated(a, 127);
            }
            Tag::McastGroup => {
                self.set(OPTC_MCAST_GROUP)?;
                self.daemon.mcast_group = Some(parse_mcast_group(a)?);
            }
            Tag::McastPort => {
                self.set(OPTC_MCAST_PORT)?;
                self.daemon.mcast_port = number(a, 1, 65535, "mcast-port")? as u16;
            }
            Tag::McastTtl => {
                self.set(OPTC_MCAST_TTL)?;
                self.daemon.mcast_ttl = number(a, 1, 255, "mcast-ttl")?;
            }
            Tag::SyncMaxlen => {
                self.set(OPTC_SYNC_MAXLEN)?;
                self.daemon.sync_maxlen = number(a, 1, 65535 - 20 - 8, "sync-maxlen")?;
            }
            Tag::TunInfo => {
                self.set(OPTC_TUN_INFO)?;
                self.format.tun_info = true;
            }
            Tag::TunType => {
                self.set(OPTC_TUN_TYPE)?;
                self.tunnel.tun_type = match a {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    _ => return Err(UsageError::fail("illegal tunnel type specified")),
                };
            }
            Tag::TunPort => {
                self.set(OPTC_TUN_PORT)?;
                self.tunnel.tun_port = number(a, 1, 65535, "tunnel port")? as u16;
            }
            Tag::TunNocsum => {
                self.set(OPTC_TUN_NOCSUM)?;
                self.tunnel.tun_csum = TunnelCsum::NoCsum;
            }
            Tag::TunCsum => {
                self.set(OPTC_TUN_CSUM)?;
                self.tunnel.tun_csum = TunnelCsum::Csum;
            }
            Tag::TunRemcsum => {
                self.set(OPTC_TUN_REMCSUM)?;
                self.tunnel.tun_csum = TunnelCsum::RemCsum;
            }
            // DPVS's `-j enable|disable`; rvs's `--synproxy` alone enables.
            Tag::Synproxy => {
                self.set(OPTC_SYNPROXY)?;
                self.synproxy = match arg {
                    None | Some("enable") => true,
                    Some("disable") => false,
                    Some(_) => return Err(UsageError::fail("synproxy switch must be enable or disable")),
                };
            }
            Tag::ProxyProtocol => {
                self.set(OPTC_PROXY_PROTOCOL)?;
                self.proxy_protocol = Some(match a {
                    "v1" => ProxyProtocol::V1,
                    "v2" => ProxyProtocol::V2,
                    _ => return Err(UsageError::fail("illegal proxy-protocol version specified")),
                });
            }
            Tag::Toa => {
                self.set(OPTC_TOA)?;
                self.toa = true;
            }
            Tag::Laddr => {
                self.set(OPTC_LADDR)?;
                let addr = pton6(a).map(IpAddr::V6).or_else(|| inet_aton(a).map(IpAddr::V4));
                self.laddr = Some(addr.ok_or_else(|| UsageError::fail("illegal local address specified"))?);
            }
            Tag::Cmd(_) | Tag::Help | Tag::Version => {
                return Err(UsageError::fail(format!("invalid option `{bad}'")));
            }
        }
        Ok(())
    }

    /// `generic_opt_check()`.
    fn key(&self) -> Result<ServiceKey, UsageError> {
        if self.fwmark != 0 {
            return Ok(ServiceKey::Fwmark { mark: self.fwmark, v6: self.svc_v6 == Some(true) });
        }
        match (self.proto, self.svc.addr) {
            (Some(proto), Some(addr)) => Ok(ServiceKey::Proto { proto, addr: Addr::from(addr), port: self.svc.port }),
            _ => Err(UsageError::try_help()),
        }
    }

    fn opt_key(&self) -> Result<Option<ServiceKey>, UsageError> {
        if has(self.options, OPTC_SERVICE) {
            self.key().map(Some)
        } else {
            Ok(None)
        }
    }

    /// `-p` and `-M` as core's persistence: ipvsadm's netmask (a host-order IPv4 mask,
    /// or an IPv6 prefix length) becomes a prefix length; `-M` without `-p` is unused.
    fn persistence(&self, v6: bool) -> Result<Option<Persistence>, UsageError> {
        let Some(timeout_s) = self.persistent else {
            return Ok(None);
        };
        let prefix = if v6 {
            u8::try_from(self.svc.netmask).ok()
        } else {
            ipv4_mask_prefix(self.svc.netmask.to_be_bytes()).ok()
        };
        let prefix = prefix.ok_or_else(|| UsageError::kernel(BAD_NETMASK))?;
        Ok(Some(Persistence { timeout_s, prefix }))
    }

    fn service_spec(&self) -> Result<(ServiceSpec, ServiceExt), UsageError> {
        let key = self.key()?;
        let spec = ServiceSpec {
            key,
            scheduler: self.sched.clone(),
            flags: self.flags,
            persistence: self.persistence(key.is_v6())?,
            one_packet: self.ops,
            proxy_protocol: self.proxy_protocol,
            toa: self.toa,
            synproxy: self.synproxy,
        };
        let ext = ServiceExt { pe: self.pe.clone() };
        Ok((spec, ext))
    }

    fn dest_spec(&self) -> Result<DestSpec, UsageError> {
        let addr = self.dest_addr.ok_or_else(UsageError::try_help)?;
        Ok(DestSpec { addr: Addr::from(addr), port: self.dest_port, ..self.dest })
    }

    fn laddr(&self) -> Result<IpAddr, UsageError> {
        self.laddr.ok_or_else(UsageError::try_help)
    }
}

/// Parse one rvsadm command line (arguments after the program name) as
/// ipvsadm 1.31 does. No arguments at all means `-L`.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    if args.is_empty() {
        return Ok(Command::List(ListSpec::default()));
    }
    let mut p = Popt::new(OPTIONS, args);
    // The first option must be a command (or -h / -v).
    let (tag, arg) = match p.next_opt() {
        Ok(Some(x)) => x,
        _ => return Err(UsageError::try_help()),
    };
    let cmd = match tag {
        Tag::Cmd(c) => c,
        Tag::Help => return Ok(Command::Help),
        Tag::Version => return Ok(Command::Version),
        _ => return Err(UsageError::try_help()),
    };
    let mut ce = Ce::new(cmd);
    if let (Cmd::StartDaemon | Cmd::StopDaemon, Some(a)) = (cmd, arg) {
        {
            ce.daemon.state = match a {
                "master" => DaemonState::Master,
                "backup" => DaemonState::Backup,
                _ if cmd == Cmd::StartDaemon => {
                    return Err(UsageError::fail("illegal start-daemon parameter specified"))
                }
                _ => return Err(UsageError::fail("illegal start_daemon specified")),
            }
        }
    }
    loop {
        match p.next_opt() {
            Ok(None) => break,
            Ok(Some((tag, arg))) => {
                let bad = p.bad_option();
                ce.handle(tag, arg, bad)?;
            }
            Err(e) => return Err(UsageError::popt(p.bad_option(), e)),
        }
    }
    let mut timeouts = Timeouts::default();
    if ce.cmd == Cmd::Timeout {
        match (p.get_arg(), p.get_arg(), p.get_arg()) {
            (Some(a), Some(b), Some(c)) => {
                timeouts.tcp = parse_timeout(Some(a), 0, MAX_TIMEOUT)?;
                timeouts.tcpfin = parse_timeout(Some(b), 0, MAX_TIMEOUT)?;
                timeouts.udp = parse_timeout(Some(c), 0, MAX_TIMEOUT)?;
            }
            _ => return Err(UsageError::fail("--set option requires 3 timeout values")),
        }
    }
    if let Some(extra) = p.get_arg() {
        return Err(UsageError::fail(format!("unexpected argument {extra}")));
    }
    if !ce.sched_flags_arg.is_empty() {
        ce.flags = parse_sched_flags(&ce.sched, &ce.sched_flags_arg)?;
    }
    generic_opt_check(ce.cmd, ce.options)?;
    finish(ce, timeouts)
}

/// The rest of `process_options()`: per-command checks, then the command.
fn finish(mut ce: Ce, timeouts: Timeouts) -> Result<Command, UsageError> {
    let opts = ce.options;
    if matches!(ce.cmd, Cmd::Add | Cmd::Edit) {
        if ce.fwmark == 0 && ce.svc.port == 0 && ce.persistent.is_none() {
            return Err(UsageError::fail("Zero port specified for non-persistent service"));
        }
        if ce.ops && ce.fwmark == 0 && ce.proto != Some(Protocol::Udp) {
            return Err(UsageError::fail("One-Packet Scheduling is only for UDP virtual services"));
        }
        if ce.sched.is_empty() {
            ce.sched = DEF_SCHED.to_string();
        }
    }
    if ce.cmd == Cmd::StartDaemon && ce.daemon.mcast_ifn.is_empty() {
        ce.daemon.mcast_ifn = DEF_MCAST_IFN.to_string();
    }
    if matches!(ce.cmd, Cmd::AddDest | Cmd::EditDest) {
        let m = ce.dest.fwd;
        if ce.fwmark == 0 && matches!(m, FwdMethod::Tunnel | FwdMethod::Route) {
            ce.dest_port = ce.svc.port;
        }
        let dest_v6 = ce.dest_addr.as_ref().map(IpAddr::is_ipv6);
        if dest_v6 != ce.svc_v6 && m != FwdMethod::Tunnel {
            return Err(UsageError::fail("Different address family is allowed only for tunneling servers"));
        }
        let tun_opts = [OPTC_TUN_TYPE, OPTC_TUN_PORT, OPTC_TUN_NOCSUM, OPTC_TUN_CSUM, OPTC_TUN_REMCSUM];
        if tun_opts.iter().any(|o| has(opts, *o)) && m != FwdMethod::Tunnel {
            return Err(UsageError::fail("Tunnel options conflict with forward method"));
        }
        tunnel_opt_check(ce.tunnel.tun_type, opts)?;
    }
    if ce.cmd == Cmd::List {
        let any = |list: &[usize]| list.iter().any(|o| has(opts, *o));
        if (any(&[OPTC_CONNECTION, OPTC_TIMEOUT, OPTC_DAEMON]) && any(&[OPTC_STATS, OPTC_RATE, OPTC_THRESHOLDS]))
            || (any(&[OPTC_TIMEOUT, OPTC_DAEMON]) && has(opts, OPTC_PERSISTENTCONN))
        {
            return Err(UsageError::fail("options conflicts in the list command"));
        }
    }
    // What the kernel would refuse with ENOENT (ipvs_add/update_service).
    if matches!(ce.cmd, Cmd::Add | Cmd::Edit) {
        let pe_ok = !matches!(ce.pe.as_deref(), Some(p) if !PERSISTENCE_ENGINES.contains(&p));
        if !SCHEDULERS.contains(&ce.sched.as_str()) || !pe_ok {
            return Err(UsageError::kernel(SCHED_NOT_FOUND));
        }
    }
    Ok(match ce.cmd {
        Cmd::Add => {
            let (spec, ext) = ce.service_spec()?;
            Command::AddService(spec, ext)
        }
        Cmd::Edit => {
            let (spec, ext) = ce.service_spec()?;
            Command::EditService(spec, ext)
        }
        Cmd::Del => Command::DeleteService(ce.key()?),
        Cmd::Flush => Command::Clear,
        Cmd::List => {
            let target = if has(opts, OPTC_CONNECTION) {
                ListTarget::Connections
            } else if let Some(k) = ce.opt_key()? {
                ListTarget::Service(k)
            } else if has(opts, OPTC_TIMEOUT) {
                ListTarget::Timeout
            } else if has(opts, OPTC_DAEMON) {
                ListTarget::Daemon
            } else {
                ListTarget::All
            };
            Command::List(ListSpec { target, format: ce.format })
        }
        Cmd::AddDest => Command::AddServer { service: ce.key()?, dest: ce.dest_spec()?, tunnel: ce.tunnel },
        Cmd::EditDest => Command::EditServer { service: ce.key()?, dest: ce.dest_spec()?, tunnel: ce.tunnel },
        Cmd::DelDest => {
            let d = ce.dest_spec()?;
            Command::DeleteServer { service: ce.key()?, addr: d.addr, port: d.port }
        }
        Cmd::Timeout => Command::SetTimeouts(timeouts),
        Cmd::StartDaemon => Command::StartDaemon(ce.daemon.clone()),
        Cmd::StopDaemon => Command::StopDaemon(ce.daemon.clone()),
        Cmd::Restore => Command::Restore,
        Cmd::Save => Command::Save { numeric: ce.format.numeric },
        Cmd::Zero => Command::Zero(ce.opt_key()?),
        Cmd::AddLaddr => Command::AddLaddr { service: ce.key()?, laddr: ce.laddr()? },
        Cmd::DelLaddr => Command::DelLaddr { service: ce.key()?, laddr: ce.laddr()? },
        Cmd::GetLaddr => Command::GetLaddr { service: ce.key()? },
    })
}
