// The few `tensorflow.Event` messages TensorBoard's event files hold, in the protocol-buffer wire
// format, encoded by hand: a field's key is the varint (number << 3 | wire type); varints carry 7
// bits a byte, least significant first; fixed64 and fixed32 are little-endian; strings and nested
// messages are their length (a varint) and bytes. Event: 1 wall_time (double), 2 step (int64),
// 3 file_version (string), 5 summary (Summary); Summary: 1 value (repeated Summary.Value);
// Summary.Value: 1 tag (string), 2 simple_value (float). As proto3 does, a step of 0 is left out.

/// The protocol-buffer encoding of one message, written field by field.
struct ProtobufWriter {
    /// The wire types used here.
    enum WireType: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// The message so far.
    private(set) var bytes: [UInt8] = []

    /// `value` 7 bits a byte, least significant first, the high bit set on all but the last.
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A field's key: its number and wire type.
    mutating func key(_ field: Int, _ wire: WireType) { varint(UInt64(field) << 3 | wire.rawValue) }

    /// An int64 field (negative values take ten bytes, as two's complement).
    mutating func int64(_ field: Int, _ value: Int64) {
        key(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    /// A double field (fixed64).
    mutating func double(_ field: Int, _ value: Double) {
        key(field, .fixed64)
        bytes += littleEndianBytes(value.bitPattern)
    }

    /// A float field (fixed32).
    mutating func float(_ field: Int, _ value: Float) {
        key(field, .fixed32)
        bytes += littleEndianBytes(value.bitPattern)
    }

    /// A length-delimited field: `data`'s length, then `data`.
    mutating func lengthDelimited(_ field: Int, _ data: [UInt8]) {
        key(field, .lengthDelimited)
        varint(UInt64(data.count))
        bytes += data
    }

    /// A string field, as UTF-8.
    mutating func string(_ field: Int, _ text: String) { lengthDelimited(field, Array(text.utf8)) }

    /// A nested message field, written by `fill`.
    mutating func message(_ field: Int, _ fill: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        fill(&nested)
        lengthDelimited(field, nested.bytes)
    }
}

/// Serialized `tensorflow.Event` messages: a file's first event, and scalar summaries.
enum TensorBoardEvent {
    /// The version the first event of every file names.
    static let version = "brain.Event:2"

    /// The first event of a file: its wall time and the format's `version`.
    static func first(wallTime: Double) -> [UInt8] {
        var event = ProtobufWriter()
        event.double(1, wallTime)
        event.string(3, version)
        return event.bytes
    }

    /// An event at `step` with one summary value (tag, simple_value) per scalar, in order.
    static func scalars(_ scalars: [(tag: String, value: Float)], step: Int64, wallTime: Double) -> [UInt8] {
        var event = ProtobufWriter()
        event.double(1, wallTime)
        if step != 0 { event.int64(2, step) }
        event.message(5) { summary in
            for scalar in scalars {
                summary.message(1) { value in
                    value.string(1, scalar.tag)
                    value.float(2, scalar.value)
                }
            }
        }
        return event.bytes
    }
}
