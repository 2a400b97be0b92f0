import Foundation
import XCTest
@testable import TetherKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Connects to 127.0.0.1:port as the board does; -1 when refused. Blocking.
func connectLoopback(_ port: UInt16) -> Int32 {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
    #endif
    var addr = Sockets.loopback(port: port)
    let r = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    if r != 0 {
        close(fd)
        return -1
    }
    return fd
}

/// tether-camera in miniature, for the tests: it connects to the app's listener like the
/// board, says hello, and answers with the camera's side of the codec. Live view sends
/// frames at `fps`, at most MaxInFlight unacknowledged, always the newest (as
/// tether-camera does). Blocking sockets and threads, so it shares nothing with the code
/// under test.
final class FakeCamera: @unchecked Sendable {
    struct Behaviour {
        var name = "Fake EOS"
        var version: UInt32 = 1
        var sayHello = true
        var fps = 100.0
        /// Requests of these types get no reply.
        var ignore: Set<FrameType> = []
        var chunkSize = 1000
        var captureSize = 4500
    }

    let fd: Int32
    let behaviour: Behaviour
    private let lock = NSLock()
    private var properties: [String: Property] = [
        "iso": Property(name: "iso", value: "400", allowed: ["auto", "100", "200", "400", "800", "1600"]),
        "shutter_speed": Property(name: "shutter_speed", value: "1/125", allowed: ["1/60", "1/125", "1/250"]),
    ]
    private var live = false
    private var maxInFlight: Int? = nil
    private var sent: [UInt32] = []  // live-view frames sent and not acknowledged
    private var sequence: UInt32 = 0
    private(set) var maxUnacknowledged = 0
    private(set) var acks: [UInt32] = []
    private(set) var requests: [FrameType] = []
    private(set) var controllerHello: Hello? = nil
    private(set) var closed = false
    let captured: Data

    /// Connects to `port`; nil when the port is refused.
    init?(port: UInt16, _ behaviour: Behaviour = Behaviour()) {
        fd = connectLoopback(port)
        if fd < 0 { return nil }
        self.behaviour = behaviour
        var g = WirePRNG(seed: 42)
        captured = Data([0xFF, 0xD8]) + g.bytes(behaviour.captureSize - 4) + Data([0xFF, 0xD9])
        if behaviour.sayHello {
            send(.hello(Hello(version: behaviour.version, role: .camera, name: behaviour.name,
                              capabilities: Hello.Capability.allCases.map(\.rawValue))))
        }
        Thread { self.readLoop() }.start()
        Thread { self.liveLoop() }.start()
    }

    /// Connects as soon as the port takes it (polling for up to `timeout` seconds).
    static func connect(port: UInt16, _ behaviour: Behaviour = Behaviour(), timeout: Double = 5) -> FakeCamera? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let c = FakeCamera(port: port, behaviour) { return c }
            usleep(20_000)
        }
        return nil
    }

    func send(_ m: Message, tag: UInt32 = 0) {
        let bytes = CameraCodec.encode(m, tag: tag).encode()
        lock.lock()
        defer { lock.unlock() }
        if closed { return }
        bytes.withUnsafeBytes { p in
            var off = 0
            while off < p.count {
                let n = Glue.send(fd, p.baseAddress! + off, p.count - off, Sockets.sendFlags)
                if n <= 0 { return }
                off += n
            }
        }
    }

    /// The board goes away: closes the connection.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        if !closed {
            closed = true
            shutdown(fd, Int32(SHUT_RDWR))
        }
    }

    var isClosed: Bool { lock.lock(); defer { lock.unlock() }; return closed }

    func snapshot() -> (acks: [UInt32], maxUnacknowledged: Int, requests: [FrameType]) {
        lock.lock()
        defer { lock.unlock() }
        return (acks, maxUnacknowledged, requests)
    }

    private func readLoop() {
        var reader = FrameReader()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            reader.append(Data(buf[0..<n]))
            while let frame = try? reader.next() { handle(frame) }
        }
        lock.lock()
        closed = true
        live = false
        lock.unlock()
        Glibc_close(fd)
    }

    private func handle(_ frame: Frame) {
        guard let request = try? CameraCodec.decodeRequest(frame) else {
            send(.error(CameraProtocolError(code: .notSupported, message: "no")), tag: frame.tag)
            return
        }
        lock.lock()
        requests.append(request.frameType)
        lock.unlock()
        if behaviour.ignore.contains(request.frameType) { return }
        let tag = frame.tag
        switch request {
        case .hello(let h):
            lock.lock()
            controllerHello = h
            lock.unlock()
        case .getProperties(let name):
            lock.lock()
            let all = properties.values.sorted { $0.name < $1.name }.filter { name == nil || $0.name == name }
            lock.unlock()
            if all.isEmpty {
                send(.error(CameraProtocolError(code: .unknownProperty, message: "no \(name ?? "")")), tag: tag)
            } else {
                send(.properties(all), tag: tag)
            }
        case .setProperty(let name, let value):
            lock.lock()
            guard var p = properties[name] else {
                lock.unlock()
                send(.error(CameraProtocolError(code: .unknownProperty, message: "no \(name)")), tag: tag)
                return
            }
            // 1/120 is rounded, as a camera does; values not listed are refused.
            let applied = value == "1/120" ? "1/125" : value
            guard p.allowed.contains(applied) else {
                lock.unlock()
                send(.error(CameraProtocolError(code: .valueNotAllowed, message: "\(name): \(value) is not an allowed value")), tag: tag)
                return
            }
            p.value = applied
            properties[name] = p
            lock.unlock()
            send(.propertySet(PropertySet(name: name, requested: value, applied: applied)), tag: tag)
            send(.propertyChanged(p))
        case .capture:
            send(.ok, tag: tag)
            send(.captureDone(CaptureDone(transferID: 7, fileName: "IMG_0001.JPG", size: UInt64(captured.count), mimeType: "image/jpeg")))
        case .autofocus, .focusStep:
            send(.ok, tag: tag)
        case .download(let id, let offset):
            guard id == 7 else {
                send(.error(CameraProtocolError(code: .unknownTransfer, message: "transfer \(id) is not here")), tag: tag)
                return
            }
            var at = Int(offset)
            repeat {
                let end = min(at + behaviour.chunkSize, captured.count)
                send(.imageChunk(ImageChunk(transferID: id, offset: UInt64(at), totalSize: UInt64(captured.count),
                                            data: captured.subdata(in: at..<end))), tag: tag)
                at = end
            } while at < captured.count
        case .startLiveView(let n):
            lock.lock()
            live = true
            maxInFlight = n
            sent = []
            lock.unlock()
            send(.ok, tag: tag)
        case .stopLiveView:
            lock.lock()
            live = false
            lock.unlock()
            send(.ok, tag: tag)
        case .liveViewAck(let seq):
            lock.lock()
            acks.append(seq)
            sent.removeAll { !isNewer($0, than: seq) }
            lock.unlock()
        }
    }

    private func liveLoop() {
        let interval = 1.0 / behaviour.fps
        while true {
            usleep(UInt32(interval * 1e6))
            lock.lock()
            if closed {
                lock.unlock()
                return
            }
            sequence &+= 1  // the camera makes a frame; unsent ones are replaced
            let go = live && (maxInFlight == nil || sent.count < maxInFlight!)
            if go {
                sent.append(sequence)
                maxUnacknowledged = max(maxUnacknowledged, sent.count)
            }
            let seq = sequence
            lock.unlock()
            if go {
                send(.liveViewFrame(LiveViewFrame(sequence: seq, timestamp: Sockets.monotonicNanoseconds() / 1000,
                                                  width: 32, height: 18, jpeg: WireFixtures.tinyJPEG)))
            }
        }
    }
}

private func Glibc_close(_ fd: Int32) {
    _ = close(fd)
}

/// Polls `condition` for up to `timeout` seconds.
func eventually(_ timeout: Double = 5, _ condition: () async -> Bool) async -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if await condition() { return true }
        try? await Task.sleep(nanoseconds: 10_000_000)
    }
    return await condition()
}
