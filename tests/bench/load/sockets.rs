//! The fan-out clients' socket plumbing: non-blocking connects from a chosen source
//! address, socket options, and the epoll set they are read through (a leaf: it uses
//! only `shared`).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;

use crate::shared::BoxError;

pub(crate) fn os_err(what: &str) -> BoxError {
    format!("{what}: {}", std::io::Error::last_os_error()).into()
}

pub(crate) fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> Result<(), BoxError> {
    // SAFETY: a plain setsockopt with a local int.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(os_err("setsockopt"));
    }
    Ok(())
}

pub(crate) fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// A non-blocking socket with `SO_TIMESTAMPNS`, `TCP_NODELAY` and `SO_LINGER` 0 (closed
/// with a reset, no `TIME_WAIT`), bound to source `source`, connecting to `to`.
pub(crate) fn start_connect(source: Ipv4Addr, to: SocketAddrV4) -> Result<RawFd, BoxError> {
    // SAFETY: socket/bind/connect on a fresh fd with local sockaddrs; the fd is closed on
    // every error path.
    unsafe {
        let fd = libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(os_err("socket"));
        }
        let set = || -> Result<(), BoxError> {
            setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
            setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
            setsockopt_int(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1)?;
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            if libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                std::ptr::from_ref(&linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            ) != 0
            {
                return Err(os_err("SO_LINGER"));
            }
            let local = sockaddr(SocketAddrV4::new(source, 0));
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            if libc::bind(fd, std::ptr::from_ref(&local).cast(), len) != 0 {
                return Err(os_err("bind"));
            }
            let remote = sockaddr(to);
            if libc::connect(fd, std::ptr::from_ref(&remote).cast(), len) != 0
                && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINPROGRESS)
            {
                return Err(os_err("connect"));
            }
            Ok(())
        };
        match set() {
            Ok(()) => Ok(fd),
            Err(err) => {
                libc::close(fd);
                Err(err)
            }
        }
    }
}

pub(crate) struct Epoll(pub(crate) RawFd);

impl Epoll {
    pub(crate) fn new() -> Result<Self, BoxError> {
        // SAFETY: creates a new epoll fd.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(os_err("epoll_create1"));
        }
        Ok(Self(fd))
    }

    pub(crate) fn ctl(
        &self,
        op: i32,
        fd: RawFd,
        events: u32,
        token: usize,
    ) -> Result<(), BoxError> {
        let mut event = libc::epoll_event {
            events,
            u64: token as u64,
        };
        // SAFETY: registers a valid fd with a local event struct.
        if unsafe { libc::epoll_ctl(self.0, op, fd, &mut event) } != 0 {
            return Err(os_err("epoll_ctl"));
        }
        Ok(())
    }

    pub(crate) fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> usize {
        // SAFETY: `events` is a valid writable buffer of its length.
        let n = unsafe {
            libc::epoll_wait(
                self.0,
                events.as_mut_ptr(),
                i32::try_from(events.len()).unwrap_or(i32::MAX),
                timeout_ms,
            )
        };
        usize::try_from(n).unwrap_or(0)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: closes our own fd.
        unsafe {
            libc::close(self.0);
        }
    }
}
