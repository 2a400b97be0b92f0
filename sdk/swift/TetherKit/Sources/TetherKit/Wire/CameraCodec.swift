import Foundation

/// The camera protocol's codec (PROTOCOL.md §4–§8): typed messages to PeerTalk frames and
/// back, in both directions, so an app can play the controller and a test can play the
/// camera.
///
/// **Decoding checks everything.** A frame that misses a key, has a key of the wrong
/// type, or breaks a bound of §8 throws a ``WireError`` whose text names the message and
/// the field as the C++ codec does (`set_property: Value is missing`); a camera sends it
/// back as the `Message` of `error` code 1 (``WireError/errorCode``). Unknown
/// dictionary keys are ignored.
///
/// **Encoding writes what it is given.** It does not refuse a message that breaks a
/// bound (the peer would answer `bad request`): call `validate(_:)` first to catch
/// one, for example for text a user typed. What encode writes, decode reads back equal,
/// as long as validate passed.
public enum CameraCodec {
    // MARK: - Controller → camera

    /// `request` as a frame with `tag` (non-zero for a request that gets a reply; 0 for
    /// `hello` and `liveViewAck`, §3).
    public static func encode(_ request: Request, tag: UInt32) -> Frame {
        Frame(type: request.frameType.rawValue, tag: tag, payload: PlistPayload.serialize(fields(of: request)))
    }

    /// The request in `frame`, as a camera reads it.
    ///
    /// - Throws: ``WireError``: `.malformed` for a frame that breaks the protocol's rules
    ///   (answer `bad request`), `.unsupportedType` for a type that is no request
    ///   (answer `not supported`), `.endOfStream` for type 0.
    public static func decodeRequest(_ frame: Frame) throws -> Request {
        guard let type = FrameType(rawValue: frame.type), type.isSentByController else {
            throw notARequest(frame.type)
        }
        let context = type.name
        let f = PlistFields(dict: try PlistPayload.parse(frame.payload, context: context), context: context)
        let check = FieldCheck(context: context)
        switch type {
        case .hello:
            let hello = try readHello(f)
            try check.hello(hello)
            return .hello(hello)
        case .getProperties:
            let name = try f.string("Name", required: false)
            try check.getPropertiesName(name)
            return .getProperties(name: name)
        case .setProperty:
            let name = try f.requiredString("Name")
            let value = try f.requiredString("Value")
            try check.propertyName("Name", name)
            try check.text("Value", value, max: WireLimits.maxValue)
            return .setProperty(name: name, value: value)
        case .capture:
            return .capture
        case .autofocus:
            return .autofocus
        case .focusStep:
            let direction = try f.choice("Direction", FocusDirection.self)
            let size = try f.choice("Size", FocusStepSize.self)
            return .focusStep(direction: direction, size: size)
        case .startLiveView:
            let n = try f.integer("MaxInFlight", max: UInt64(WireLimits.maxInFlight), required: false).map { Int($0) }
            try check.maxInFlight(n)
            return .startLiveView(maxInFlight: n)
        case .stopLiveView:
            return .stopLiveView
        case .download:
            let transferID = try f.requiredInteger("TransferID", max: UInt64(UInt32.max))
            let offset = try f.integer("Offset", max: WireLimits.maxFileSize, required: false) ?? 0
            try check.integer("TransferID", transferID, max: UInt64(UInt32.max), notZero: true)
            return .download(transferID: UInt32(transferID), offset: offset)
        case .liveViewAck:
            let sequence = try f.requiredInteger("Sequence", max: UInt64(UInt32.max))
            return .liveViewAck(sequence: UInt32(sequence))
        default:
            throw notARequest(frame.type)  // not reached: isSentByController said so
        }
    }

    /// Throws the ``WireError`` that decoding would throw for `request`: the first field
    /// that breaks a bound of §8 or a rule of §6, named as decoding names it.
    public static func validate(_ request: Request) throws {
        let check = FieldCheck(context: request.frameType.name)
        switch request {
        case .hello(let hello):
            try check.hello(hello)
        case .getProperties(let name):
            try check.getPropertiesName(name)
        case .setProperty(let name, let value):
            try check.propertyName("Name", name)
            try check.text("Value", value, max: WireLimits.maxValue)
        case .capture, .autofocus, .stopLiveView, .focusStep, .liveViewAck:
            break
        case .startLiveView(let n):
            try check.maxInFlight(n)
        case .download(let transferID, let offset):
            try check.integer("TransferID", UInt64(transferID), max: UInt64(UInt32.max), notZero: true)
            try check.integer("Offset", offset, max: WireLimits.maxFileSize)
        }
    }

    // MARK: - Camera → controller

    /// `message` as a frame with `tag` (the request's for a reply, the download's for an
    /// image chunk, 0 for an event). A live-view frame always goes with tag 0 (§4).
    /// ``Message/unknown(type:)`` becomes a frame of that type with an empty payload.
    public static func encode(_ message: Message, tag: UInt32) -> Frame {
        switch message {
        case .liveViewFrame(let frame):
            return Frame(type: FrameType.liveViewFrame.rawValue, tag: Frame.noTag, payload: frame.payload())
        case .imageChunk(let chunk):
            return Frame(type: FrameType.imageChunk.rawValue, tag: tag, payload: chunk.payload())
        case .unknown(let type):
            return Frame(type: type, tag: tag)
        default:
            // Every other case has a frame type and a plist payload.
            return Frame(type: message.frameType!.rawValue, tag: tag,
                         payload: PlistPayload.serialize(fields(of: message)))
        }
    }

    /// The message in `frame`, as a controller reads it. A frame of a type a controller
    /// does not take (a newer camera's, or a request's) is ``Message/unknown(type:)``.
    ///
    /// - Throws: ``WireError``: `.malformed` for a frame that breaks the protocol's rules,
    ///   `.endOfStream` for type 0.
    public static func decodeMessage(_ frame: Frame) throws -> Message {
        if frame.type == Frame.endOfStreamType { throw endOfStream }
        guard let type = FrameType(rawValue: frame.type), type.isSentByCamera else {
            return .unknown(type: frame.type)
        }
        if type == .liveViewFrame { return .liveViewFrame(try LiveViewFrame(payload: frame.payload)) }
        if type == .imageChunk { return .imageChunk(try ImageChunk(payload: frame.payload)) }
        let context = type.name
        let f = PlistFields(dict: try PlistPayload.parse(frame.payload, context: context), context: context)
        let check = FieldCheck(context: context)
        switch type {
        case .hello:
            let hello = try readHello(f)
            try check.hello(hello)
            return .hello(hello)
        case .properties:
            let items = try f.properties("Properties")
            try check.properties(items)
            return .properties(items)
        case .propertySet:
            let set = PropertySet(name: try f.requiredString("Name"),
                                  requested: try f.requiredString("Requested"),
                                  applied: try f.requiredString("Applied"))
            try check.propertySet(set)
            return .propertySet(set)
        case .ok:
            return .ok
        case .error:
            let code = try f.requiredInteger("Code", max: UInt64(UInt32.max))
            let text = try f.requiredString("Message")
            let error = CameraProtocolError(code: ErrorCode(rawValue: UInt32(code)), message: text)
            try check.error(error)
            return .error(error)
        case .propertyChanged:
            let property = try f.property()
            try check.property(property)
            return .propertyChanged(property)
        case .captureDone:
            let done = CaptureDone(transferID: UInt32(try f.requiredInteger("TransferID", max: UInt64(UInt32.max))),
                                   fileName: try f.requiredString("FileName"),
                                   size: try f.requiredInteger("Size", max: WireLimits.maxFileSize),
                                   mimeType: try f.requiredString("MimeType"))
            try check.captureDone(done)
            return .captureDone(done)
        case .cameraAttached:
            let model = try f.requiredString("Model")
            let serial = try f.string("Serial", required: false)
            try check.cameraAttached(model: model, serial: serial)
            return .cameraAttached(model: model, serial: serial)
        case .cameraLost:
            let reason = try f.string("Reason", required: false)
            try check.cameraLost(reason: reason)
            return .cameraLost(reason: reason)
        case .liveViewStats:
            let maxCount = UInt64(WireLimits.maxStatistic)
            let stats = LiveViewStats(fps: try f.number("Fps"), cameraFps: try f.number("CameraFps"),
                                      meanAgeMs: try f.number("MeanAgeMs"), maxAgeMs: try f.number("MaxAgeMs"),
                                      delivered: try f.requiredInteger("Delivered", max: maxCount),
                                      dropped: try f.requiredInteger("Dropped", max: maxCount))
            try check.stats(stats)
            return .liveViewStats(stats)
        default:
            return .unknown(type: frame.type)  // not reached: the types above are all the camera's
        }
    }

    /// Throws the ``WireError`` that decoding would throw for `message`: the first field
    /// that breaks a bound of §8 or a rule of §5.2 or §6.
    public static func validate(_ message: Message) throws {
        let check = FieldCheck(context: message.frameType?.name ?? "")
        switch message {
        case .hello(let hello):
            try check.hello(hello)
        case .properties(let items):
            try check.properties(items)
        case .propertySet(let set):
            try check.propertySet(set)
        case .ok, .unknown:
            break
        case .error(let error):
            try check.error(error)
        case .propertyChanged(let property):
            try check.property(property)
        case .captureDone(let done):
            try check.captureDone(done)
        case .cameraAttached(let model, let serial):
            try check.cameraAttached(model: model, serial: serial)
        case .cameraLost(let reason):
            try check.cameraLost(reason: reason)
        case .liveViewStats(let stats):
            try check.stats(stats)
        case .liveViewFrame(let f):
            try check.liveViewFrame(width: f.width, height: f.height, jpeg: f.jpeg)
        case .imageChunk(let c):
            try check.imageChunk(transferID: c.transferID, offset: c.offset, totalSize: c.totalSize, count: c.data.count)
        }
    }

    // MARK: - Inside

    private static let endOfStream = WireError(.endOfStream, "end of stream (frame type 0) is not a message: close the channel")

    private static func notARequest(_ type: UInt32) -> WireError {
        if type == Frame.endOfStreamType { return endOfStream }
        if let known = FrameType(rawValue: type) {
            return WireError(.unsupportedType, "frame type \(type) (\(known.name)) is not a request")
        }
        return WireError(.unsupportedType, "frame type \(type) is not part of the camera protocol version 1")
    }

    private static func readHello(_ f: PlistFields) throws -> Hello {
        let version = try f.requiredInteger("Version", max: UInt64(UInt32.max))
        let role = try f.choice("Role", Hello.Role.self)
        let name = try f.requiredString("Name")
        let capabilities = try f.strings("Capabilities", maxEntries: WireLimits.maxCapabilities) ?? []
        return Hello(version: UInt32(version), role: role, name: name, capabilities: capabilities)
    }

    // The dictionaries. Keys as in §6; optional keys are left out when nil.

    private static func fields(of hello: Hello) -> [String: Any] {
        ["Version": PlistPayload.integer(UInt64(hello.version)), "Role": hello.role.rawValue,
         "Name": hello.name, "Capabilities": hello.capabilities]
    }

    private static func fields(of p: Property) -> [String: Any] {
        ["Name": p.name, "Value": p.value, "Allowed": p.allowed, "Writable": p.writable]
    }

    private static func fields(of request: Request) -> [String: Any] {
        switch request {
        case .hello(let hello):
            return fields(of: hello)
        case .getProperties(let name):
            return name.map { ["Name": $0] } ?? [:]
        case .setProperty(let name, let value):
            return ["Name": name, "Value": value]
        case .capture, .autofocus, .stopLiveView:
            return [:]
        case .focusStep(let direction, let size):
            return ["Direction": direction.rawValue, "Size": size.rawValue]
        case .startLiveView(let n):
            // A negative count cannot be written as the unsigned integer the key is;
            // it is written as 0, which decoding refuses as validate does.
            return n.map { ["MaxInFlight": PlistPayload.integer(UInt64(max($0, 0)))] } ?? [:]
        case .download(let transferID, let offset):
            return ["TransferID": PlistPayload.integer(UInt64(transferID)), "Offset": PlistPayload.integer(offset)]
        case .liveViewAck(let sequence):
            return ["Sequence": PlistPayload.integer(UInt64(sequence))]
        }
    }

    private static func fields(of message: Message) -> [String: Any] {
        switch message {
        case .hello(let hello):
            return fields(of: hello)
        case .properties(let items):
            return ["Properties": items.map { fields(of: $0) }]
        case .propertySet(let set):
            return ["Name": set.name, "Requested": set.requested, "Applied": set.applied]
        case .ok, .unknown, .liveViewFrame, .imageChunk:
            return [:]
        case .error(let error):
            return ["Code": PlistPayload.integer(UInt64(error.code.rawValue)), "Message": error.message]
        case .propertyChanged(let property):
            return fields(of: property)
        case .captureDone(let done):
            return ["TransferID": PlistPayload.integer(UInt64(done.transferID)), "FileName": done.fileName,
                    "Size": PlistPayload.integer(done.size), "MimeType": done.mimeType]
        case .cameraAttached(let model, let serial):
            var d: [String: Any] = ["Model": model]
            if let serial { d["Serial"] = serial }
            return d
        case .cameraLost(let reason):
            return reason.map { ["Reason": $0] } ?? [:]
        case .liveViewStats(let s):
            return ["Fps": s.fps, "CameraFps": s.cameraFps, "MeanAgeMs": s.meanAgeMs, "MaxAgeMs": s.maxAgeMs,
                    "Delivered": PlistPayload.integer(s.delivered), "Dropped": PlistPayload.integer(s.dropped)]
        }
    }
}
