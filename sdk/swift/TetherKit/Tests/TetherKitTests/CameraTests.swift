import Foundation
import XCTest
@testable import TetherKit

/// The controller API against ``FakeCamera``.
final class CameraTests: XCTestCase {
    /// A started link on a free port, and a fake camera connected to it.
    private func connected(_ behaviour: FakeCamera.Behaviour = .init(),
                           options: SessionOptions = .init()) async throws -> (CameraLink, CameraSession, FakeCamera) {
        let port = try freePort()
        var o = LinkOptions(port: port, name: "tests")
        o.session = options
        let link = CameraLink(options: o)
        try await link.start()
        let camera = try XCTUnwrap(FakeCamera.connect(port: port, behaviour))
        let session = try await link.connectedSession(timeout: .seconds(5))
        return (link, session, camera)
    }

    func testHelloBothWays() async throws {
        let (link, session, camera) = try await connected()
        defer { Task { await link.stop() } }
        XCTAssertEqual(session.cameraHello.name, "Fake EOS")
        XCTAssertEqual(session.version, 1)
        XCTAssertTrue(session.cameraHello.has(.liveViewAck))
        let heard = await eventually { camera.controllerHello != nil }
        XCTAssertTrue(heard)
        XCTAssertEqual(camera.controllerHello?.name, "tests")
        XCTAssertEqual(camera.controllerHello?.role, .controller)
        let state = await link.state
        XCTAssertEqual(state, .connected(session.cameraHello))
    }

    func testTheSessionSpeaksTheLowerVersion() async throws {
        var b = FakeCamera.Behaviour()
        b.version = 3
        let (link, session, _) = try await connected(b)
        defer { Task { await link.stop() } }
        XCTAssertEqual(session.cameraHello.version, 3)
        XCTAssertEqual(session.version, 1)
    }

    func testPropertiesAndSetReturnsTheAppliedValue() async throws {
        let (link, session, _) = try await connected()
        defer { Task { await link.stop() } }
        let props = try await session.properties()
        XCTAssertEqual(props.map(\.name), ["iso", "shutter_speed"])
        XCTAssertEqual(props[0].allowed, ["auto", "100", "200", "400", "800", "1600"])
        let events = await session.events()
        let applied = try await session.set("shutter_speed", to: "1/120")
        XCTAssertEqual(applied, "1/125")  // rounded by the camera
        let readBack = try await session.property("shutter_speed")
        XCTAssertEqual(readBack.value, "1/125")
        var it = events.makeAsyncIterator()
        let e = await it.next()
        XCTAssertEqual(e, .propertyChanged(readBack))
    }

    func testAutofocusAndFocusSteps() async throws {
        let (link, session, camera) = try await connected()
        defer { Task { await link.stop() } }
        try await session.autofocus()
        try await session.focusStep(.near, .small)
        try await session.focusStep(.far)
        XCTAssertEqual(camera.snapshot().requests.filter { $0 == .focusStep }.count, 2)
        XCTAssertTrue(camera.snapshot().requests.contains(.autofocus))
    }

    func testTheCamerasErrorIsTyped() async throws {
        let (link, session, _) = try await connected()
        defer { Task { await link.stop() } }
        do {
            try await session.set("iso", to: "12800")
            XCTFail("set")
        } catch let e as TetherError {
            XCTAssertEqual(e.cameraErrorCode, .valueNotAllowed)
            XCTAssertEqual("\(e)", "value not allowed: iso: 12800 is not an allowed value")
        }
        do {
            _ = try await session.property("nope")
            XCTFail("get")
        } catch let e as TetherError {
            XCTAssertEqual(e.cameraErrorCode, .unknownProperty)
        }
        // What the bounds of §8 refuse is not sent at all.
        do {
            try await session.set("iso", to: String(repeating: "9", count: 65))
            XCTFail("set")
        } catch let e as TetherError {
            guard case .invalidRequest = e else { return XCTFail("\(e)") }
        }
    }

    func testARequestTimesOutAndTheSessionGoesOn() async throws {
        var b = FakeCamera.Behaviour()
        b.ignore = [.autofocus]
        var o = SessionOptions()
        o.requestTimeout = .milliseconds(200)
        let (link, session, _) = try await connected(b, options: o)
        defer { Task { await link.stop() } }
        let started = ContinuousClock.now
        do {
            try await session.autofocus()
            XCTFail("no timeout")
        } catch let e as TetherError {
            XCTAssertEqual(e, .timedOut(request: "autofocus", after: .milliseconds(200)))
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
        let count = try await session.properties().count
        XCTAssertEqual(count, 2)
    }

    func testCancellingTheTaskCancelsTheWait() async throws {
        var b = FakeCamera.Behaviour()
        b.ignore = [.autofocus]
        let (link, session, _) = try await connected(b)
        defer { Task { await link.stop() } }
        let task = Task { try await session.autofocus() }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let result = await task.result
        XCTAssertThrowsError(try result.get()) { XCTAssertTrue($0 is CancellationError, "\($0)") }
        let count = try await session.properties().count
        XCTAssertEqual(count, 2)
    }

    func testCaptureAndDownloadWithProgress() async throws {
        var b = FakeCamera.Behaviour()
        b.chunkSize = 1000
        b.captureSize = 4500
        let (link, session, camera) = try await connected(b)
        defer { Task { await link.stop() } }
        let done = try await session.capture()
        XCTAssertEqual(done.transferID, 7)
        XCTAssertEqual(done.size, 4500)
        let seen = Progresses()
        let data = try await session.download(done.transferID) { seen.add($0) }
        XCTAssertEqual(data, camera.captured)
        XCTAssertEqual(seen.all.map(\.receivedBytes), [1000, 2000, 3000, 4000, 4500])
        XCTAssertEqual(seen.all.last?.fraction, 1)
        // To a file, resumed from an offset.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tetherkit-\(UUID()).jpg")
        defer { try? FileManager.default.removeItem(at: url) }
        try camera.captured.prefix(2500).write(to: url)
        let size = try await session.download(7, to: url, offset: 2500)
        XCTAssertEqual(size, 4500)
        XCTAssertEqual(try Data(contentsOf: url), camera.captured)
        do {
            _ = try await session.download(99)
            XCTFail("download")
        } catch let e as TetherError {
            XCTAssertEqual(e.cameraErrorCode, .unknownTransfer)
        }
    }

    /// A one-chunk file can be all there before the download's caller parks (its request
    /// is sent across a suspension point): it must still be returned, not lost.
    func testASmallDownloadThatArrivesAtOnceIsReturned() async throws {
        var b = FakeCamera.Behaviour()
        b.captureSize = 100
        let (link, session, camera) = try await connected(b)
        defer { Task { await link.stop() } }
        for i in 0..<300 {
            let data = try await session.download(7)
            XCTAssertEqual(data, camera.captured, "download \(i)")
        }
    }

    func testLiveViewIsAcknowledgedWithNInFlight() async throws {
        var b = FakeCamera.Behaviour()
        b.fps = 200
        let (link, session, camera) = try await connected(b)
        defer { Task { await link.stop() } }
        var frames: [LiveViewFrame] = []
        for try await frame in session.liveView(maxInFlight: 2) {
            frames.append(frame)
            if frames.count == 20 { break }
        }
        XCTAssertEqual(frames.count, 20)
        XCTAssertEqual(frames.map(\.sequence), frames.map(\.sequence).sorted())
        // The iteration acked each frame before the next; never more than 2 out.
        let stopped = await eventually { camera.snapshot().requests.contains(.stopLiveView) }
        XCTAssertTrue(stopped)
        let s = camera.snapshot()
        XCTAssertLessThanOrEqual(s.maxUnacknowledged, 2)
        XCTAssertEqual(Array(s.acks.prefix(19)), Array(frames.map(\.sequence).prefix(19)))
    }

    /// The session ending while `next()` sends its ack (a suspension point) ends the
    /// iteration at once with `sessionEnded`, not after the frame timeout.
    func testLiveViewEndsWithTheSessionWhateverItIsDoing() async throws {
        var b = FakeCamera.Behaviour()
        b.fps = 500
        var o = LinkOptions(port: try freePort(), name: "tests")
        o.session.liveViewFrameTimeout = .seconds(5)
        let link = CameraLink(options: o)
        try await link.start()
        defer { Task { await link.stop() } }
        var previous: CameraSession? = nil
        for round in 0..<100 {
            let camera = try XCTUnwrap(FakeCamera.connect(port: o.port, b))
            var session = try await link.connectedSession(timeout: .seconds(5))
            for _ in 0..<500 where session === previous {  // the link has not seen the end yet
                try await Task.sleep(for: .milliseconds(10))
                session = try await link.connectedSession(timeout: .seconds(5))
            }
            XCTAssertFalse(session === previous, "round \(round): no new session")
            previous = session
            let started = ContinuousClock.now
            var frames = 0
            do {
                for try await _ in session.liveView(maxInFlight: 1) {
                    frames += 1
                    if frames == 1 + round % 4 { Task { await session.close() } }
                }
                XCTFail("round \(round): live view ended without an error")
            } catch let e as TetherError {
                guard case .sessionEnded = e else { return XCTFail("round \(round): \(e)") }
            }
            XCTAssertGreaterThanOrEqual(frames, 1 + round % 4, "round \(round)")
            XCTAssertLessThan(ContinuousClock.now - started, .seconds(2), "round \(round)")
            camera.close()
        }
    }

    func testASlowConsumerGetsFreshFramesNotABacklog() async throws {
        var b = FakeCamera.Behaviour()
        b.fps = 100  // a frame every 10 ms; the consumer takes 60 ms
        let (link, session, camera) = try await connected(b)
        defer { Task { await link.stop() } }
        var ages: [Double] = []
        var gaps: [UInt32] = []
        var last: UInt32? = nil
        for try await frame in session.liveView(maxInFlight: 1) {
            ages.append(Double(Sockets.monotonicNanoseconds() / 1000 - frame.timestamp) / 1000)
            if let last { gaps.append(frame.sequence &- last) }
            last = frame.sequence
            if ages.count == 12 { break }
            try await Task.sleep(for: .milliseconds(60))
        }
        // Each frame is at most a frame interval old (plus scheduling), however slow the
        // consumer: frames were skipped, not queued.
        XCTAssertGreaterThan(gaps.min() ?? 0, 2, "\(gaps)")
        XCTAssertLessThan(ages.sorted()[ages.count / 2], 45, "\(ages)")
        XCTAssertLessThanOrEqual(camera.snapshot().maxUnacknowledged, 1)
    }

    func testALiveViewWaitTimesOutOrIsCancelled() async throws {
        var b = FakeCamera.Behaviour()
        b.fps = 0.5  // slower than the timeout
        var o = SessionOptions()
        o.liveViewFrameTimeout = .milliseconds(300)
        let (link, session, _) = try await connected(b, options: o)
        defer { Task { await link.stop() } }
        do {
            for try await _ in session.liveView(maxInFlight: 1) {}
            XCTFail("no timeout")
        } catch let e as TetherError {
            XCTAssertEqual(e, .timedOut(request: "live_view_frame", after: .milliseconds(300)))
        }
        let waiting = Task { for try await _ in session.liveView(maxInFlight: 1) {} }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        let result = await waiting.result
        XCTAssertThrowsError(try result.get()) { XCTAssertTrue($0 is CancellationError, "\($0)") }
    }

    func testEventsAndTheCameraLost() async throws {
        let (link, session, camera) = try await connected()
        defer { Task { await link.stop() } }
        let linkEvents = await link.events()
        camera.send(.cameraLost(reason: "USB device removed"))
        camera.send(.cameraAttached(model: "Fake EOS", serial: nil))
        var it = linkEvents.makeAsyncIterator()
        let lost = await it.next()
        let back = await it.next()
        XCTAssertEqual(lost, .cameraLost(reason: "USB device removed"))
        XCTAssertEqual(back, .cameraAttached(model: "Fake EOS", serial: nil))
        _ = session
    }

    func testTheLinkReconnectsWhenTheBoardComesBack() async throws {
        let (link, first, camera) = try await connected()
        defer { Task { await link.stop() } }
        let states = await link.states()
        var it = states.makeAsyncIterator()
        let now = await it.next()
        XCTAssertEqual(now, .connected(first.cameraHello))
        camera.close()  // tether-camera stops
        let lost = await it.next()
        guard case .boardLost? = lost else { return XCTFail("\(String(describing: lost))") }
        do {
            _ = try await first.properties()
            XCTFail("the old session")
        } catch let e as TetherError {
            guard case .sessionEnded = e else { return XCTFail("\(e)") }
        }
        var b = FakeCamera.Behaviour()
        b.name = "Second EOS"
        let again = try XCTUnwrap(FakeCamera.connect(port: link.options.port, b))
        let back = await it.next()
        XCTAssertEqual(back, .connected(Hello(role: .camera, name: "Second EOS",
                                              capabilities: Hello.Capability.allCases.map(\.rawValue))))
        let second = try await link.connectedSession(timeout: .seconds(5))
        let count = try await second.properties().count
        XCTAssertEqual(count, 2)
        _ = again
    }

    func testABoardThatSaysNothingIsDroppedAndTheNextOneServed() async throws {
        let port = try freePort()
        var o = LinkOptions(port: port, name: "tests")
        o.session.helloTimeout = .milliseconds(300)
        let link = CameraLink(options: o)
        try await link.start()
        defer { Task { await link.stop() } }
        var silent = FakeCamera.Behaviour()
        silent.sayHello = false
        let mute = try XCTUnwrap(FakeCamera.connect(port: port, silent))
        let dropped = await eventually(3) { mute.isClosed }
        XCTAssertTrue(dropped)
        _ = try XCTUnwrap(FakeCamera.connect(port: port))
        let session = try await link.connectedSession(timeout: .seconds(5))
        XCTAssertEqual(session.cameraHello.name, "Fake EOS")
    }

    func testSuspendRefusesThePortAndResumeListensAgain() async throws {
        let (link, session, _) = try await connected()
        defer { Task { await link.stop() } }
        await link.suspend()
        let suspended = await link.state
        XCTAssertEqual(suspended, .suspended)
        let ended = await session.isEnded
        XCTAssertTrue(ended)
        XCTAssertEqual(connectLoopback(link.options.port), -1)  // refused, as iOS must show it
        await link.resume()
        _ = try XCTUnwrap(FakeCamera.connect(port: link.options.port))
        let again = try await link.connectedSession(timeout: .seconds(5))
        XCTAssertFalse(again === session)
    }

    func testLiveViewOfTheLinkOutlivesSessions() async throws {
        let (link, _, camera) = try await connected()
        defer { Task { await link.stop() } }
        var count = 0
        var replaced = false
        var next: FakeCamera? = nil
        for try await _ in link.liveView(maxInFlight: 1) {
            count += 1
            if count == 5 && !replaced {
                replaced = true
                camera.close()
                next = FakeCamera.connect(port: link.options.port)
            }
            if count == 10 { break }
        }
        XCTAssertEqual(count, 10)
        XCTAssertTrue(next?.snapshot().requests.contains(.startLiveView) ?? false)
    }

    func testStopEndsTheWaitForASession() async throws {
        let link = CameraLink(options: LinkOptions(port: try freePort()))
        try await link.start()
        let waiting = Task { try await link.connectedSession() }
        try await Task.sleep(for: .milliseconds(50))
        await link.stop()
        let result = await waiting.result
        XCTAssertThrowsError(try result.get()) { XCTAssertEqual($0 as? TetherError, .notConnected) }
    }
}

/// Progress reports, collected from the download's callback.
final class Progresses: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [DownloadProgress] = []
    func add(_ p: DownloadProgress) { lock.lock(); list.append(p); lock.unlock() }
    var all: [DownloadProgress] { lock.lock(); defer { lock.unlock() }; return list }
}

/// A port nothing listens on now.
func freePort() throws -> UInt16 {
    let l = try TCPListener(port: 0)
    defer { l.close() }
    return l.port
}
