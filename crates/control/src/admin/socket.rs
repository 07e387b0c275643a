//! The admin socket: one JSON [`Request`] per line in, one JSON [`Response`] per line
//! out, on a Unix socket only root can open (mode 0600; a directory rvsd creates for it
//! is 0700).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Admin, Request, Response};

/// Largest request accepted (a restore file of a few thousand services fits).
const MAX_REQUEST: u64 = 16 << 20;

/// Bind `path` and serve `admin` from a background thread. A stale socket file left by a
/// dead rvsd is replaced; a live one is an error (two daemons must not share it).
pub fn serve(path: &Path, admin: Arc<Admin>) -> std::io::Result<JoinHandle<()>> {
    prepare(path)?;
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    std::thread::Builder::new().name("rvs-admin".into()).spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = handle(stream, &admin);
        }
    })
}

/// Make room for the socket touching nothing that is not rvsd's: a missing directory is
/// created 0700 (an existing one, /tmp or /run, keeps its mode), and only a socket
/// nobody answers on is unlinked; any other file at the path is an error.
fn prepare(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    let Ok(meta) = std::fs::symlink_metadata(path) else { return Ok(()) };
    if !meta.file_type().is_socket() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket; not removing it", path.display()),
        ));
    }
    if UnixStream::connect(path).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!("{} is served by another rvsd", path.display()),
        ));
    }
    std::fs::remove_file(path)
}

fn handle(stream: UnixStream, admin: &Arc<Admin>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_REQUEST)).read_line(&mut line)?;
    let resp = match serde_json::from_str::<Request>(&line) {
        // A capture runs until its count or timeout: on its own thread (one at a time).
        Ok(req) if crate::capture::request::parse(&req.args).is_some() => {
            let admin = admin.clone();
            std::thread::Builder::new()
                .name("rvs-capture".into())
                .spawn(move || reply(&stream, &admin.execute(&req)))?;
            return Ok(());
        }
        Ok(req) => admin.execute(&req),
        Err(e) => Response { stderr: format!("rvsd: bad admin request: {e}\n"), code: 2, ..Response::default() },
    };
    reply(&stream, &resp)
}

fn reply(stream: &UnixStream, resp: &Response) -> std::io::Result<()> {
    let mut out = serde_json::to_string(resp).unwrap_or_default();
    out.push('\n');
    let mut stream = stream;
    stream.write_all(out.as_bytes())
}

/// The client side, used by rvsadm.
pub fn call(path: &Path, req: &Request) -> Result<Response, String> {
    let stream = UnixStream::connect(path).map_err(|e| {
        let hint = match e.kind() {
            // The socket is root's (0600): rvsd's configuration is root's to change.
            std::io::ErrorKind::PermissionDenied => "rvsadm must run as root, as ipvsadm does",
            _ => "is rvsd running?",
        };
        format!("cannot talk to rvsd at {}: {e} ({hint})", path.display())
    })?;
    let mut body = serde_json::to_string(req).map_err(|e| e.to_string())?;
    body.push('\n');
    (&stream).write_all(body.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&line).map_err(|e| format!("{}: bad answer from rvsd: {e}", path.display()))
}

/// The socket rvsadm uses: `$RVSADM_SOCKET`, else rvsd's default.
pub fn default_path() -> PathBuf {
    std::env::var_os("RVSADM_SOCKET").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_SOCKET))
}
