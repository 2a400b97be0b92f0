import Foundation

// The bounds of PROTOCOL.md §8 and the value rules of §6, held against typed messages.
// Decoding runs them after reading a payload; CameraCodec.validate runs them before a
// send. The checks and their order are the C++ codec's (proto/camera/message_fields.cpp),
// so both report the same first problem in the same words.

/// Checks the fields of one message (or one property of a `properties` reply) and throws
/// the first problem as a `.malformed` ``WireError`` that starts with `context`.
struct FieldCheck {
    /// "hello", "properties: Properties[2]".
    let context: String

    func fail(_ text: String) -> WireError { .malformed("\(context): \(text)") }

    /// A string of at most `max` bytes of UTF-8 (and not empty when `nonEmpty`), without NUL.
    func text(_ key: String, _ s: String, max: Int, nonEmpty: Bool = false) throws {
        let bytes = s.utf8.count
        if bytes > max { throw fail("\(key) is \(bytes) bytes, more than \(max)") }
        if nonEmpty && bytes == 0 { throw fail("\(key) is empty") }
        // A Swift String is always valid Unicode; a NUL is what plists and C strings cannot carry.
        if s.utf8.contains(0) { throw fail("\(key) is not UTF-8 text (or holds a NUL)") }
    }

    /// At most `maxEntries` strings of at most `maxLength` bytes each.
    func list(_ key: String, _ items: [String], maxEntries: Int, maxLength: Int, nonEmpty: Bool) throws {
        if items.count > maxEntries {
            throw fail("\(key) has \(items.count) entries, more than \(maxEntries)")
        }
        for (i, s) in items.enumerated() {
            try text("\(key)[\(i)]", s, max: maxLength, nonEmpty: nonEmpty)
        }
    }

    /// A property name: 1 to 32 bytes of `a-z`, `0-9` and `_`.
    func propertyName(_ key: String, _ s: String) throws {
        try text(key, s, max: WireLimits.maxPropertyName, nonEmpty: true)
        let ok = s.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) ||
                (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_")
        }
        if !ok { throw fail("\(key) '\(s)' may hold only a-z, 0-9 and _") }
    }

    /// An integer of at most `max`, and not 0 when `notZero`.
    func integer(_ key: String, _ v: UInt64, max: UInt64, notZero: Bool = false) throws {
        if notZero && v == 0 { throw fail("\(key) must not be 0") }
        if v > max { throw fail("\(key) is \(v), more than \(max)") }
    }

    /// A `live_view_stats` number: 0 to 10⁹ (NaN is not one).
    func statistic(_ key: String, _ v: Double) throws {
        if !(v >= 0 && v <= WireLimits.maxStatistic) { throw fail("\(key) must be a number from 0 to 1e9") }
    }

    /// The keys of a property dictionary (§6.1).
    func property(_ p: Property) throws {
        try propertyName("Name", p.name)
        try text("Value", p.value, max: WireLimits.maxValue)
        try list("Allowed", p.allowed, maxEntries: WireLimits.maxAllowed, maxLength: WireLimits.maxValue, nonEmpty: false)
    }

    /// `capture_done.FileName`: 1 to 255 bytes, a plain name (no `/`, not `.` or `..`).
    func fileName(_ key: String, _ s: String) throws {
        try text(key, s, max: WireLimits.maxFileName, nonEmpty: true)
        if s.utf8.contains(UInt8(ascii: "/")) || s == "." || s == ".." {
            throw fail("\(key) must be a plain file name, without '/'")
        }
    }

    /// A `hello`.
    func hello(_ h: Hello) throws {
        if h.version == 0 { throw fail("Version must be 1 or more") }
        try text("Name", h.name, max: WireLimits.maxHelloName)
        try list("Capabilities", h.capabilities, maxEntries: WireLimits.maxCapabilities,
                 maxLength: WireLimits.maxCapability, nonEmpty: true)
    }

    /// `get_properties.Name`: absent for all properties, else a property name.
    func getPropertiesName(_ name: String?) throws {
        guard let name else { return }
        if name.isEmpty { throw fail("Name is empty (leave it out to get all properties)") }
        try propertyName("Name", name)
    }

    /// A `properties` reply.
    func properties(_ items: [Property]) throws {
        if items.count > WireLimits.maxProperties {
            throw fail("Properties has \(items.count) entries, more than \(WireLimits.maxProperties)")
        }
        for (i, p) in items.enumerated() {
            try FieldCheck(context: "\(context): Properties[\(i)]").property(p)
        }
    }

    /// `start_live_view.MaxInFlight`: absent, or 1 to 16.
    func maxInFlight(_ n: Int?) throws {
        guard let n else { return }
        if n < 1 { throw fail("MaxInFlight must be 1 or more") }
        if n > WireLimits.maxInFlight { throw fail("MaxInFlight is \(n), more than \(WireLimits.maxInFlight)") }
    }

    /// A `live_view_stats` event.
    func stats(_ s: LiveViewStats) throws {
        try statistic("Fps", s.fps)
        try statistic("CameraFps", s.cameraFps)
        try statistic("MeanAgeMs", s.meanAgeMs)
        try statistic("MaxAgeMs", s.maxAgeMs)
        try integer("Delivered", s.delivered, max: UInt64(WireLimits.maxStatistic))
        try integer("Dropped", s.dropped, max: UInt64(WireLimits.maxStatistic))
    }

    /// A `capture_done` event.
    func captureDone(_ c: CaptureDone) throws {
        try integer("TransferID", UInt64(c.transferID), max: UInt64(UInt32.max), notZero: true)
        try fileName("FileName", c.fileName)
        try integer("Size", c.size, max: WireLimits.maxFileSize)
        try text("MimeType", c.mimeType, max: WireLimits.maxMimeType, nonEmpty: true)
    }

    /// A `property_set` reply.
    func propertySet(_ s: PropertySet) throws {
        try propertyName("Name", s.name)
        try text("Requested", s.requested, max: WireLimits.maxValue)
        try text("Applied", s.applied, max: WireLimits.maxValue)
    }

    /// An `error` message: a code other than 0, a message of at most 1024 bytes.
    func error(_ e: CameraProtocolError) throws {
        if e.code.rawValue == 0 { throw fail("Code must not be 0") }
        try text("Message", e.message, max: WireLimits.maxMessage)
    }

    /// A `camera_attached` event.
    func cameraAttached(model: String, serial: String?) throws {
        try text("Model", model, max: WireLimits.maxModel)
        if let serial { try text("Serial", serial, max: WireLimits.maxModel) }
    }

    /// A `camera_lost` event.
    func cameraLost(reason: String?) throws {
        if let reason { try text("Reason", reason, max: WireLimits.maxMessage) }
    }

    /// The fields of a `live_view_frame` (§5.2).
    func liveViewFrame(width: UInt16, height: UInt16, jpeg: Data) throws {
        if width == 0 || height == 0 { throw fail("width and height must not be 0") }
        if jpeg.count > WireLimits.maxJPEG {
            throw fail("JPEG is \(jpeg.count) bytes, more than \(WireLimits.maxJPEG)")
        }
        if jpeg.count < 2 || jpeg[jpeg.startIndex] != 0xFF || jpeg[jpeg.startIndex + 1] != 0xD8 {
            throw fail("JPEG does not start with FF D8")
        }
    }

    /// The fields of an `image_chunk` (§5.2).
    func imageChunk(transferID: UInt32, offset: UInt64, totalSize: UInt64, count: Int) throws {
        if transferID == 0 { throw fail("transfer id must not be 0") }
        if count > WireLimits.maxChunk {
            throw fail("chunk data is \(count) bytes, more than \(WireLimits.maxChunk)")
        }
        let size = UInt64(count)
        if totalSize > WireLimits.maxFileSize {
            throw fail("total size \(totalSize) is more than \(WireLimits.maxFileSize)")
        }
        if offset > totalSize || size > totalSize - offset {
            throw fail("chunk of \(count) bytes at offset \(offset) runs past the total size \(totalSize)")
        }
        if size == 0 && totalSize != 0 {
            throw fail("chunk is empty (only an empty file has an empty chunk)")
        }
    }

    // MARK: - Words

    /// `"near" or "far"`, `"small", "medium" or "large"`.
    static func choices<E: RawRepresentable & CaseIterable>(_: E.Type) -> String where E.RawValue == String {
        let names = E.allCases.map { "\"\($0.rawValue)\"" }
        guard names.count > 1 else { return names.joined() }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// At most the first `bytes` bytes of `s` (a broken last character becomes U+FFFD),
    /// so a hostile value cannot make an error message long.
    static func prefix(_ s: String, bytes: Int) -> String {
        String(decoding: s.utf8.prefix(bytes), as: UTF8.self)
    }
}
