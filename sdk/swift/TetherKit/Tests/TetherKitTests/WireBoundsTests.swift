import Foundation
import XCTest
@testable import TetherKit

/// Hostile and broken payloads: every bound of PROTOCOL.md §8 at its limit and one past
/// it, missing keys, wrong types, bad values, payloads that are no binary plist. The
/// texts are the C++ codec's (tests/proto/camera/camera_messages_test.cpp).
final class WireBoundsTests: XCTestCase {
    enum Sample {
        case request(Request)
        case message(Message)

        var frame: Frame {
            switch self {
            case .request(let r): return CameraCodec.encode(r, tag: 1)
            case .message(let m): return CameraCodec.encode(m, tag: 1)
            }
        }

        func validate() throws {
            switch self {
            case .request(let r): try CameraCodec.validate(r)
            case .message(let m): try CameraCodec.validate(m)
            }
        }

        /// Decodes its own encoding, and says whether that gave it back.
        func roundTrips() throws -> Bool {
            switch self {
            case .request(let r): return try CameraCodec.decodeRequest(frame) == r
            case .message(let m): return try CameraCodec.decodeMessage(frame) == m
            }
        }
    }

    /// `atMax` is valid and round-trips; `over` breaks one bound, and both validate and
    /// decode (encode writes it all the same) say so in `text`.
    private func expectBound(_ atMax: Sample, _ over: Sample, _ text: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNoThrow(try atMax.validate(), file: file, line: line)
        XCTAssertTrue((try? atMax.roundTrips()) ?? false, "at the bound: \(atMax)", file: file, line: line)
        let expected = WireError(.malformed, text)
        XCTAssertThrowsError(try over.validate(), file: file, line: line) {
            XCTAssertEqual($0 as? WireError, expected, file: file, line: line)
        }
        XCTAssertThrowsError(try over.roundTrips(), file: file, line: line) {
            XCTAssertEqual($0 as? WireError, expected, file: file, line: line)
        }
    }

    private func s(_ n: Int, _ c: Character = "a") -> String { String(repeating: c, count: n) }

    // MARK: - §8, one by one

    func testHelloBounds() {
        func hello(_ name: String = "", caps: [String] = [], version: UInt32 = 1) -> Sample {
            .request(.hello(Hello(version: version, role: .controller, name: name, capabilities: caps)))
        }
        expectBound(hello(s(64)), hello(s(65)), "hello: Name is 65 bytes, more than 64")
        // Bytes, not characters: 32 "é" are 64 bytes.
        expectBound(hello(s(32, "é")), hello(s(33, "é")), "hello: Name is 66 bytes, more than 64")
        expectBound(hello(caps: Array(repeating: "x", count: 32)), hello(caps: Array(repeating: "x", count: 33)),
                    "hello: Capabilities has 33 entries, more than 32")
        expectBound(hello(caps: [s(32)]), hello(caps: [s(33)]), "hello: Capabilities[0] is 33 bytes, more than 32")
        expectBound(hello(caps: ["a", "b"]), hello(caps: ["a", ""]), "hello: Capabilities[1] is empty")
        expectBound(hello(version: 1), hello(version: 0), "hello: Version must be 1 or more")
        expectBound(.message(.hello(Hello(role: .camera, name: s(64)))), .message(.hello(Hello(role: .camera, name: s(65)))),
                    "hello: Name is 65 bytes, more than 64")
    }

    func testPropertyNamesAndValues() {
        expectBound(.request(.setProperty(name: s(32, "p"), value: s(64))), .request(.setProperty(name: s(33, "p"), value: s(64))),
                    "set_property: Name is 33 bytes, more than 32")
        expectBound(.request(.setProperty(name: "p", value: "")), .request(.setProperty(name: "", value: "")),
                    "set_property: Name is empty")
        expectBound(.request(.setProperty(name: "iso_2", value: "1")), .request(.setProperty(name: "ISO", value: "1")),
                    "set_property: Name 'ISO' may hold only a-z, 0-9 and _")
        expectBound(.request(.setProperty(name: "a_b", value: "1")), .request(.setProperty(name: "a-b", value: "1")),
                    "set_property: Name 'a-b' may hold only a-z, 0-9 and _")
        expectBound(.request(.setProperty(name: "iso", value: s(64))), .request(.setProperty(name: "iso", value: s(65))),
                    "set_property: Value is 65 bytes, more than 64")
        expectBound(.request(.getProperties(name: s(32))), .request(.getProperties(name: s(33))),
                    "get_properties: Name is 33 bytes, more than 32")
        expectBound(.request(.getProperties(name: nil)), .request(.getProperties(name: "")),
                    "get_properties: Name is empty (leave it out to get all properties)")
        func set(_ name: String = "iso", _ requested: String = "", _ applied: String = "") -> Sample {
            .message(.propertySet(PropertySet(name: name, requested: requested, applied: applied)))
        }
        expectBound(set("iso", s(64), s(64)), set("iso", s(65), s(64)), "property_set: Requested is 65 bytes, more than 64")
        expectBound(set("iso", s(64), s(64)), set("iso", s(64), s(65)), "property_set: Applied is 65 bytes, more than 64")
        expectBound(set("iso"), set(""), "property_set: Name is empty")
    }

    func testPropertyListsAndAllowedValues() {
        func changed(_ value: String = "1", allowed: [String] = [], name: String = "iso") -> Sample {
            .message(.propertyChanged(Property(name: name, value: value, allowed: allowed)))
        }
        expectBound(changed(s(64)), changed(s(65)), "property_changed: Value is 65 bytes, more than 64")
        expectBound(changed(allowed: (0..<256).map(String.init)), changed(allowed: (0..<257).map(String.init)),
                    "property_changed: Allowed has 257 entries, more than 256")
        expectBound(changed(allowed: ["", s(64)]), changed(allowed: ["", s(65)]),
                    "property_changed: Allowed[1] is 65 bytes, more than 64")
        expectBound(changed(name: s(32)), changed(name: s(33)), "property_changed: Name is 33 bytes, more than 32")

        let iso = WireFixtures.isoProperty
        expectBound(.message(.properties(Array(repeating: iso, count: 64))), .message(.properties(Array(repeating: iso, count: 65))),
                    "properties: Properties has 65 entries, more than 64")
        var long = iso
        long.allowed.append(s(65))
        expectBound(.message(.properties([iso, iso])), .message(.properties([iso, long])),
                    "properties: Properties[1]: Allowed[8] is 65 bytes, more than 64")
        var badName = iso
        badName.name = "Iso"
        expectBound(.message(.properties([iso])), .message(.properties([badName])),
                    "properties: Properties[0]: Name 'Iso' may hold only a-z, 0-9 and _")
    }

    func testMessagesAndEvents() {
        expectBound(.message(.error(CameraProtocolError(code: .internal, message: s(1024)))),
                    .message(.error(CameraProtocolError(code: .internal, message: s(1025)))),
                    "error: Message is 1025 bytes, more than 1024")
        expectBound(.message(.error(CameraProtocolError(code: .badRequest, message: ""))),
                    .message(.error(CameraProtocolError(code: .unknown(0), message: ""))),
                    "error: Code must not be 0")
        expectBound(.message(.cameraLost(reason: s(1024))), .message(.cameraLost(reason: s(1025))),
                    "camera_lost: Reason is 1025 bytes, more than 1024")
        expectBound(.message(.cameraAttached(model: s(128), serial: s(128))), .message(.cameraAttached(model: s(129), serial: nil)),
                    "camera_attached: Model is 129 bytes, more than 128")
        expectBound(.message(.cameraAttached(model: "", serial: s(128))), .message(.cameraAttached(model: "", serial: s(129))),
                    "camera_attached: Serial is 129 bytes, more than 128")
    }

    func testCaptureDoneBounds() {
        expectBound(done(file: s(255, "f")), done(file: s(256, "f")), "capture_done: FileName is 256 bytes, more than 255")
        expectBound(done(file: "f"), done(file: ""), "capture_done: FileName is empty")
        expectBound(done(file: "a.jpg"), done(file: "../etc/passwd"), "capture_done: FileName must be a plain file name, without '/'")
        expectBound(done(file: "..."), done(file: ".."), "capture_done: FileName must be a plain file name, without '/'")
        expectBound(done(mime: s(127, "m")), done(mime: s(128, "m")), "capture_done: MimeType is 128 bytes, more than 127")
        expectBound(done(mime: "m"), done(mime: ""), "capture_done: MimeType is empty")
        expectBound(done(size: 1 << 32), done(size: (1 << 32) + 1), "capture_done: Size is 4294967297, more than 4294967296")
        expectBound(done(0xFFFF_FFFF), done(0), "capture_done: TransferID must not be 0")
    }

    private func done(file: String) -> Sample { .message(.captureDone(CaptureDone(transferID: 1, fileName: file, size: 0, mimeType: "image/jpeg"))) }
    private func done(mime: String) -> Sample { .message(.captureDone(CaptureDone(transferID: 1, fileName: "a", size: 0, mimeType: mime))) }
    private func done(size: UInt64) -> Sample { .message(.captureDone(CaptureDone(transferID: 1, fileName: "a", size: size, mimeType: "m"))) }
    private func done(_ id: UInt32) -> Sample { .message(.captureDone(CaptureDone(transferID: id, fileName: "a", size: 0, mimeType: "m"))) }

    func testDownloadAndLiveViewRequests() {
        expectBound(.request(.download(transferID: 1, offset: 1 << 32)), .request(.download(transferID: 1, offset: (1 << 32) + 1)),
                    "download: Offset is 4294967297, more than 4294967296")
        expectBound(.request(.download(transferID: 1)), .request(.download(transferID: 0)), "download: TransferID must not be 0")
        expectBound(.request(.startLiveView(maxInFlight: 16)), .request(.startLiveView(maxInFlight: 17)),
                    "start_live_view: MaxInFlight is 17, more than 16")
        expectBound(.request(.startLiveView(maxInFlight: 1)), .request(.startLiveView(maxInFlight: 0)),
                    "start_live_view: MaxInFlight must be 1 or more")
        expectBound(.request(.startLiveView(maxInFlight: 1)), .request(.startLiveView(maxInFlight: -1)),
                    "start_live_view: MaxInFlight must be 1 or more")
    }

    func testLiveViewStatsBounds() {
        func stats(_ fps: Double = 1, camera: Double = 1, mean: Double = 1, max: Double = 1,
                   delivered: UInt64 = 1, dropped: UInt64 = 0) -> Sample {
            .message(.liveViewStats(LiveViewStats(fps: fps, cameraFps: camera, meanAgeMs: mean, maxAgeMs: max,
                                                  delivered: delivered, dropped: dropped)))
        }
        expectBound(stats(1e9), stats(1e9 + 1), "live_view_stats: Fps must be a number from 0 to 1e9")
        expectBound(stats(0), stats(-0.5), "live_view_stats: Fps must be a number from 0 to 1e9")
        expectBound(stats(0), stats(.nan), "live_view_stats: Fps must be a number from 0 to 1e9")
        expectBound(stats(0), stats(.infinity), "live_view_stats: Fps must be a number from 0 to 1e9")
        expectBound(stats(camera: 1e9), stats(camera: 1e9 + 1), "live_view_stats: CameraFps must be a number from 0 to 1e9")
        expectBound(stats(mean: 1e9), stats(mean: 1e9 + 1), "live_view_stats: MeanAgeMs must be a number from 0 to 1e9")
        expectBound(stats(max: 1e9), stats(max: 1e9 + 1), "live_view_stats: MaxAgeMs must be a number from 0 to 1e9")
        expectBound(stats(delivered: 1_000_000_000), stats(delivered: 1_000_000_001),
                    "live_view_stats: Delivered is 1000000001, more than 1000000000")
        expectBound(stats(dropped: 1_000_000_000), stats(dropped: 1_000_000_001),
                    "live_view_stats: Dropped is 1000000001, more than 1000000000")
    }

    func testLiveViewFrameBounds() {
        func frame(_ w: UInt16 = 640, _ h: UInt16 = 480, jpeg: Data) -> Sample {
            .message(.liveViewFrame(LiveViewFrame(sequence: 1, timestamp: 2, width: w, height: h, jpeg: jpeg)))
        }
        var jpeg = WireFixtures.tinyJPEG
        jpeg.count = WireLimits.maxJPEG
        expectBound(frame(jpeg: jpeg), frame(jpeg: jpeg + Data([0])), "live_view_frame: JPEG is 8388609 bytes, more than 8388608")
        expectBound(frame(jpeg: Data([0xFF, 0xD8])), frame(jpeg: Data([0xFF])), "live_view_frame: JPEG does not start with FF D8")
        expectBound(frame(jpeg: Data([0xFF, 0xD8])), frame(jpeg: Data([0xD8, 0xFF])), "live_view_frame: JPEG does not start with FF D8")
        expectBound(frame(1, 1, jpeg: Data([0xFF, 0xD8])), frame(0, 1, jpeg: Data([0xFF, 0xD8])), "live_view_frame: width and height must not be 0")
        expectBound(frame(65535, 65535, jpeg: Data([0xFF, 0xD8])), frame(1, 0, jpeg: Data([0xFF, 0xD8])), "live_view_frame: width and height must not be 0")
    }

    func testImageChunkBounds() {
        func chunk(_ id: UInt32 = 1, _ offset: UInt64 = 0, _ total: UInt64, _ count: Int) -> Sample {
            .message(.imageChunk(ImageChunk(transferID: id, offset: offset, totalSize: total, data: Data(count: count))))
        }
        let mib = WireLimits.maxChunk
        expectBound(chunk(1, 0, UInt64(mib), mib), chunk(1, 0, UInt64(mib + 1), mib + 1),
                    "image_chunk: chunk data is 1048577 bytes, more than 1048576")
        expectBound(chunk(1, (1 << 32) - 1, 1 << 32, 1), chunk(1, 1 << 32, (1 << 32) + 1, 1),
                    "image_chunk: total size 4294967297 is more than 4294967296")
        expectBound(chunk(1, 10, 12, 2), chunk(1, 11, 12, 2), "image_chunk: chunk of 2 bytes at offset 11 runs past the total size 12")
        expectBound(chunk(1, 0, 0, 0), chunk(1, 1, 0, 0), "image_chunk: chunk of 0 bytes at offset 1 runs past the total size 0")
        expectBound(chunk(1, 0, 0, 0), chunk(1, 0, 1, 0), "image_chunk: chunk is empty (only an empty file has an empty chunk)")
        expectBound(chunk(0xFFFF_FFFF, 0, 1, 1), chunk(0, 0, 1, 1), "image_chunk: transfer id must not be 0")
        // Offsets near the top of UInt64 do not overflow the check.
        expectBound(chunk(1, 0, 1, 1), chunk(1, .max, .max, 1), "image_chunk: total size 18446744073709551615 is more than 4294967296")
    }

    func testControlPayloadOfOneMiBAndOneByteMore() throws {
        // A valid hello padded with an unknown key to exactly 1 MiB: taken (and the key ignored).
        var padding = WireLimits.maxPlistPayload - 200
        var payload = Data()
        for _ in 0..<8 {
            payload = WireFixtures.plist(["Version": 1, "Role": "camera", "Name": "x", "Padding": s(padding)] as [String: Any])
            if payload.count == WireLimits.maxPlistPayload { break }
            padding += WireLimits.maxPlistPayload - payload.count
        }
        XCTAssertEqual(payload.count, WireLimits.maxPlistPayload)
        XCTAssertEqual(try CameraCodec.decodeMessage(Frame(type: 100, payload: payload)), .hello(Hello(role: .camera, name: "x")))
        WireFixtures.expectRejected(Frame(type: 100, payload: payload + Data([0])),
                                    "hello: payload of 1048577 bytes is more than 1048576")
        WireFixtures.expectRejected(Frame(type: 103, tag: 1, payload: Data(count: 16 << 20)),
                                    "set_property: payload of 16777216 bytes is more than 1048576")
    }

    func testIntegersAboveTheirTypes() {
        let big = 1 << 32
        WireFixtures.expectRejected(WireFixtures.plistFrame(.download, ["TransferID": big]),
                                    "download: TransferID is 4294967296, more than 4294967295")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.liveViewAck, ["Sequence": big], tag: 0),
                                    "live_view_ack: Sequence is 4294967296, more than 4294967295")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.hello, ["Version": big, "Role": "camera", "Name": ""], tag: 0),
                                    "hello: Version is 4294967296, more than 4294967295")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.error, ["Code": big, "Message": ""]),
                                    "error: Code is 4294967296, more than 4294967295")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.captureDone, ["TransferID": big, "FileName": "a", "Size": 1, "MimeType": "m"], tag: 0),
                                    "capture_done: TransferID is 4294967296, more than 4294967295")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.startLiveView, ["MaxInFlight": Int(Int32.max)]),
                                    "start_live_view: MaxInFlight is 2147483647, more than 16")
        // A 16-byte plist integer (above Int64.max): refused, whatever the platform reads.
        XCTAssertThrowsError(try CameraCodec.decodeRequest(WireFixtures.plistFrame(.download, ["TransferID": NSNumber(value: UInt64.max)]))) {
            XCTAssertEqual(($0 as? WireError)?.kind, .malformed)
            XCTAssertTrue(($0 as? WireError)?.message.hasPrefix("download: TransferID ") ?? false, "\($0)")
        }
    }

    // MARK: - Keys: missing, mistyped, unknown

    private enum Kind { case string, integer, number, boolean, strings, properties }

    /// A valid dictionary of each plist type, with its keys: kind and whether required.
    private static let dictionaries: [(type: FrameType, dict: [String: Any], keys: [(String, Kind, Bool)])] = [
        (.hello, ["Version": 1, "Role": "camera", "Name": "x", "Capabilities": ["live_view"]],
         [("Version", .integer, true), ("Role", .string, true), ("Name", .string, true), ("Capabilities", .strings, false)]),
        (.getProperties, ["Name": "iso"], [("Name", .string, false)]),
        (.properties, ["Properties": [["Name": "iso", "Value": "400"]]], [("Properties", .properties, true)]),
        (.setProperty, ["Name": "iso", "Value": "400"], [("Name", .string, true), ("Value", .string, true)]),
        (.propertySet, ["Name": "iso", "Requested": "400", "Applied": "400"],
         [("Name", .string, true), ("Requested", .string, true), ("Applied", .string, true)]),
        (.focusStep, ["Direction": "near", "Size": "small"], [("Direction", .string, true), ("Size", .string, true)]),
        (.startLiveView, ["MaxInFlight": 2], [("MaxInFlight", .integer, false)]),
        (.download, ["TransferID": 7, "Offset": 10], [("TransferID", .integer, true), ("Offset", .integer, false)]),
        (.error, ["Code": 4, "Message": "busy"], [("Code", .integer, true), ("Message", .string, true)]),
        (.liveViewAck, ["Sequence": 3], [("Sequence", .integer, true)]),
        (.propertyChanged, ["Name": "iso", "Value": "400", "Allowed": ["400"], "Writable": false],
         [("Name", .string, true), ("Value", .string, true), ("Allowed", .strings, false), ("Writable", .boolean, false)]),
        (.captureDone, ["TransferID": 1, "FileName": "a.jpg", "Size": 5, "MimeType": "image/jpeg"],
         [("TransferID", .integer, true), ("FileName", .string, true), ("Size", .integer, true), ("MimeType", .string, true)]),
        (.cameraAttached, ["Model": "R6", "Serial": "1"], [("Model", .string, true), ("Serial", .string, false)]),
        (.cameraLost, ["Reason": "gone"], [("Reason", .string, false)]),
        (.liveViewStats, ["Fps": 29.5, "CameraFps": 30.0, "MeanAgeMs": 1.5, "MaxAgeMs": 2.0, "Delivered": 30, "Dropped": 0],
         [("Fps", .number, true), ("CameraFps", .number, true), ("MeanAgeMs", .number, true), ("MaxAgeMs", .number, true),
          ("Delivered", .integer, true), ("Dropped", .integer, true)]),
    ]

    /// Values of the wrong type for a key of `kind`, and how the error ends.
    private func wrongValues(_ kind: Kind, _ key: String) -> [(Any, String)] {
        switch kind {
        case .string:
            return [(7, "\(key) must be a string"), (true, "\(key) must be a string"), (Data([1]), "\(key) must be a string"),
                    (["x"], "\(key) must be a string")]
        case .integer:
            // true and 7.0 are what a loose reader would take for an integer.
            return [("7", "\(key) must be an unsigned integer"), (true, "\(key) must be an unsigned integer"),
                    (7.0, "\(key) must be an unsigned integer"), (-1, "\(key) must be an unsigned integer"),
                    ([7], "\(key) must be an unsigned integer")]
        case .number:
            return [("fast", "\(key) must be a number"), (true, "\(key) must be a number"), (["x": 1], "\(key) must be a number")]
        case .boolean:
            return [(1, "\(key) must be a boolean"), ("true", "\(key) must be a boolean"), (0, "\(key) must be a boolean")]
        case .strings:
            return [("a,b", "\(key) must be an array of strings"), (["a", 2] as [Any], "\(key)[1] must be a string"),
                    ([["a"]], "\(key)[0] must be a string")]
        case .properties:
            return [("iso", "\(key) must be an array of dictionaries"), (["iso"], "\(key)[0]: must be a dictionary"),
                    ([["Name": "iso"]], "\(key)[0]: Value is missing"),
                    ([["Name": "iso", "Value": 400]], "\(key)[0]: Value must be a string")]
        }
    }

    func testEveryKeyMissingOrMistypedIsNamed() throws {
        var cases = 0
        for (type, dict, keys) in Self.dictionaries {
            let base = try WireFixtures.decode(WireFixtures.plistFrame(type, dict))
            // Unknown keys are ignored.
            var extra = dict
            extra["Extra"] = "for a newer version"
            extra["Nested"] = ["a": [1, 2, 3]]
            XCTAssertEqual("\(try WireFixtures.decode(WireFixtures.plistFrame(type, extra)))", "\(base)", type.name)
            for (key, kind, required) in keys {
                var without = dict
                without[key] = nil
                if required {
                    WireFixtures.expectRejected(WireFixtures.plistFrame(type, without), "\(type.name): \(key) is missing")
                } else {
                    XCTAssertNoThrow(try WireFixtures.decode(WireFixtures.plistFrame(type, without)), "\(type.name) without \(key)")
                }
                for (value, text) in wrongValues(kind, key) {
                    var wrong = dict
                    wrong[key] = value
                    WireFixtures.expectRejected(WireFixtures.plistFrame(type, wrong), "\(type.name): \(text)")
                    cases += 1
                }
            }
        }
        XCTAssertGreaterThan(cases, 100)
    }

    func testNumbersTakeIntegersAndBooleansAreBooleans() throws {
        let stats = try CameraCodec.decodeMessage(WireFixtures.plistFrame(.liveViewStats, [
            "Fps": 30, "CameraFps": 30.0, "MeanAgeMs": 1.5, "MaxAgeMs": 2, "Delivered": 30, "Dropped": 0,
        ], tag: 0))
        XCTAssertEqual(stats, .liveViewStats(LiveViewStats(fps: 30, cameraFps: 30, meanAgeMs: 1.5, maxAgeMs: 2, delivered: 30, dropped: 0)))
        // A 4-byte real, as libplist writes one (PROTOCOL.md's example has them too).
        let f = try CameraCodec.decodeMessage(WireFixtures.plistFrame(.liveViewStats, [
            "Fps": Float(29.5), "CameraFps": 30.0, "MeanAgeMs": 1.5, "MaxAgeMs": 2.0, "Delivered": 30, "Dropped": 0,
        ], tag: 0))
        guard case .liveViewStats(let s) = f else { return XCTFail("\(f)") }
        XCTAssertEqual(s.fps, 29.5)
        for writable in [true, false] {
            XCTAssertEqual(try CameraCodec.decodeMessage(WireFixtures.plistFrame(.propertyChanged, ["Name": "iso", "Value": "1", "Writable": writable], tag: 0)),
                           .propertyChanged(Property(name: "iso", value: "1", writable: writable)))
        }
    }

    func testBadValuesAreNamed() {
        WireFixtures.expectRejected(WireFixtures.plistFrame(.hello, ["Version": 1, "Role": "viewer", "Name": "x"], tag: 0),
                                    "hello: Role must be \"camera\" or \"controller\", not \"viewer\"")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.hello, ["Version": 0, "Role": "camera", "Name": "x"], tag: 0),
                                    "hello: Version must be 1 or more")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.focusStep, ["Direction": "near", "Size": "huge"]),
                                    "focus_step: Size must be \"small\", \"medium\" or \"large\", not \"huge\"")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.focusStep, ["Direction": "up", "Size": "small"]),
                                    "focus_step: Direction must be \"near\" or \"far\", not \"up\"")
        // A long bad value is cut to 32 bytes in the message.
        WireFixtures.expectRejected(WireFixtures.plistFrame(.focusStep, ["Direction": s(1000, "n"), "Size": "small"]),
                                    "focus_step: Direction must be \"near\" or \"far\", not \"\(s(32, "n"))\"")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.setProperty, ["Name": "ISO", "Value": "400"]),
                                    "set_property: Name 'ISO' may hold only a-z, 0-9 and _")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.getProperties, ["Name": ""]),
                                    "get_properties: Name is empty (leave it out to get all properties)")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.download, ["TransferID": 0]), "download: TransferID must not be 0")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.error, ["Code": 0, "Message": ""]), "error: Code must not be 0")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.startLiveView, ["MaxInFlight": 0]), "start_live_view: MaxInFlight must be 1 or more")
        WireFixtures.expectRejected(WireFixtures.plistFrame(.cameraLost, ["Reason": "a\u{0}b"], tag: 0),
                                    "camera_lost: Reason is not UTF-8 text (or holds a NUL)")
        // Missing keys and bound breaks together: the missing key is named first, as in C++.
        WireFixtures.expectRejected(WireFixtures.plistFrame(.setProperty, ["Name": "ISO"]), "set_property: Value is missing")
    }

    // MARK: - Payloads that are no binary plist dictionary

    func testPayloadsThatAreNoBinaryPlist() throws {
        WireFixtures.expectRejected(Frame(type: 103, tag: 1, payload: Data("<?xml version=\"1.0\"?><plist><dict/></plist>".utf8)),
                                    "set_property: payload is not a binary plist (no bplist00 magic)")
        let xml = try PropertyListSerialization.data(fromPropertyList: ["Name": "iso", "Value": "1"], format: .xml, options: 0)
        WireFixtures.expectRejected(Frame(type: 103, tag: 1, payload: xml), "set_property: payload is not a binary plist (no bplist00 magic)")
        WireFixtures.expectRejected(Frame(type: 103, tag: 1, payload: Data("bplist0".utf8)),
                                    "set_property: payload is not a binary plist (no bplist00 magic)")
        // Text after the magic that Foundation would read as an OpenStep plist.
        WireFixtures.expectRejected(Frame(type: 103, tag: 1, payload: Data("bplist00 = x; Name = iso; Value = 1;".utf8)),
                                    "set_property: binary plist does not parse")
        var truncated = WireFixtures.plist(["Name": "iso", "Value": "1"])
        truncated.count = 12
        WireFixtures.expectRejected(Frame(type: 103, tag: 1, payload: truncated), "set_property: binary plist does not parse")
        WireFixtures.expectRejected(Frame(type: 103, tag: 1, payload: WireFixtures.plist(["iso", "1"])),
                                    "set_property: binary plist is not a dictionary")
        WireFixtures.expectRejected(Frame(type: 111, tag: 1, payload: WireFixtures.plist("ok")), "ok: binary plist is not a dictionary")
        // A byte above 0x7F in a plist ASCII string object (C++ refuses it as not UTF-8):
        // Linux's Foundation reads such a string as Latin-1, which is still text; a
        // platform that refuses it says the plist does not parse. Never a crash.
        var lost = WireFixtures.plist(["Reason": "cafX"])
        let x = try XCTUnwrap(lost.firstIndex(of: UInt8(ascii: "X")))
        lost[x] = 0xC3
        do {
            let decoded = try CameraCodec.decodeMessage(Frame(type: 123, payload: lost))
            XCTAssertEqual(decoded, .cameraLost(reason: "caf\u{C3}"))
        } catch {
            XCTAssertEqual(error as? WireError, WireError(.malformed, "camera_lost: binary plist does not parse"))
        }
    }

    func testEmptyPayloadIsAnEmptyDictionary() throws {
        XCTAssertEqual(try CameraCodec.decodeRequest(Frame(type: 105, tag: 1)), .capture)
        XCTAssertEqual(try CameraCodec.decodeRequest(Frame(type: 108, tag: 1)), .startLiveView(maxInFlight: nil))
        XCTAssertEqual(try CameraCodec.decodeRequest(Frame(type: 101, tag: 1)), .getProperties(name: nil))
        XCTAssertEqual(try CameraCodec.decodeMessage(Frame(type: 111, tag: 1)), .ok)
        XCTAssertEqual(try CameraCodec.decodeMessage(Frame(type: 123)), .cameraLost(reason: nil))
        WireFixtures.expectRejected(Frame(type: 103, tag: 1), "set_property: Name is missing")
    }

    func testBulkPayloadsShorterThanTheirHeader() {
        WireFixtures.expectRejected(Frame(type: 130, payload: Data(count: 15)),
                                    "live_view_frame: payload of 15 bytes is shorter than its 16-byte header")
        WireFixtures.expectRejected(Frame(type: 131, tag: 4, payload: Data(count: 19)),
                                    "image_chunk: payload of 19 bytes is shorter than its 20-byte header")
        WireFixtures.expectRejected(Frame(type: 130), "live_view_frame: payload of 0 bytes is shorter than its 16-byte header")
    }

    func testUnknownTypes() {
        for type: UInt32 in [150, 114, 125, 99, 1, 0xFFFF_FFFF] {
            XCTAssertThrowsError(try CameraCodec.decodeRequest(Frame(type: type, tag: 3))) { e in
                XCTAssertEqual(e as? WireError, WireError(.unsupportedType, "frame type \(type) is not part of the camera protocol version 1"))
                XCTAssertEqual((e as? WireError)?.errorCode, .notSupported)
            }
            XCTAssertEqual(try CameraCodec.decodeMessage(Frame(type: type, tag: 0)), .unknown(type: type))
        }
        // The other side's types.
        XCTAssertThrowsError(try CameraCodec.decodeRequest(Frame(type: 111, tag: 3))) {
            XCTAssertEqual($0 as? WireError, WireError(.unsupportedType, "frame type 111 (ok) is not a request"))
        }
        XCTAssertEqual(try CameraCodec.decodeMessage(CameraCodec.encode(Request.capture, tag: 3)), .unknown(type: 105))
        XCTAssertEqual(CameraCodec.encode(Message.unknown(type: 150), tag: 2), Frame(type: 150, tag: 2))
    }
}
