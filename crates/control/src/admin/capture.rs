//! `rvsadm --capture` on the admin API (see [`crate::capture`]): one capture at a time,
//! answered when it is written. The socket serves it on a thread of its own, so other
//! rvsadm commands are not held up meanwhile.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use rvs_core::capture::{Capture, Filter, ServiceMatch};
use rvs_core::service::ServiceKey;

use super::{Admin, Response};
use crate::capture::request::{CaptureRequest, Target};
use crate::capture::{collect, Summary};

impl Admin {
    pub(super) fn capture(&self, req: &CaptureRequest) -> Response {
        if self.capturing.swap(true, SeqCst) {
            return Response::err("rvsadm: a capture is already running", 255);
        }
        let r = self.capture_one(req);
        self.capturing.store(false, SeqCst);
        match r {
            Ok(s) => Response::out(report(req, &s)),
            Err(m) => Response::err(format!("rvsadm: {m}"), 255),
        }
    }

    fn capture_one(&self, req: &CaptureRequest) -> Result<Summary, String> {
        let ports = self.net.as_ref().map(|n| n.port_names()).unwrap_or_default();
        if ports.is_empty() {
            return Err("this rvsd has no ports to capture on".into());
        }
        let filter = match &req.target {
            Target::Port(name) => {
                let i = ports.iter().position(|p| p == name).ok_or_else(|| format!("no port named {name}"))?;
                Filter::Port(u16::try_from(i).map_err(|_| "too many ports".to_string())?)
            }
            Target::Service(key) => Filter::Service(self.service_match(key)?),
        };
        let file = std::fs::File::create(&req.file).map_err(|e| format!("{}: {e}", req.file.display()))?;
        let cap = Arc::new(Capture::new(filter, req.count, req.snaplen));
        if self.live.arm_capture(&cap) == 0 {
            return Err("no worker is running".into());
        }
        collect(&cap, &ports, req.snaplen, std::io::BufWriter::new(file), req.timeout)
    }

    /// The service's VIP and real servers as they are now.
    fn service_match(&self, key: &ServiceKey) -> Result<ServiceMatch, String> {
        let snap = self.live.snapshot();
        let svc = snap.services().iter().find(|s| s.key == *key).ok_or("No such service")?;
        let ServiceKey::Proto { proto, addr, port } = svc.key else {
            return Err("only -t and -u services can be captured".into());
        };
        Ok(ServiceMatch {
            proto: proto.number(),
            vip: addr.to_ip(),
            vport: port,
            reals: svc.dests.iter().map(|d| (d.addr.to_ip(), d.port)).collect(),
        })
    }
}

/// tcpdump's closing lines, with rvs's stages.
fn report(req: &CaptureRequest, s: &Summary) -> String {
    let mut out = format!(
        "{} packets captured to {} ({} as received, {} as sent)\n{} packets not captured (capture buffer full)\n",
        s.written(),
        req.file.display(),
        s.before,
        s.after,
        s.lost
    );
    if s.timed_out {
        out.push_str(&format!("stopped after {} s, before {} packets\n", req.timeout.as_secs(), req.count));
    }
    out
}
