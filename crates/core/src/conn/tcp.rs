//! TCP state machine and protocol timeouts as ip_vs_proto_tcp.c / ip_vs_proto_udp.c.

/// IP_VS_TCP_S_* in kernel order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[repr(u8)]
pub enum TcpState {
    None = 0,
    Established,
    SynSent,
    SynRecv,
    FinWait,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Synack,
}

pub const TCP_STATES: usize = 11;

impl TcpState {
    pub const ALL: [TcpState; TCP_STATES] = [
        TcpState::None,
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::Synack,
    ];

    pub fn from_u8(v: u8) -> TcpState {
        Self::ALL.get(usize::from(v)).copied().unwrap_or(TcpState::Close)
    }

    /// tcp_state_name_table (as ipvsadm -L -c prints it).
    pub const fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Synack => "SYNACK",
        }
    }

    /// tcp_state_active_table: counted in ActiveConn.
    pub const fn is_active(self) -> bool {
        matches!(self, TcpState::Established | TcpState::SynSent | TcpState::SynRecv | TcpState::Synack)
    }
}

/// Packet direction relative to the connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    /// Client -> director (IP_VS_DIR_INPUT).
    In,
    /// Real server -> director (IP_VS_DIR_OUTPUT), NAT/FullNAT replies.
    Out,
}

/// TCP header flag bits as on the wire (byte 13).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
    pub const fn syn() -> TcpFlags {
        TcpFlags(Self::SYN)
    }
    pub const fn ack() -> TcpFlags {
        TcpFlags(Self::ACK)
    }
    pub const fn syn_ack() -> TcpFlags {
        TcpFlags(Self::SYN | Self::ACK)
    }
    pub const fn fin_ack() -> TcpFlags {
        TcpFlags(Self::FIN | Self::ACK)
    }
    pub const fn rst() -> TcpFlags {
        TcpFlags(Self::RST)
    }
    /// tcp_state_idx: rst > syn > fin > ack; none of them -> None.
    fn index(self) -> Option<usize> {
        if self.0 & Self::RST != 0 {
            Some(3)
        } else if self.0 & Self::SYN != 0 {
            Some(0)
        } else if self.0 & Self::FIN != 0 {
            Some(1)
        } else if self.0 & Self::ACK != 0 {
            Some(2)
        } else {
            None
        }
    }
}

use TcpState::{
    Close as CL, CloseWait as CW, Established as ES, FinWait as FW, LastAck as LA, Listen as LI, SynRecv as SR,
    SynSent as SS, TimeWait as TW,
};

/// tcp_states[]: INPUT, OUTPUT, INPUT-ONLY blocks of syn/fin/ack/rst rows.
const TABLE: [[TcpState; TCP_STATES]; 12] = [
    // INPUT     sNO sES sSS sSR sFW sTW sCL sCW sLA sLI sSA
    /*syn*/
    [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
    /*fin*/ [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW],
    /*ack*/ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
    /*rst*/ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR],
    // OUTPUT
    /*syn*/ [SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR],
    /*fin*/ [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
    /*ack*/ [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
    /*rst*/ [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL],
    // INPUT-ONLY
    /*syn*/ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
    /*fin*/ [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
    /*ack*/ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
    /*rst*/ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL],
];

/// set_tcp_state's lookup: `input_only` is IP_VS_CONN_F_NOOUTPUT on an input packet.
/// A packet with none of SYN/FIN/ACK/RST moves the conn to CLOSE, as the kernel does.
pub fn next_state(cur: TcpState, dir: Dir, input_only: bool, flags: TcpFlags) -> TcpState {
    let Some(idx) = flags.index() else { return TcpState::Close };
    let off = match (dir, input_only) {
        (Dir::Out, _) => 4,
        (Dir::In, true) => 8,
        (Dir::In, false) => 0,
    };
    TABLE.get(off + idx).and_then(|row| row.get(cur as usize)).copied().unwrap_or(TcpState::Close)
}

/// Protocol timeouts in seconds (tcp_timeouts[], udp_timeouts[]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Timeouts {
    pub tcp: [u32; TCP_STATES],
    pub udp: u32,
    /// SCTP is tracked with one timeout (no SCTP state machine yet).
    pub sctp: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            // NONE 2, ESTABLISHED 900, SYN_SENT 120, SYN_RECV 60, FIN_WAIT 120, TIME_WAIT 120,
            // CLOSE 10, CLOSE_WAIT 60, LAST_ACK 30, LISTEN 120, SYNACK 120.
            tcp: [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120],
            udp: 300,
            sctp: 900,
        }
    }
}

impl Timeouts {
    /// `ipvsadm --set tcp tcpfin udp`: ESTABLISHED, FIN_WAIT, UDP; 0 keeps the value.
    pub fn set(&mut self, tcp: u32, tcpfin: u32, udp: u32) {
        if tcp != 0 {
            self.tcp[TcpState::Established as usize] = tcp;
        }
        if tcpfin != 0 {
            self.tcp[TcpState::FinWait as usize] = tcpfin;
        }
        if udp != 0 {
            self.udp = udp;
        }
    }
    /// `(tcp, tcpfin, udp)` as `ipvsadm -L --timeout` prints them.
    pub fn get(&self) -> (u32, u32, u32) {
        (self.tcp[TcpState::Established as usize], self.tcp[TcpState::FinWait as usize], self.udp)
    }
    pub fn tcp_state(&self, s: TcpState) -> u32 {
        self.tcp.get(s as usize).copied().unwrap_or(2)
    }
}
