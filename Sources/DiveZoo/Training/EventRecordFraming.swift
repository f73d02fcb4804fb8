// The record framing of TensorBoard's event files (TFRecord): each record is its data's length as a
// little-endian UInt64, the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of
// the data. CRC-32C is the Castagnoli polynomial (reflected 0x82F63B78, initial value and final
// XOR 0xFFFFFFFF), computed a byte at a time from a 256-entry table; the mask rotates the CRC right
// by 15 bits and adds 0xa282ead8 modulo 2^32.

/// CRC-32C (Castagnoli), the checksum of TensorBoard's event records.
enum CRC32C {
    /// The remainder of each byte value under the reflected polynomial 0x82F63B78.
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// The CRC-32C of `bytes`: "123456789" gives 0xE3069283.
    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// The form records store: `crc` rotated right by 15 bits, plus 0xa282ead8 (wrapping).
    static func masked(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8 }
}

/// One record of an event file around its data (a serialized `tensorflow.Event`).
enum EventRecordFraming {
    /// Length, the length's masked CRC-32C, `data`, the data's masked CRC-32C.
    static func record(_ data: [UInt8]) -> [UInt8] {
        let length = littleEndianBytes(UInt64(data.count))
        var out = length
        out.reserveCapacity(data.count + 16)
        out += littleEndianBytes(CRC32C.masked(CRC32C.checksum(length)))
        out += data
        out += littleEndianBytes(CRC32C.masked(CRC32C.checksum(data)))
        return out
    }
}

/// `value`'s bytes, least significant first.
func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
}
