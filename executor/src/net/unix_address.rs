//! From the path a caller passes to a Unix socket's `bind`, `connect` or `send_to` to
//! the socket address the kernel takes, and the errors that name the path.
//!
//! A path whose first byte is NUL (`"\0name"`) names a Linux *abstract* socket: an
//! address in a namespace of its own, with no file behind it (nothing to remove, no
//! permissions on a directory), gone when the last socket bound to it closes. tokio
//! and std accept it (std as `SocketAddr::from_abstract_name`), so glassbox does too.
//!
//! # Ground rules
//! - A leading NUL means "abstract" on Linux and Android. Anywhere else in a path, and
//!   at its start on other systems, a NUL is refused with an error that says where
//!   it is: the C API ends a path at its first NUL, so it would bind somewhere else.
//! - Paths are shown escaped (`{:?}`) in messages, so a NUL or a control byte in one
//!   is visible instead of cutting the terminal line.

use std::io;
#[cfg(target_os = "android")]
use std::os::android::net::SocketAddrExt;
#[cfg(target_os = "linux")]
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// `path` as a socket address: an abstract name if it starts with NUL (Linux,
/// Android), a filesystem path otherwise.
///
/// # Errors
/// `InvalidInput` for a NUL anywhere else, or a path or name too long for a socket
/// address (about 107 bytes).
pub(super) fn socket_address(path: &Path) -> io::Result<SocketAddr> {
    let bytes = path.as_os_str().as_bytes();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some((0, name)) = bytes.split_first() {
        return SocketAddr::from_abstract_name(name);
    }
    if let Some(at) = bytes.iter().position(|&byte| byte == 0) {
        let only_first = if cfg!(any(target_os = "linux", target_os = "android")) {
            "only a NUL as the first byte is allowed, and names an abstract socket"
        } else {
            "abstract socket names (a leading NUL) exist only on Linux"
        };
        let message = format!(
            "glassbox: the Unix socket path {path:?} has a NUL byte at byte {at}: the \
             kernel would cut the path there ({only_first})"
        );
        return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
    }
    SocketAddr::from_pathname(path)
}

/// Names `path` in a bind's error, and says what `AddrInUse` almost always means for
/// a Unix socket: a file left behind, not a live listener.
pub(super) fn bind_error(path: &Path, error: io::Error) -> io::Error {
    let why = if error.kind() == io::ErrorKind::AddrInUse {
        "the address is taken: a socket file left behind by an earlier run? Nothing \
         removes it on close; remove it before binding (an abstract name is taken only \
         while a socket holds it)"
    } else {
        "the OS refused"
    };
    let message = format!("glassbox: cannot bind a Unix socket at {path:?}: {why} ({error})");
    io::Error::new(error.kind(), message)
}
