//! Packet views in the smoltcp `wire` style: each protocol is a typed view over a byte
//! buffer, built with `new_checked` (which verifies every length the accessors rely on),
//! after which accessors cannot panic. One module per protocol (its `Repr` in `repr.rs`
//! where the module is a directory).
//!
//! Building: each header rvs constructs has a `Repr` (smoltcp's build side): the fields
//! as plain values, `parse(&view)` to read them (validating what the repr implies) and
//! `emit(&mut view)` to write them, never panicking on a short buffer. [`frame`] puts
//! whole ARP, ICMPv4 and ICMPv6 (NDP included) frames together from them.
//!
//! Conventions shared by every view:
//! - `new_unchecked(buf)` wraps without looking; accessors may then panic on a short
//!   buffer. Use it only on bytes you have just validated or are about to fill.
//! - `new_checked(buf)` verifies every length (and the fields those lengths come from)
//!   so that no getter or setter can index out of bounds afterwards.
//! - getters need `T: AsRef<[u8]>`, setters `T: AsRef<[u8]> + AsMut<[u8]>`; all
//!   multi-byte fields are big-endian (network order).
//! - checksums: `fill_checksum` computes in full, `verify_checksum` checks; NAT paths
//!   use `rewrite_*` / `update_checksum*` (RFC 1624 incremental updates, see
//!   [`checksum`]). TCP/UDP take the pseudo-header addresses as `&Ipv4Addr` or
//!   `&Ipv6Addr` (trait [`checksum::PseudoHeader`]).
//!
//! | module | protocol |
//! |---|---|
//! | [`ethernet`] | Ethernet II, 802.1Q tag ([`VlanTag`]), `l3_offset` past up to two tags |
//! | [`arp`] | ARP for IPv4 over Ethernet |
//! | [`ipv4`] | IPv4 header, options, fragments; TTL and address rewrites |
//! | [`ipv6`] | IPv6 header and the extension-header walk to the upper layer |
//! | [`tcp`] | TCP header, options parser/writer, MSS clamp, port/seq rewrites |
//! | [`udp`] | UDP |
//! | [`icmpv4`], [`icmpv6`] | ICMP, quoted packets of errors, next-hop / PTB MTU, NDP |
//! | [`ipip`] | IPv4-in-IPv4 encapsulation and decapsulation over a [`PacketBuf`] |
//! | [`ip6tnl`] | IPv6-in-IPv6 (RFC 2473) encapsulation and decapsulation |
//! | [`ipvs_sync`] | IPVS connection sync, protocol version 1 (Linux `ip_vs_sync.c`) |
//! | [`proxy_proto`] | HAProxy PROXY protocol v1 (text) and v2 (binary) headers |
//! | [`toa`] | DPVS's TOA TCP option (kind 254): parse, strip, insert with pruning |
//! | [`frame`] | whole ARP / ICMPv4 / ICMPv6 frames from `Repr`s |
//! | [`checksum`] | RFC 1071 sums, pseudo headers, RFC 1624 updates |
#![forbid(unsafe_code)]

pub mod buf;
pub mod checksum;
mod error;
mod field;

pub mod arp;
pub mod ethernet;
pub mod frame;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip6tnl;
pub mod ipip;
pub mod ipv4;
pub mod ipv6;
pub mod ipvs_sync;
pub mod proxy_proto;
pub mod tcp;
pub mod toa;
pub mod udp;

pub use buf::{PacketBuf, VecBuf};
pub use error::{Error, Result};

pub use arp::{arp_op, ArpPacket, ArpRepr};
pub use ethernet::{ethertype, EthernetAddress, EthernetFrame, EthernetRepr, VlanTag};
pub use icmpv4::{icmpv4_code, icmpv4_type, Icmpv4Packet, Icmpv4Repr};
pub use icmpv6::{icmpv6_code, icmpv6_type, Icmpv6Packet, Icmpv6Repr};
pub use ip6tnl::Ipv6TunnelEncap;
pub use ipip::IpipEncap;
pub use ipv4::{ip_proto, Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6ExtHeader, Ipv6ExtHeaders, Ipv6FragInfo, Ipv6FragmentHeader, Ipv6Packet, Ipv6Repr, Ipv6UpperLayer};
pub use ipvs_sync::{SyncConn, SyncConnRepr, SyncMessage, SyncMessageBuilder, SyncMessageRepr};
pub use proxy_proto::{ProxyAddrs, ProxyCommand, ProxyHeaderRepr, ProxyTransport, ProxyVersion};
pub use tcp::{tcp_flags, tcp_option_kind, SynOptions, TcpOption, TcpOptions, TcpPacket};
pub use toa::{ToaInsert, ToaRepr};
pub use udp::UdpPacket;
