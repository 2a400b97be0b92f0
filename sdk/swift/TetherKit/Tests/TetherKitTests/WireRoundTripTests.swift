import Foundation
import XCTest
@testable import TetherKit

/// Every message type, encoded and decoded back, both ways round.
final class WireRoundTripTests: XCTestCase {
    private func throughReader(_ frame: Frame) throws -> Frame {
        var r = FrameReader()
        r.append(frame.encode())
        let f = try XCTUnwrap(try r.next())
        XCTAssertNil(try r.next())
        return f
    }

    func testEveryRequestRoundTrips() throws {
        var types = Set<FrameType>()
        for (name, request, tag) in WireFixtures.requests {
            XCTAssertNoThrow(try CameraCodec.validate(request), name)
            let frame = try throughReader(CameraCodec.encode(request, tag: tag))
            XCTAssertEqual(frame.type, request.frameType.rawValue, name)
            XCTAssertEqual(frame.tag, tag, name)
            XCTAssertEqual(try CameraCodec.decodeRequest(frame), request, name)
            types.insert(request.frameType)
        }
        XCTAssertEqual(types, Set(FrameType.allCases.filter(\.isSentByController)), "a request type has no sample")
    }

    func testEveryMessageRoundTrips() throws {
        var types = Set<FrameType>()
        for (name, message, tag) in WireFixtures.messages {
            XCTAssertNoThrow(try CameraCodec.validate(message), name)
            let frame = try throughReader(CameraCodec.encode(message, tag: tag))
            XCTAssertEqual(frame.type, message.frameType?.rawValue ?? 150, name)
            XCTAssertEqual(frame.tag, tag, name)
            XCTAssertEqual(try CameraCodec.decodeMessage(frame), message, name)
            if let t = message.frameType { types.insert(t) }
        }
        XCTAssertEqual(types, Set(FrameType.allCases.filter(\.isSentByCamera)), "a message type has no sample")
    }

    func testPayloadsThatAreSlicesDecodeTheSame() throws {
        // A Data slice keeps its parent's indices: decoding must not assume index 0.
        for (name, message, tag) in WireFixtures.messages {
            let frame = CameraCodec.encode(message, tag: tag)
            let padded = Data([1, 2, 3]) + frame.payload + Data([4])
            let slice = padded[3..<(3 + frame.payload.count)]
            XCTAssertNotEqual(slice.startIndex, 0)
            XCTAssertEqual(try CameraCodec.decodeMessage(Frame(type: frame.type, tag: tag, payload: slice)), message, name)
        }
        for (name, request, tag) in WireFixtures.requests {
            let frame = CameraCodec.encode(request, tag: tag)
            let slice = (Data([9]) + frame.payload).dropFirst()
            XCTAssertEqual(try CameraCodec.decodeRequest(Frame(type: frame.type, tag: tag, payload: slice)), request, name)
        }
        // Decoded bulk data starts at index 0.
        guard case .liveViewFrame(let lv) = try CameraCodec.decodeMessage(
            CameraCodec.encode(.liveViewFrame(LiveViewFrame(sequence: 1, timestamp: 2, width: 3, height: 4, jpeg: WireFixtures.tinyJPEG)), tag: 0))
        else { return XCTFail("not a live-view frame") }
        XCTAssertEqual(lv.jpeg.startIndex, 0)
    }

    func testFrameTypesAreDistinctAndAbove99() {
        XCTAssertEqual(FrameType.allCases.count, 21)
        XCTAssertTrue(FrameType.allCases.allSatisfy { $0.rawValue >= 100 })
        XCTAssertEqual(Set(FrameType.allCases.map(\.name)).count, 21)
        XCTAssertEqual(FrameType.name(of: 103), "set_property")
        XCTAssertEqual(FrameType.name(of: 0), "end_of_stream")
        XCTAssertEqual(FrameType.name(of: 150), "type 150")
        XCTAssertEqual(FrameType.allCases.filter(\.isBulk), [.liveViewFrame, .imageChunk])
    }

    func testControlPayloadsAreBinaryPlistDictionaries() throws {
        let f = CameraCodec.encode(Message.ok, tag: 9)
        XCTAssertTrue(f.payload.starts(with: Data("bplist00".utf8)))
        var format = PropertyListSerialization.PropertyListFormat.xml
        let root = try PropertyListSerialization.propertyList(from: f.payload, options: [], format: &format)
        XCTAssertEqual(format, .binary)
        XCTAssertEqual((root as? [String: Any])?.count, 0)
        // Keys and value types as §6 has them, read by plain Foundation.
        let hello = CameraCodec.encode(Request.hello(Hello(role: .controller, name: "iPad", capabilities: ["capture"])), tag: 0)
        let d = try XCTUnwrap(try PropertyListSerialization.propertyList(from: hello.payload, options: [], format: nil) as? [String: Any])
        XCTAssertEqual(Set(d.keys), ["Version", "Role", "Name", "Capabilities"])
        XCTAssertEqual((d["Version"] as? NSNumber)?.intValue, 1)
        XCTAssertEqual(d["Role"] as? String, "controller")
        XCTAssertEqual(d["Capabilities"] as? [String], ["capture"])
        // Optional keys are left out when nil.
        let all = try XCTUnwrap(try PropertyListSerialization.propertyList(
            from: CameraCodec.encode(Request.getProperties(), tag: 1).payload, options: [], format: nil) as? [String: Any])
        XCTAssertTrue(all.isEmpty)
        let unacked = try XCTUnwrap(try PropertyListSerialization.propertyList(
            from: CameraCodec.encode(Request.startLiveView(), tag: 1).payload, options: [], format: nil) as? [String: Any])
        XCTAssertTrue(unacked.isEmpty)
    }

    func testBulkFrameBytes() {
        // live_view_frame: always tag 0, whatever tag is asked for.
        let lv = CameraCodec.encode(Message.liveViewFrame(LiveViewFrame(sequence: 42, timestamp: 0x0102_0304_0506_0708,
                                                                         width: 1920, height: 1080, jpeg: WireFixtures.tinyJPEG)), tag: 77)
        XCTAssertEqual(lv.encode(), Data([0, 0, 0, 1, 0, 0, 0, 0x82, 0, 0, 0, 0, 0, 0, 0, 30,
                                          0, 0, 0, 0x2A, 1, 2, 3, 4, 5, 6, 7, 8, 0x07, 0x80, 0x04, 0x38]) + WireFixtures.tinyJPEG)
        let chunk = CameraCodec.encode(Message.imageChunk(ImageChunk(transferID: 5, offset: 0xFFFF_FFFD,
                                                                     totalSize: 0x1_0000_0000, data: Data([0xAA, 0xBB, 0xCC]))), tag: 9)
        XCTAssertEqual(chunk.encode(), Data([0, 0, 0, 1, 0, 0, 0, 0x83, 0, 0, 0, 9, 0, 0, 0, 23,
                                             0, 0, 0, 5, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFD, 0, 0, 0, 1, 0, 0, 0, 0,
                                             0xAA, 0xBB, 0xCC]))
    }

    func testImageChunkProgress() {
        let c = ImageChunk(transferID: 1, offset: 5_242_880, totalSize: 6_021_120, data: Data(count: 778_240))
        XCTAssertTrue(c.isLast)
        XCTAssertEqual(c.progress, 1)
        XCTAssertEqual(ImageChunk(transferID: 1, offset: 0, totalSize: 4, data: Data(count: 1)).progress, 0.25)
        XCTAssertTrue(ImageChunk(transferID: 1, offset: 0, totalSize: 0, data: Data()).isLast)
    }

    func testErrorCodesKeepUnknownNumbers() throws {
        XCTAssertEqual(ErrorCode(rawValue: 3), .valueNotAllowed)
        XCTAssertEqual(ErrorCode(rawValue: 42), .unknown(42))
        XCTAssertEqual(ErrorCode.unknown(3), .valueNotAllowed)  // by number
        XCTAssertEqual(ErrorCode.unknown(42).rawValue, 42)
        XCTAssertEqual(ErrorCode.internal.rawValue, 7)
        XCTAssertEqual("\(ErrorCode.cameraBusy)", "camera busy")
        XCTAssertEqual("\(ErrorCode.unknown(42))", "error 42")
        XCTAssertEqual("\(ErrorCode.unknown(4))", "camera busy")
        for code: UInt32 in 1...9 { XCTAssertEqual(ErrorCode(rawValue: code).rawValue, code) }
        let e = CameraProtocolError(code: .unknown(42), message: "from a newer peer")
        XCTAssertEqual(try CameraCodec.decodeMessage(CameraCodec.encode(.error(e), tag: 3)), .error(e))
        XCTAssertEqual(e.localizedDescription, "error 42: from a newer peer")
    }

    func testSequencesCompareAsSerialNumbers() {
        XCTAssertTrue(isNewer(43, than: 42))
        XCTAssertFalse(isNewer(42, than: 42))
        XCTAssertFalse(isNewer(41, than: 42))
        // Across the wrap: 0 comes after 4294967295.
        XCTAssertTrue(isNewer(0, than: 0xFFFF_FFFF))
        XCTAssertTrue(isNewer(1, than: 0xFFFF_FFF0))
        XCTAssertFalse(isNewer(0xFFFF_FFFF, than: 0))
        XCTAssertTrue(isNewer(5, than: 0xFFFF_FFFF))
        // Within half the range.
        XCTAssertTrue(isNewer(0x7FFF_FFFF, than: 0))
        XCTAssertFalse(isNewer(0x8000_0000, than: 0))
    }

    func testHelloCapabilities() {
        let h = Hello(role: .camera, name: "Canon EOS R6", capabilities: ["live_view", "live_view_ack", "future_thing"])
        XCTAssertTrue(h.has(.liveView))
        XCTAssertTrue(h.has(.liveViewAck))
        XCTAssertFalse(h.has(.focusStep))
        XCTAssertEqual(Hello.Capability.allCases.map(\.rawValue),
                       ["live_view", "live_view_ack", "capture", "download", "autofocus", "focus_step", "properties"])
    }
}
