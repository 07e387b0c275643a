//! ipvsadm 1.31's option table (`options_table[]` in `parse_options()`), its
//! command and option names (`cmdnames[]`, `optnames[]`) and the
//! `commands_v_options[][]` / `tunnel_types_v_options[][]` legality tables,
//! with rvs's extension columns and rows appended after ipvsadm's own.

use super::popt::{ArgKind, OptDef};

/// Commands, in `CMD_*` order (row index of `COMMANDS_V_OPTIONS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmd {
    Add = 0,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
    // rvs extensions
    AddLaddr,
    DelLaddr,
    GetLaddr,
}

/// `cmdnames[]` (+ rvs rows).
pub(crate) const CMD_NAMES: [&str; 17] = [
    "add-service",
    "edit-service",
    "delete-service",
    "flush",
    "list",
    "add-server",
    "delete-server",
    "edit-server",
    "set",
    "start-daemon",
    "stop-daemon",
    "restore",
    "save",
    "zero",
    "add-laddr",
    "del-laddr",
    "get-laddr",
];

// `OPTC_*` indices.
pub(crate) const OPTC_NUMERIC: usize = 0;
pub(crate) const OPTC_CONNECTION: usize = 1;
pub(crate) const OPTC_SERVICE: usize = 2;
pub(crate) const OPTC_SCHEDULER: usize = 3;
pub(crate) const OPTC_PERSISTENT: usize = 4;
pub(crate) const OPTC_NETMASK: usize = 5;
pub(crate) const OPTC_SERVER: usize = 6;
pub(crate) const OPTC_FORWARD: usize = 7;
pub(crate) const OPTC_WEIGHT: usize = 8;
pub(crate) const OPTC_UTHRESHOLD: usize = 9;
pub(crate) const OPTC_LTHRESHOLD: usize = 10;
pub(crate) const OPTC_MCAST: usize = 11;
pub(crate) const OPTC_TIMEOUT: usize = 12;
pub(crate) const OPTC_DAEMON: usize = 13;
pub(crate) const OPTC_STATS: usize = 14;
pub(crate) const OPTC_RATE: usize = 15;
pub(crate) const OPTC_THRESHOLDS: usize = 16;
pub(crate) const OPTC_PERSISTENTCONN: usize = 17;
pub(crate) const OPTC_NOSORT: usize = 18;
pub(crate) const OPTC_SYNCID: usize = 19;
pub(crate) const OPTC_EXACT: usize = 20;
pub(crate) const OPTC_ONEPACKET: usize = 21;
pub(crate) const OPTC_PERSISTENCE_ENGINE: usize = 22;
pub(crate) const OPTC_SCHED_FLAGS: usize = 23;
pub(crate) const OPTC_MCAST_GROUP: usize = 24;
pub(crate) const OPTC_MCAST_PORT: usize = 25;
pub(crate) const OPTC_MCAST_TTL: usize = 26;
pub(crate) const OPTC_SYNC_MAXLEN: usize = 27;
pub(crate) const OPTC_TUN_INFO: usize = 28;
pub(crate) const OPTC_TUN_TYPE: usize = 29;
pub(crate) const OPTC_TUN_PORT: usize = 30;
pub(crate) const OPTC_TUN_NOCSUM: usize = 31;
pub(crate) const OPTC_TUN_CSUM: usize = 32;
pub(crate) const OPTC_TUN_REMCSUM: usize = 33;
// rvs extensions
pub(crate) const OPTC_SYNPROXY: usize = 34;
pub(crate) const OPTC_PROXY_PROTOCOL: usize = 35;
pub(crate) const OPTC_TOA: usize = 36;
pub(crate) const OPTC_LADDR: usize = 37;
pub(crate) const NUMBER_OF_OPT: usize = 38;

/// `optnames[]` (+ rvs columns).
pub(crate) const OPT_NAMES: [&str; NUMBER_OF_OPT] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
    "synproxy",
    "proxy-protocol",
    "toa",
    "laddr",
];

/// `commands_v_options[][]`: '+' compulsory, 'x' illegal, '1' exclusive,
/// ' ' optional. The first 34 columns are ipvsadm 1.31's, verbatim:
///  -n -c svc -s -p -M -r fwd -w -x -y -mc tot dmn -st -rt thr -pc srt sid -ex
///  ops -pe -b grp port ttl size tinf type tprt nocs csum remc | syn pp toa laddr
pub(crate) const COMMANDS_V_OPTIONS: [&[u8; NUMBER_OF_OPT]; 17] = [
    /*ADD*/ b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx   x",
    /*EDIT*/ b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx   x",
    /*DEL*/ b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /*FLUSH*/ b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /*LIST*/ b" 11xxxxxxxxx11       xxxxxxx xxxxxxxxx",
    /*ADDSRV*/ b"xx+xxx+    xxxxxxxxxxxxxxxxxx     xxxx",
    /*DELSRV*/ b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /*EDITSRV*/ b"xx+xxx+    xxxxxxxxxxxxxxxxxx     xxxx",
    /*TIMEOUT*/ b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /*STARTD*/ b"xxxxxxxxxxx xxxxxxx xxxx    xxxxxxxxxx",
    /*STOPD*/ b"xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxxxxxx",
    /*RESTORE*/ b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /*SAVE*/ b" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /*ZERO*/ b"xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    /*ADDLADDR*/ b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx+",
    /*DELLADDR*/ b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx+",
    /*GETLADDR*/ b" x+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// `tunopts[]`: the option columns `tunnel_types_v_options` covers.
pub(crate) const TUN_OPTS: [usize; 4] = [OPTC_TUN_PORT, OPTC_TUN_NOCSUM, OPTC_TUN_CSUM, OPTC_TUN_REMCSUM];

/// `tunnel_types_v_options[][]` (rows ipip, gue, gre; columns `TUN_OPTS`).
pub(crate) const TUNNEL_TYPES_V_OPTIONS: [&[u8; 4]; 3] = [b"xxxx", b"+111", b"x111"];

/// Values `poptGetNextOpt()` returns (ipvsadm's option letters and `TAG_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tag {
    Cmd(Cmd),
    Help,
    Version,
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Scheduler,
    Persistent,
    Netmask,
    RealServer,
    Masq,
    Ipip,
    Gatewaying,
    Weight,
    UThreshold,
    LThreshold,
    Numeric,
    Connection,
    McastInterface,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
    // rvs extensions
    FullNat,
    Synproxy,
    ProxyProtocol,
    Toa,
    Laddr,
}

const fn o(long: &'static str, short: Option<char>, arg: ArgKind, tag: Tag) -> OptDef<Tag> {
    OptDef { long, short, arg, tag }
}

use ArgKind::{None as N, Optional as O, Required as R};

/// `options_table[]` of ipvsadm 1.31's `parse_options()`, then rvs's options.
pub(crate) static OPTIONS: &[OptDef<Tag>] = &[
    o("add-service", Some('A'), N, Tag::Cmd(Cmd::Add)),
    o("edit-service", Some('E'), N, Tag::Cmd(Cmd::Edit)),
    o("delete-service", Some('D'), N, Tag::Cmd(Cmd::Del)),
    o("clear", Some('C'), N, Tag::Cmd(Cmd::Flush)),
    o("list", Some('L'), N, Tag::Cmd(Cmd::List)),
    o("list", Some('l'), N, Tag::Cmd(Cmd::List)),
    o("zero", Some('Z'), N, Tag::Cmd(Cmd::Zero)),
    o("add-server", Some('a'), N, Tag::Cmd(Cmd::AddDest)),
    o("edit-server", Some('e'), N, Tag::Cmd(Cmd::EditDest)),
    o("delete-server", Some('d'), N, Tag::Cmd(Cmd::DelDest)),
    o("set", None, N, Tag::Cmd(Cmd::Timeout)),
    o("help", Some('h'), N, Tag::Help),
    o("version", Some('v'), N, Tag::Version),
    o("restore", Some('R'), N, Tag::Cmd(Cmd::Restore)),
    o("save", Some('S'), N, Tag::Cmd(Cmd::Save)),
    o("start-daemon", None, R, Tag::Cmd(Cmd::StartDaemon)),
    o("stop-daemon", None, R, Tag::Cmd(Cmd::StopDaemon)),
    o("tcp-service", Some('t'), R, Tag::Tcp),
    o("udp-service", Some('u'), R, Tag::Udp),
    o("sctp-service", None, R, Tag::Sctp),
    o("fwmark-service", Some('f'), R, Tag::Fwmark),
    o("scheduler", Some('s'), R, Tag::Scheduler),
    o("persistent", Some('p'), O, Tag::Persistent),
    o("netmask", Some('M'), R, Tag::Netmask),
    o("real-server", Some('r'), R, Tag::RealServer),
    o("masquerading", Some('m'), N, Tag::Masq),
    o("ipip", Some('i'), N, Tag::Ipip),
    o("gatewaying", Some('g'), N, Tag::Gatewaying),
    o("weight", Some('w'), R, Tag::Weight),
    o("u-threshold", Some('x'), R, Tag::UThreshold),
    o("l-threshold", Some('y'), R, Tag::LThreshold),
    o("numeric", Some('n'), N, Tag::Numeric),
    o("connection", Some('c'), N, Tag::Connection),
    o("mcast-interface", None, R, Tag::McastInterface),
    o("syncid", None, R, Tag::SyncId),
    o("timeout", None, N, Tag::Timeout),
    o("daemon", None, N, Tag::Daemon),
    o("stats", None, N, Tag::Stats),
    o("rate", None, N, Tag::Rate),
    o("thresholds", None, N, Tag::Thresholds),
    o("persistent-conn", None, N, Tag::PersistentConn),
    o("nosort", None, N, Tag::NoSort),
    o("sort", None, N, Tag::Sort),
    o("exact", Some('X'), N, Tag::Exact),
    o("ipv6", Some('6'), N, Tag::Ipv6),
    o("ops", Some('o'), N, Tag::Ops),
    o("pe", None, R, Tag::Pe),
    o("sched-flags", Some('b'), R, Tag::SchedFlags),
    o("mcast-group", None, R, Tag::McastGroup),
    o("mcast-port", None, R, Tag::McastPort),
    o("mcast-ttl", None, R, Tag::McastTtl),
    o("sync-maxlen", None, R, Tag::SyncMaxlen),
    o("tun-info", None, N, Tag::TunInfo),
    o("tun-type", None, R, Tag::TunType),
    o("tun-port", None, R, Tag::TunPort),
    o("tun-nocsum", None, N, Tag::TunNocsum),
    o("tun-csum", None, N, Tag::TunCsum),
    o("tun-remcsum", None, N, Tag::TunRemcsum),
    // rvs extensions: long options (plus DPVS's -z for the local address and -j for
    // the SYN proxy, letters ipvsadm has not), so no ipvsadm letter changes meaning.
    o("fullnat", None, N, Tag::FullNat),
    o("synproxy", Some('j'), O, Tag::Synproxy),
    o("proxy-protocol", None, R, Tag::ProxyProtocol),
    o("toa", None, N, Tag::Toa),
    o("add-laddr", None, N, Tag::Cmd(Cmd::AddLaddr)),
    o("del-laddr", None, N, Tag::Cmd(Cmd::DelLaddr)),
    o("get-laddr", None, N, Tag::Cmd(Cmd::GetLaddr)),
    o("laddr", Some('z'), R, Tag::Laddr),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_the_right_shape() {
        // Fixed-size arrays guarantee lengths; spot-check ipvsadm cells.
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::List as usize][OPTC_CONNECTION], b'1');
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::List as usize][OPTC_TUN_INFO], b' ');
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::List as usize][OPTC_ONEPACKET], b'x');
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::AddDest as usize][OPTC_TUN_REMCSUM], b' ');
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::AddDest as usize][OPTC_SYNPROXY], b'x');
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::StartDaemon as usize][OPTC_SYNC_MAXLEN], b' ');
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::StartDaemon as usize][OPTC_TUN_INFO], b'x');
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::Add as usize][OPTC_SCHED_FLAGS], b' ');
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::Add as usize][OPTC_MCAST_GROUP], b'x');
        assert_eq!(COMMANDS_V_OPTIONS[Cmd::Save as usize][OPTC_NUMERIC], b' ');
        for row in COMMANDS_V_OPTIONS {
            assert!(row.iter().all(|c| matches!(c, b'x' | b'+' | b'1' | b' ')));
        }
    }
}
