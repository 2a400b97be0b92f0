// The few BSD socket calls the transport makes, the same on Linux (Glibc) and on iOS and
// macOS (Darwin). Everything here is non-blocking and returns errno instead of throwing.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Sockets {
    #if canImport(Glibc)
    static let stream = Int32(SOCK_STREAM.rawValue)
    static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    static let stream = SOCK_STREAM
    static let sendFlags: Int32 = 0  // SO_NOSIGPIPE is set on each socket instead
    #endif

    /// A non-blocking, close-on-exec TCP listener on 127.0.0.1:port (0: any free port).
    static func listenLoopback(port: UInt16, backlog: Int32) -> Result<Int32, TransportError> {
        let fd = socket(AF_INET, stream, 0)
        if fd < 0 { return .failure(.system("socket", errno)) }
        var one: Int32 = 1
        // SO_REUSEADDR: listening again on resume must not wait for TIME_WAIT to pass.
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = loopback(port: port)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 {
            let e = errno
            _ = close(fd)
            return .failure(e == EADDRINUSE ? .addressInUse(port: port) : .system("bind", e))
        }
        if listen(fd, backlog) != 0 || !configure(fd) {
            let e = errno
            _ = close(fd)
            return .failure(.system("listen", e))
        }
        return .success(fd)
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        #if canImport(Darwin)
        addr.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(port).bigEndian
        addr.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        return addr
    }

    /// The port a socket is bound to, or 0.
    static func localPort(_ fd: Int32) -> UInt16 {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let r = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return r == 0 ? UInt16(bigEndian: addr.sin_port) : 0
    }

    enum Accepted { case socket(Int32), wouldBlock, failed(Int32) }

    static func acceptOne(_ listener: Int32) -> Accepted {
        let fd = accept(listener, nil, nil)
        if fd < 0 {
            let e = errno
            // A connection reset before it was taken, or a signal: try again later.
            if e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED { return .wouldBlock }
            return .failed(e)
        }
        guard configure(fd) else {
            _ = close(fd)
            return .wouldBlock
        }
        var one: Int32 = 1
        // Small control messages and acks go out at once.
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return .socket(fd)
    }

    /// Non-blocking, close-on-exec, and (Darwin) no SIGPIPE.
    static func configure(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { return false }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        return true
    }

    enum IO { case bytes(Int), wouldBlock, endOfStream, failed(Int32) }

    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IO {
        let n = recv(fd, buffer.baseAddress, buffer.count, 0)
        if n > 0 { return .bytes(n) }
        if n == 0 { return .endOfStream }
        let e = errno
        return e == EAGAIN || e == EWOULDBLOCK || e == EINTR ? .wouldBlock : .failed(e)
    }

    static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> IO {
        let n = Glue.send(fd, buffer.baseAddress, buffer.count, sendFlags)
        if n >= 0 { return .bytes(n) }
        let e = errno
        return e == EAGAIN || e == EWOULDBLOCK || e == EINTR ? .wouldBlock : .failed(e)
    }

    /// The pending error of a socket that poll() flagged with POLLERR.
    static func pendingError(_ fd: Int32) -> Int32 {
        var e: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len)
        return e
    }

    static func closeSocket(_ fd: Int32) {
        _ = shutdown(fd, Int32(SHUT_RDWR))
        _ = close(fd)
    }

    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// Nanoseconds on a monotonic clock (CLOCK_MONOTONIC: on Linux the clock tether-camera
    /// stamps its live-view frames with).
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        _ = clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// The C library's functions whose names the enum above shadows.
enum Glue {
    static func send(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int, _ flags: Int32) -> Int {
        #if canImport(Glibc)
        return Glibc.send(fd, p, n, flags)
        #else
        return Darwin.send(fd, p, n, flags)
        #endif
    }
}
