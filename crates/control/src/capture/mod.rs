//! Packet capture, the control thread's half: arm every worker with one bounded
//! [`Capture`] (see [`rvs_core::capture`] for what the workers copy and what it costs),
//! drain it into a pcapng file as it fills, stop at the count or the timeout, and say
//! how many frames were written and how many found the sink full.
//!
//! The file has two interfaces per port, `PORT-in` (frames as received, before any
//! rewrite) and `PORT-out` (as transmitted, after it), nanosecond timestamps, and a
//! comment on each packet naming its stage and worker. Frames are written in the order
//! drained: per worker in time order, workers interleaved.

pub mod request;

use std::borrow::Cow;
use std::io::Write;
use std::time::{Duration, Instant};

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;
use rvs_core::capture::{Capture, Frame, Stage};

/// How often the control thread drains the sink when it finds it empty.
const POLL: Duration = Duration::from_millis(2);
/// After a timeout: how long a worker may still be finishing a copy it started.
const SETTLE: Duration = Duration::from_millis(20);

/// What a capture wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub before: u64,
    pub after: u64,
    /// Matching frames that found every buffer taken (not in the file).
    pub lost: u64,
    pub timed_out: bool,
}

impl Summary {
    pub fn written(&self) -> u64 {
        self.before + self.after
    }
}

/// The pcapng interface of a frame: two per port, in then out.
fn interface(port: u16, stage: Stage) -> u32 {
    u32::from(port) * 2 + u32::from(stage == Stage::Out)
}

fn write_err(e: impl std::fmt::Display) -> String {
    format!("writing the capture file: {e}")
}

/// Write the interfaces of `ports` (by index), then frames from `cap` until it holds its
/// count or `timeout` passes; the capture is disarmed when this returns.
pub fn collect<W: Write>(
    cap: &Capture,
    ports: &[String],
    snaplen: u32,
    out: W,
    timeout: Duration,
) -> Result<Summary, String> {
    let r = collect_inner(cap, ports, snaplen, out, timeout);
    cap.disarm();
    r
}

fn collect_inner<W: Write>(
    cap: &Capture,
    ports: &[String],
    snaplen: u32,
    out: W,
    timeout: Duration,
) -> Result<Summary, String> {
    let mut w = PcapNgWriter::new(out).map_err(write_err)?;
    for name in ports {
        for (suffix, what) in [("in", "as received, before any rewrite"), ("out", "as transmitted, after rewrite")] {
            let idb = InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen,
                options: vec![
                    InterfaceDescriptionOption::IfName(Cow::Owned(format!("{name}-{suffix}"))),
                    InterfaceDescriptionOption::IfDescription(Cow::Owned(format!("rvs port {name}: frames {what}"))),
                    InterfaceDescriptionOption::IfTsResol(9),
                ],
            };
            w.write_pcapng_block(idb).map_err(write_err)?;
        }
    }
    let deadline = Instant::now() + timeout;
    let mut s = Summary::default();
    loop {
        let drained = drain(cap, &mut w, &mut s, ports.len())?;
        if cap.complete() {
            drain(cap, &mut w, &mut s, ports.len())?;
            break;
        }
        if Instant::now() >= deadline {
            cap.disarm();
            std::thread::sleep(SETTLE);
            drain(cap, &mut w, &mut s, ports.len())?;
            s.timed_out = true;
            break;
        }
        if drained == 0 {
            std::thread::sleep(POLL);
        }
    }
    s.lost = cap.lost();
    w.get_mut().flush().map_err(write_err)?;
    Ok(s)
}

fn drain<W: Write>(cap: &Capture, w: &mut PcapNgWriter<W>, s: &mut Summary, ports: usize) -> Result<usize, String> {
    let mut n = 0;
    while let Some(f) = cap.pop() {
        let r = write_frame(w, &f, ports);
        cap.recycle(f.buf);
        match r? {
            Stage::In => s.before += 1,
            Stage::Out => s.after += 1,
        }
        n += 1;
    }
    Ok(n)
}

fn write_frame<W: Write>(w: &mut PcapNgWriter<W>, f: &Frame, ports: usize) -> Result<Stage, String> {
    if usize::from(f.port) >= ports {
        return Err(format!("frame of port {} beyond the {ports} ports", f.port));
    }
    let data = f.buf.get(..f.caplen as usize).unwrap_or(&f.buf);
    let comment = match f.stage {
        Stage::In => format!("before rewrite, worker {}", f.core),
        Stage::Out => format!("after rewrite, worker {}", f.core),
    };
    let epb = EnhancedPacketBlock {
        interface_id: interface(f.port, f.stage),
        timestamp: Duration::from_nanos(f.ts_ns),
        original_len: f.len,
        data: Cow::Borrowed(data),
        options: vec![EnhancedPacketOption::Comment(Cow::Owned(comment))],
    };
    w.write_pcapng_block(epb).map_err(write_err)?;
    Ok(f.stage)
}

#[cfg(test)]
mod tests;
