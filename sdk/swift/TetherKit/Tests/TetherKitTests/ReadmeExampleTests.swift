import Foundation
import XCTest
import TetherKit

// The README's example, compiled and run here against a fake camera. The code between
// the two `README example` lines is the README's code block, character for character:
// `testTheReadmeShowsThisCode` fails when they differ.

// README example begins
func takePicture(port: UInt16 = 2350) async throws -> Data {
    let link = CameraLink(options: LinkOptions(port: port, name: "My app"))
    try await link.start()

    // The board connects when it is ready: wait for it (here at most 30 s).
    let camera = try await link.connectedSession(timeout: .seconds(30))
    print("camera:", camera.cameraHello.name, camera.cameraHello.capabilities)

    // Events come as an AsyncStream.
    let events = Task {
        for await event in await camera.events() {
            if case .cameraLost(let reason) = event { print("camera lost:", reason ?? "") }
        }
    }
    defer { events.cancel() }

    // Properties, with the values they take now; a set returns the applied value.
    for p in try await camera.properties() {
        print(p.name, "=", p.value, "of", p.allowed)
    }
    let applied = try await camera.set("iso", to: "400")
    print("iso is", applied)
    do {
        try await camera.set("iso", to: "12800")
    } catch let error as TetherError where error.cameraErrorCode == .valueNotAllowed {
        print("refused:", error)  // "value not allowed: iso: 12800 is not an allowed value"
    }

    // Live view: each turn of the loop acknowledges the frame before it, so a slow
    // loop gets the newest frame, not a backlog. Leaving the loop stops live view.
    var shown = 0
    for try await frame in camera.liveView(maxInFlight: 2) {
        print("frame", frame.sequence, "\(frame.width)x\(frame.height)", frame.jpeg.count, "bytes")
        shown += 1
        if shown == 10 { break }
    }

    // Capture, then download with progress.
    let file = try await camera.capture()
    let data = try await camera.download(file.transferID) { progress in
        print("\(file.fileName): \(Int(progress.fraction * 100)) %")
    }
    await link.stop()
    return data
}
// README example ends

final class ReadmeExampleTests: XCTestCase {
    func testTheExampleRuns() async throws {
        let port = try freePort()
        let example = Task { try await takePicture(port: port) }
        let camera = try XCTUnwrap(FakeCamera.connect(port: port))
        let data = try await example.value
        XCTAssertEqual(data, camera.captured)
        let iso = camera.snapshot().requests.filter { $0 == .setProperty }.count
        XCTAssertEqual(iso, 2)
    }

    func testTheReadmeShowsThisCode() throws {
        let here = URL(fileURLWithPath: #filePath)
        let source = try String(contentsOf: here, encoding: .utf8)
        let readme = try String(contentsOf: here.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let begin = "// README example " + "begins\n", end = "// README example " + "ends\n"
        let code = try XCTUnwrap(source.components(separatedBy: begin).last?.components(separatedBy: end).first)
        XCTAssertTrue(readme.contains("```swift\nimport TetherKit\n\n" + code + "```\n"),
                      "README.md must show the example of ReadmeExampleTests.swift as it is")
    }
}
