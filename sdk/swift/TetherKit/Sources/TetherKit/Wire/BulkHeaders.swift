import Foundation

// Bulk payloads (PROTOCOL.md §5.2): a fixed big-endian header, no padding, then raw bytes
// to the end of the payload. They are not plists because they carry megabytes: the
// JPEG or the piece of a file is the payload's tail, untouched.
//
//   live_view_frame (130): sequence u32, timestamp u64 (µs), width u16, height u16, JPEG
//   image_chunk (131):     transfer id u32, offset u64, total size u64, file data

extension LiveViewFrame {
    /// The frame's payload: the 16-byte header, then the JPEG.
    func payload() -> Data {
        var out = Data(capacity: WireLimits.liveViewHeaderSize + jpeg.count)
        WireBytes.append(sequence, to: &out)
        WireBytes.append(timestamp, to: &out)
        WireBytes.append(width, to: &out)
        WireBytes.append(height, to: &out)
        out.append(jpeg)
        return out
    }

    /// Reads a `live_view_frame` payload and holds it to §5.2 and §8.
    init(payload p: Data) throws {
        let check = FieldCheck(context: "live_view_frame")
        guard p.count >= WireLimits.liveViewHeaderSize else {
            throw WireError.malformed("live_view_frame: payload of \(p.count) bytes is shorter than its 16-byte header")
        }
        let width = WireBytes.load(UInt16.self, from: p, at: 12)
        let height = WireBytes.load(UInt16.self, from: p, at: 14)
        let jpegRange = p.startIndex + WireLimits.liveViewHeaderSize..<p.endIndex
        // Checked in place (a slice shares the bytes), copied out once it passed.
        try check.liveViewFrame(width: width, height: height, jpeg: p[jpegRange])
        self.init(sequence: WireBytes.load(UInt32.self, from: p, at: 0),
                  timestamp: WireBytes.load(UInt64.self, from: p, at: 4),
                  width: width, height: height, jpeg: p.subdata(in: jpegRange))
    }
}

extension ImageChunk {
    /// The chunk's payload: the 20-byte header, then the data.
    func payload() -> Data {
        var out = Data(capacity: WireLimits.imageChunkHeaderSize + data.count)
        WireBytes.append(transferID, to: &out)
        WireBytes.append(offset, to: &out)
        WireBytes.append(totalSize, to: &out)
        out.append(data)
        return out
    }

    /// Reads an `image_chunk` payload and holds it to §5.2 and §8.
    init(payload p: Data) throws {
        let check = FieldCheck(context: "image_chunk")
        guard p.count >= WireLimits.imageChunkHeaderSize else {
            throw WireError.malformed("image_chunk: payload of \(p.count) bytes is shorter than its 20-byte header")
        }
        let transferID = WireBytes.load(UInt32.self, from: p, at: 0)
        let offset = WireBytes.load(UInt64.self, from: p, at: 4)
        let totalSize = WireBytes.load(UInt64.self, from: p, at: 12)
        let count = p.count - WireLimits.imageChunkHeaderSize
        try check.imageChunk(transferID: transferID, offset: offset, totalSize: totalSize, count: count)
        self.init(transferID: transferID, offset: offset, totalSize: totalSize,
                  data: p.subdata(in: p.startIndex + WireLimits.imageChunkHeaderSize..<p.endIndex))
    }
}
