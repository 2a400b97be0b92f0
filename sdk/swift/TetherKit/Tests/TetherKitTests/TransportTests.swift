import Foundation
import XCTest
@testable import TetherKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The listener and its connections, against plain blocking client sockets.
final class TransportTests: XCTestCase {
    func testAcceptsReceivesAndSends() async throws {
        let listener = try TCPListener(port: 0)
        XCTAssertNotEqual(listener.port, 0)
        let client = connectLoopback(listener.port)
        XCTAssertGreaterThanOrEqual(client, 0)
        defer { close(client) }
        let conn = try await listener.accept(timeout: .seconds(5))
        _ = "hello".withCString { send(client, $0, 5, 0) }
        var got = Data()
        while got.count < 5 { got += try await conn.receive(timeout: .seconds(5)) }
        XCTAssertEqual(String(decoding: got, as: UTF8.self), "hello")
        try await conn.send(Data("world".utf8), timeout: .seconds(5))
        var buf = [UInt8](repeating: 0, count: 16)
        let n = recv(client, &buf, buf.count, 0)
        XCTAssertEqual(String(decoding: buf[0..<max(n, 0)], as: UTF8.self), "world")
        listener.close()
        conn.close()
    }

    func testTheBoardGoingAwayIsTheEndOfTheStream() async throws {
        let listener = try TCPListener(port: 0)
        let client = connectLoopback(listener.port)
        let conn = try await listener.accept(timeout: .seconds(5))
        _ = "bye".withCString { send(client, $0, 3, 0) }
        close(client)
        // The bytes before the end come first, then the end.
        var got = Data()
        do {
            while true { got += try await conn.receive(timeout: .seconds(5)) }
        } catch let e as TransportError {
            XCTAssertEqual(e, .closedByPeer)
        }
        XCTAssertEqual(got, Data("bye".utf8))
        XCTAssertFalse(conn.isOpen)
    }

    func testAResetIsSaid() async throws {
        let listener = try TCPListener(port: 0)
        let client = connectLoopback(listener.port)
        let conn = try await listener.accept(timeout: .seconds(5))
        var l = linger(l_onoff: 1, l_linger: 0)  // close with RST, as a killed app's peer
        setsockopt(client, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close(client)
        do {
            _ = try await conn.receive(timeout: .seconds(5))
            XCTFail("no error")
        } catch let e as TransportError {
            XCTAssertEqual(e, .reset)
        }
    }

    func testEveryWaitIsBounded() async throws {
        let listener = try TCPListener(port: 0)
        let started = ContinuousClock.now
        do {
            _ = try await listener.accept(timeout: .milliseconds(100))
            XCTFail("accepted nothing")
        } catch let e as TransportError {
            XCTAssertEqual(e, .timedOut)
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
        let client = connectLoopback(listener.port)
        defer { close(client) }
        let conn = try await listener.accept(timeout: .seconds(5))
        do {
            _ = try await conn.receive(timeout: .milliseconds(100))
            XCTFail("received nothing")
        } catch let e as TransportError {
            XCTAssertEqual(e, .timedOut)
        }
    }

    func testCancellationEndsTheWait() async throws {
        let listener = try TCPListener(port: 0)
        let task = Task { try await listener.accept(timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("not cancelled")
        } catch is CancellationError {}
    }

    func testClosingWakesTheWaiters() async throws {
        let listener = try TCPListener(port: 0)
        let client = connectLoopback(listener.port)
        defer { close(client) }
        let conn = try await listener.accept(timeout: .seconds(5))
        let reading = Task { try await conn.receive(timeout: .seconds(60)) }
        let accepting = Task { try await listener.accept(timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(50))
        conn.close()
        listener.close()
        for result in [await reading.result.map { _ in () }, await accepting.result.map { _ in () }] {
            XCTAssertThrowsError(try result.get()) { XCTAssertEqual($0 as? TransportError, .closedLocally) }
        }
        // The port is refused once the listener is closed.
        let refused = connectLoopback(listener.port)
        XCTAssertEqual(refused, -1)
    }

    func testAPortInUseIsSaid() throws {
        let first = try TCPListener(port: 0)
        XCTAssertThrowsError(try TCPListener(port: first.port)) {
            XCTAssertEqual($0 as? TransportError, .addressInUse(port: first.port))
        }
        first.close()
        // ... and free again at once after close (SO_REUSEADDR).
        XCTAssertNoThrow(try TCPListener(port: first.port).close())
    }

    func testOutputIsBoundedWhenTheBoardDoesNotRead() async throws {
        let listener = try TCPListener(port: 0, connectionOutputLimit: 64 * 1024)
        let client = connectLoopback(listener.port)
        defer { close(client) }
        let conn = try await listener.accept(timeout: .seconds(5))
        let chunk = Data(count: 32 * 1024)
        var queued = 0
        do {
            // The socket buffers take some; then the output buffer fills and send waits.
            for _ in 0..<2000 {
                try await conn.send(chunk, timeout: .milliseconds(200))
                queued += chunk.count
            }
            XCTFail("queued \(queued) bytes without a reader")
        } catch let e as TransportError {
            XCTAssertEqual(e, .timedOut)
        }
        XCTAssertLessThanOrEqual(conn.unsentBytes, 64 * 1024)
        // Reading drains it.
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        var drained = 0
        while drained < queued {
            let n = recv(client, &buf, buf.count, 0)
            if n <= 0 { break }
            drained += n
        }
        XCTAssertEqual(drained, queued)
    }
}
