import Foundation
import XCTest
@testable import TetherKit

/// PROTOCOL.md §10's byte-level examples, read from the repository at run time: the
/// C++ codec's test (tests/proto/camera/camera_messages_test.cpp) holds its encoder to
/// the same dumps, so both codecs agree on every byte shown there.
final class WireSpecExamplesTests: XCTestCase {
    /// proto/camera/PROTOCOL.md, found from this file: sdk/swift/TetherKit/Tests/TetherKitTests/.
    static let protocolURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()                    // Tests/TetherKitTests
        .appendingPathComponent("../../../../../proto/camera/PROTOCOL.md")
        .standardizedFileURL

    enum Expected {
        case request(Request)
        case message(Message)
    }

    /// Every documented example, in PROTOCOL.md's order: the list of
    /// tests/proto/camera/camera_examples.hpp's documented(), with the same values and tags.
    static let documented: [(name: String, expected: Expected, tag: UInt32)] = [
        ("hello", .request(.hello(Hello(version: 1, role: .controller, name: "Studio iPhone",
                                         capabilities: ["live_view", "capture", "download"]))), 0),
        ("get_properties", .request(.getProperties(name: "iso")), 1),
        ("properties", .message(.properties([WireFixtures.isoProperty])), 1),
        ("set_property", .request(.setProperty(name: "shutter_speed", value: "1/120")), 2),
        ("property_set", .message(.propertySet(PropertySet(name: "shutter_speed", requested: "1/120", applied: "1/125"))), 2),
        ("capture", .request(.capture), 3),
        ("ok", .message(.ok), 3),
        ("capture_done", .message(.captureDone(CaptureDone(transferID: 7, fileName: "IMG_0042.JPG",
                                                           size: 6_021_120, mimeType: "image/jpeg"))), 0),
        ("download", .request(.download(transferID: 7, offset: 0)), 4),
        ("image_chunk", .message(.imageChunk(ImageChunk(transferID: 7, offset: 0, totalSize: 6_021_120,
                                                        data: Data([0xFF, 0xD8, 0xFF, 0xE1])))), 4),
        ("error", .message(.error(CameraProtocolError(code: .valueNotAllowed,
                                                      message: "iso: 12800 is not an allowed value"))), 5),
        ("live_view_frame", .message(.liveViewFrame(LiveViewFrame(sequence: 42, timestamp: 1_234_567_890,
                                                                  width: 1024, height: 576,
                                                                  jpeg: WireFixtures.tinyJPEG))), 0),
        ("start_live_view", .request(.startLiveView(maxInFlight: 1)), 9),
        ("live_view_ack", .request(.liveViewAck(sequence: 42)), 0),
        ("live_view_stats", .message(.liveViewStats(LiveViewStats(fps: 29.5, cameraFps: 30, meanAgeMs: 12.25,
                                                                  maxAgeMs: 20.5, delivered: 30, dropped: 1))), 0),
    ]

    /// The ```text block after each "<!-- example: NAME -->" line, in order.
    static func examplesInDocument() throws -> [(name: String, block: String)] {
        let text = try String(contentsOf: protocolURL, encoding: .utf8)
        let marker = "<!-- example: "
        var out: [(String, String)] = []
        var lines = text.components(separatedBy: "\n")[...]
        while let line = lines.popFirst() {
            guard line.hasPrefix(marker) else { continue }
            let rest = line.dropFirst(marker.count)
            let name = String(rest.prefix { $0 != " " })
            var block = ""
            var inside = false
            while let l = lines.popFirst() {
                if l.hasPrefix("```") {
                    if inside { break }
                    inside = true
                    continue
                }
                if inside { block += l + "\n" }
            }
            out.append((name, block))
        }
        return out
    }

    func testProtocolDocumentIsFound() {
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.protocolURL.path),
                      "cannot find PROTOCOL.md at \(Self.protocolURL.path)")
    }

    func testEveryDocumentedExampleDecodesToItsMessageAndBack() throws {
        let doc = try Self.examplesInDocument()
        let known = Dictionary(uniqueKeysWithValues: Self.documented.map { ($0.name, $0) })
        // Nothing skipped: every example in the document is known here, and every one
        // known here is in the document, in the same order (as the C++ test wants).
        for (name, _) in doc where known[name] == nil {
            XCTFail("PROTOCOL.md has an example \"\(name)\" this test does not know: add it to WireSpecExamplesTests.documented")
        }
        XCTAssertEqual(doc.map(\.name), Self.documented.map(\.name),
                       "PROTOCOL.md's examples and this test's list differ")
        var checked = 0
        for (name, block) in doc {
            guard let ex = known[name] else { continue }
            let bytes: Data
            do {
                bytes = try WireFixtures.parseDump(block)
            } catch {
                XCTFail("\(name): \(error)")
                continue
            }
            // The ASCII column and layout too: the dump is what its bytes print as.
            XCTAssertEqual(WireFixtures.dump(bytes), block, "\(name): the dump is not laid out as its bytes print")
            try checkExample(name: name, bytes: bytes, expected: ex.expected, tag: ex.tag)
            checked += 1
        }
        XCTAssertEqual(checked, 15, "PROTOCOL.md shows 15 examples")
    }

    private func checkExample(name: String, bytes: Data, expected: Expected, tag: UInt32) throws {
        // Framing: exactly one frame, in any pieces.
        var reader = FrameReader()
        for i in stride(from: 0, to: bytes.count, by: 7) {
            reader.append(bytes.subdata(in: i..<min(i + 7, bytes.count)))
        }
        let frame = try XCTUnwrap(try reader.next(), "\(name): no whole frame")
        XCTAssertNil(try reader.next(), "\(name): more than one frame")
        XCTAssertNoThrow(try reader.finish(), "\(name)")
        XCTAssertEqual(frame.tag, tag, "\(name): tag")
        XCTAssertEqual(frame.encode(), bytes, "\(name): Frame.encode() does not give the bytes back")

        switch expected {
        case .request(let request):
            XCTAssertEqual(frame.type, request.frameType.rawValue, "\(name): type")
            XCTAssertEqual(try CameraCodec.decodeRequest(frame), request, "\(name)")
            XCTAssertNoThrow(try CameraCodec.validate(request), "\(name)")
            let again = CameraCodec.encode(request, tag: tag)
            XCTAssertEqual(try CameraCodec.decodeRequest(again), request, "\(name): re-encoded")
            checkHeader(name: name, original: bytes, again: again)
            if case .hello(let hello) = request {
                // A hello goes both ways: the camera side reads it the same.
                XCTAssertEqual(try CameraCodec.decodeMessage(frame), .hello(hello), "\(name) as a message")
            }
        case .message(let message):
            XCTAssertEqual(frame.type, message.frameType?.rawValue, "\(name): type")
            XCTAssertEqual(try CameraCodec.decodeMessage(frame), message, "\(name)")
            XCTAssertNoThrow(try CameraCodec.validate(message), "\(name)")
            let again = CameraCodec.encode(message, tag: tag)
            XCTAssertEqual(try CameraCodec.decodeMessage(again), message, "\(name): re-encoded")
            if FrameType(rawValue: frame.type)?.isBulk == true {
                // Bulk frames have one encoding: byte for byte.
                XCTAssertEqual(again.encode(), bytes, "\(name): bulk frame bytes differ:\n\(WireFixtures.dump(again.encode()))")
            } else {
                checkHeader(name: name, original: bytes, again: again)
            }
        }
    }

    /// A plist frame has other valid encodings (key order, 4- or 8-byte reals), so only
    /// the header is compared: version, type and tag byte for byte, and a size that is
    /// the new payload's.
    private func checkHeader(name: String, original: Data, again: Frame) {
        let bytes = again.encode()
        XCTAssertEqual(bytes.prefix(12), original.prefix(12), "\(name): header differs")
        XCTAssertEqual(WireBytes.load(UInt32.self, from: bytes, at: 12), UInt32(again.payload.count), "\(name)")
        XCTAssertTrue(again.payload.starts(with: Data("bplist00".utf8)), "\(name): not a binary plist")
    }

    /// The lines of the section whose heading starts with `heading`, up to the next one.
    static func section(_ heading: String) throws -> [String] {
        let lines = try String(contentsOf: protocolURL, encoding: .utf8).components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix(heading) }) else {
            throw WireFixtures.DumpError("PROTOCOL.md has no section \"\(heading)\"")
        }
        let rest = lines[(start + 1)...]
        return Array(rest.prefix { !$0.hasPrefix("## ") })
    }

    /// §4's table ("| 103 | `set_property` | ...") lists exactly the frame types here.
    func testFrameTypeTableMatchesFrameType() throws {
        var documented: [UInt32: String] = [:]
        for line in try Self.section("## 4. ") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 3, let type = UInt32(cells[1]), cells[2].hasPrefix("`"), cells[2].hasSuffix("`") else { continue }
            documented[type] = String(cells[2].dropFirst().dropLast())
        }
        XCTAssertEqual(documented.count, FrameType.allCases.count)
        for type in FrameType.allCases {
            XCTAssertEqual(documented[type.rawValue], type.name, "type \(type.rawValue)")
        }
    }

    /// §7's table lists the error codes here.
    func testErrorCodeTableMatchesErrorCode() throws {
        var rows = 0
        for line in try Self.section("## 7. ") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 4, let code = UInt32(cells[1]), code < 100 else { continue }
            let listed = ErrorCode(rawValue: code)
            if case .unknown = listed { XCTFail("code \(code) (\(cells[2])) is not listed in ErrorCode") }
            XCTAssertEqual(listed.description.replacingOccurrences(of: " error", with: ""), cells[2], "code \(code)")
            rows += 1
        }
        XCTAssertEqual(rows, 9)
    }
}
