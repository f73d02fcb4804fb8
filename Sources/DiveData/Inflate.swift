// Inflate.swift: a DEFLATE decoder (RFC 1951), enough to unpack the book's zip downloads
// without a compression library. Table-driven Huffman decoding; output is streamed.

/// Decompresses raw DEFLATE data.
public enum Inflate {
    /// Decompresses a whole stream into memory.
    public static func decompress(_ input: [UInt8]) throws -> [UInt8] {
        var output: [UInt8] = []
        try input.withUnsafeBytes { bytes in
            try decompress(bytes) { output.append(contentsOf: $0) }
        }
        return output
    }

    /// Decompresses a stream, handing the output to `sink` in chunks of a few MiB.
    /// Throws `InflateError` on corrupt or truncated input.
    public static func decompress(_ input: UnsafeRawBufferPointer, sink: (ArraySlice<UInt8>) throws -> Void) throws {
        var decoder = Decoder(input: input)
        try decoder.run(sink: sink)
    }
}

/// Why a DEFLATE stream could not be decoded.
public struct InflateError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// A canonical Huffman code as a lookup table indexed by the next `bits` input bits
/// (least significant first): each entry is `symbol << 4 | codeLength`, 0 for an invalid code.
private struct HuffmanTable {
    var entries: [UInt16]
    var bits: Int

    init(lengths: [UInt8]) throws {
        var countPerLength = [Int](repeating: 0, count: 16)
        for length in lengths { countPerLength[Int(length)] += 1 }
        countPerLength[0] = 0
        let maxLength = max(1, lengths.max().map(Int.init) ?? 1)
        // Canonical codes: the first code of each length follows the last code of the length before.
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0, available = 1
        for length in 1...15 {
            code = (code + countPerLength[length - 1]) << 1
            nextCode[length] = code
            available = available * 2 - countPerLength[length]
            if available < 0 { throw InflateError(description: "over-subscribed Huffman code") }
        }
        bits = maxLength
        entries = [UInt16](repeating: 0, count: 1 << maxLength)
        for (symbol, length) in lengths.enumerated() where length > 0 {
            let length = Int(length)
            let code = nextCode[length]
            nextCode[length] += 1
            // DEFLATE sends Huffman codes most significant bit first into an LSB-first stream,
            // so the table is indexed by the bit-reversed code, repeated for every longer suffix.
            var reversed = 0
            for i in 0..<length where code & (1 << i) != 0 { reversed |= 1 << (length - 1 - i) }
            let entry = UInt16(symbol << 4 | length)
            for index in stride(from: reversed, to: entries.count, by: 1 << length) { entries[index] = entry }
        }
    }
}

private struct Decoder {
    let input: UnsafeRawBufferPointer
    var position = 0          // next input byte
    var bitBuffer: UInt64 = 0
    var bitCount = 0
    var paddingBytes = 0      // zero bytes read past the end, to let short codes finish
    var output: [UInt8] = []

    /// Output kept for back-references: DEFLATE distances reach at most 32 KiB back.
    static let window = 32 * 1024
    static let flushThreshold = 4 * 1024 * 1024

    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                    35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                     3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                      513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
                                       8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    /// The order in which code-length code lengths are sent.
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    init(input: UnsafeRawBufferPointer) {
        self.input = input
    }

    mutating func run(sink: (ArraySlice<UInt8>) throws -> Void) throws {
        var isLastBlock = false
        while !isLastBlock {
            isLastBlock = try bits(1) == 1
            switch try bits(2) {
            case 0: try storedBlock()
            case 1: try compressedBlock(Decoder.fixedTables.literal, Decoder.fixedTables.distance)
            case 2:
                let (literal, distance) = try dynamicTables()
                try compressedBlock(literal, distance)
            default: throw InflateError(description: "invalid block type 3")
            }
            try checkNotPastEnd()
            if output.count >= Decoder.flushThreshold + Decoder.window {
                let cut = output.count - Decoder.window
                try sink(output[0..<cut])
                output.removeSubrange(0..<cut)
            }
        }
        try sink(output[...])
    }

    // MARK: Bits

    /// Makes sure at least `count` bits (≤ 57) are buffered, padding with zeros past the end.
    @inline(__always)
    mutating func refill(_ count: Int) throws {
        while bitCount < count {
            var byte: UInt64 = 0
            if position < input.count {
                byte = UInt64(input[position])
                position += 1
            } else {
                paddingBytes += 1
                if paddingBytes > 8 { throw InflateError(description: "unexpected end of compressed data") }
            }
            bitBuffer |= byte << UInt64(bitCount)
            bitCount += 8
        }
    }

    @inline(__always)
    mutating func bits(_ count: Int) throws -> Int {
        if count == 0 { return 0 }
        try refill(count)
        let value = Int(bitBuffer & ((1 << UInt64(count)) - 1))
        bitBuffer >>= UInt64(count)
        bitCount -= count
        return value
    }

    /// Fails if a code was completed with padding bits, i.e. the input is truncated.
    func checkNotPastEnd() throws {
        if paddingBytes * 8 > bitCount { throw InflateError(description: "unexpected end of compressed data") }
    }

    @inline(__always)
    mutating func decode(_ table: HuffmanTable) throws -> Int {
        try refill(table.bits)
        let entry = Int(table.entries[Int(bitBuffer & ((1 << UInt64(table.bits)) - 1))])
        if entry == 0 { throw InflateError(description: "invalid Huffman code") }
        let length = entry & 15
        bitBuffer >>= UInt64(length)
        bitCount -= length
        return entry >> 4
    }

    // MARK: Blocks

    mutating func storedBlock() throws {
        // Skip to a byte boundary; the buffered whole bytes are handed back to the input.
        _ = try bits(bitCount % 8)
        let length = try bits(16), complement = try bits(16)
        guard length == ~complement & 0xFFFF else { throw InflateError(description: "corrupt stored block length") }
        try checkNotPastEnd()
        position -= bitCount / 8 - paddingBytes
        paddingBytes = 0
        bitBuffer = 0
        bitCount = 0
        guard position + length <= input.count else { throw InflateError(description: "unexpected end of stored block") }
        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[position..<position + length]))
        position += length
    }

    mutating func compressedBlock(_ literal: HuffmanTable, _ distance: HuffmanTable) throws {
        while true {
            let symbol = try decode(literal)
            if symbol < 256 {
                output.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let lengthCode = symbol - 257
                guard lengthCode < 29 else { throw InflateError(description: "invalid length code") }
                let length = Decoder.lengthBase[lengthCode] + (try bits(Decoder.lengthExtra[lengthCode]))
                let distanceCode = try decode(distance)
                guard distanceCode < 30 else { throw InflateError(description: "invalid distance code") }
                let back = Decoder.distanceBase[distanceCode] + (try bits(Decoder.distanceExtra[distanceCode]))
                guard back <= output.count else { throw InflateError(description: "distance too far back") }
                // Byte by byte: the source may overlap the bytes being written (runs).
                var from = output.count - back
                for _ in 0..<length {
                    output.append(output[from])
                    from += 1
                }
            }
        }
    }

    mutating func dynamicTables() throws -> (HuffmanTable, HuffmanTable) {
        let literalCount = try bits(5) + 257
        let distanceCount = try bits(5) + 1
        let codeLengthCount = try bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw InflateError(description: "too many codes") }
        var codeLengthLengths = [UInt8](repeating: 0, count: 19)
        for i in 0..<codeLengthCount { codeLengthLengths[Decoder.codeLengthOrder[i]] = UInt8(try bits(3)) }
        let codeLengthTable = try HuffmanTable(lengths: codeLengthLengths)

        var lengths: [UInt8] = []
        lengths.reserveCapacity(literalCount + distanceCount)
        while lengths.count < literalCount + distanceCount {
            let symbol = try decode(codeLengthTable)
            switch symbol {
            case 0...15: lengths.append(UInt8(symbol))
            case 16:
                guard let previous = lengths.last else { throw InflateError(description: "repeat with no previous length") }
                lengths += repeatElement(previous, count: 3 + (try bits(2)))
            case 17: lengths += repeatElement(0, count: 3 + (try bits(3)))
            default: lengths += repeatElement(0, count: 11 + (try bits(7)))
            }
        }
        guard lengths.count == literalCount + distanceCount else { throw InflateError(description: "too many code lengths") }
        guard lengths[256] != 0 else { throw InflateError(description: "no end-of-block code") }
        return (try HuffmanTable(lengths: Array(lengths[0..<literalCount])),
                try HuffmanTable(lengths: Array(lengths[literalCount...])))
    }

    /// The fixed codes of block type 1.
    static let fixedTables: (literal: HuffmanTable, distance: HuffmanTable) = {
        var literal = [UInt8](repeating: 8, count: 288)
        for i in 144..<256 { literal[i] = 9 }
        for i in 256..<280 { literal[i] = 7 }
        return (try! HuffmanTable(lengths: literal), try! HuffmanTable(lengths: [UInt8](repeating: 5, count: 30)))
    }()
}
