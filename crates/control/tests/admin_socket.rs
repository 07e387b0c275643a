//! The admin socket's setup touches only what is rvsd's own: it creates a missing
//! directory (0700), leaves an existing one as it is, and replaces only a stale socket.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use control::admin::{socket, Admin, Request};
use control::live::Live;
use rvs_core::service::Config;
use rvs_core::stats::CoreStats;

fn admin() -> Arc<Admin> {
    let live = Arc::new(Live::new(Config::new(16), vec![]));
    Arc::new(Admin::new(live, vec![Arc::new(CoreStats::with_dests(1, 1, 16))], 4096))
}

/// A fresh directory under the system temp directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("rvs-admin-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn answers(path: &std::path::Path) -> bool {
    let r = socket::call(path, &Request { args: vec!["-L".into(), "-n".into()], stdin: None });
    r.is_ok_and(|r| r.stdout.starts_with("IP Virtual Server version"))
}

#[test]
fn defect_07_shared_directory_keeps_its_mode() {
    // socket = "/tmp/rvsd.sock": the directory is shared (1777) and not rvsd's to chmod.
    let dir = Scratch::new("shared");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let path = dir.0.join("rvsd.sock");
    socket::serve(&path, admin()).unwrap();
    assert_eq!(mode(&dir.0), 0o1777, "the existing directory's mode is left alone");
    assert_eq!(mode(&path), 0o600, "the socket itself is root-only");
    assert!(answers(&path));
}

#[test]
fn defect_07_non_socket_file_at_path_is_kept() {
    // A typo naming a real file: refuse, and leave the file as it was.
    let dir = Scratch::new("file");
    let path = dir.0.join("important.conf");
    std::fs::write(&path, "keep me\n").unwrap();
    let e = socket::serve(&path, admin()).unwrap_err();
    assert!(e.to_string().contains("not a socket"), "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me\n");

    let sub = dir.0.join("subdir");
    std::fs::create_dir(&sub).unwrap();
    assert!(socket::serve(&sub, admin()).is_err());
    assert!(sub.is_dir(), "a directory at the path is kept too");
}

#[test]
fn defect_07_creates_own_directory_and_replaces_stale_socket() {
    let dir = Scratch::new("own");
    let own = dir.0.join("rvs");
    let path = own.join("rvsd.sock");
    // A stale socket left by a dead rvsd (bound, then closed without unlinking).
    std::fs::create_dir(&own).unwrap();
    drop(UnixListener::bind(&path).unwrap());
    assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_socket());
    socket::serve(&path, admin()).unwrap();
    assert!(answers(&path), "the stale socket was replaced by a live one");
    assert!(socket::serve(&path, admin()).is_err(), "a live socket is not taken over");

    let fresh = dir.0.join("new").join("rvsd.sock");
    socket::serve(&fresh, admin()).unwrap();
    assert_eq!(mode(fresh.parent().unwrap()), 0o700, "a directory rvsd creates is its own: 0700");
    assert!(answers(&fresh));
}
