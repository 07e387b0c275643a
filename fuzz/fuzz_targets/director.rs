//! Sequences of arbitrary frames through two workers' [`Director`]s configured with NAT,
//! DR and TUN services on an IPv4 and an IPv6 VIP (see `common/director.rs` for the
//! configuration and how an input becomes records). The directors are built once per
//! process and keep their state from input to input, as a worker does from burst to
//! burst. Any panic is a bug.
#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;

#[path = "../common/director.rs"]
mod director;

static LAB: Mutex<Option<director::Lab>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    // A panic poisons the lock only on the way to libFuzzer's crash report.
    let mut lab = LAB.lock().unwrap_or_else(|e| e.into_inner());
    lab.get_or_insert_with(director::Lab::new).run(data);
});
