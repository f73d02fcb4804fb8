// The pieces of TensorBoard's event files against independent figures: CRC-32C against the
// standard check value and the iSCSI test vectors (RFC 3720), its masking, the hand-written
// protocol-buffer encoding of `tensorflow.Event`, and a whole record, byte for byte against what
// the tensorboard Python package's own protobuf classes and RecordWriter produce.
import Foundation
import Testing

@testable import DiveZoo

@Suite("TensorBoardEncoding") struct TensorBoardEncodingTests {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func crc32cMatchesTheStandardValues() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xff, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    /// The masked values are those of tensorboard's `masked_crc32c`.
    @Test func maskingRotatesAndAddsTheConstant() {
        #expect(CRC32C.masked(0) == 0xA282_EAD8)
        #expect(CRC32C.masked(0xE306_9283) == 0xC78A_B0E5)
        #expect(CRC32C.masked(0x8A91_36AA) == 0x0FD7_FFFA)
        #expect(CRC32C.masked(0x62A8_AB43) == 0xF909_B029)
        // The rotation by itself: the low 15 bits move to the top.
        #expect(CRC32C.masked(0x0000_7FFF) &- 0xA282_EAD8 == 0xFFFE_0000)
    }

    /// `event_pb2.Event(...).SerializeToString()` of the same events.
    @Test func eventsEncodeAsProtobufDoes() {
        #expect(hex(TensorBoardEvent.first(wallTime: 1.5)) == "09000000000000f83f1a0d627261696e2e4576656e743a32")
        let event = TensorBoardEvent.scalars([("loss", 2.5), ("step/lr", 0.001)], step: 300, wallTime: 1_700_000_000.25)
        #expect(hex(event) == "0900001040fc54d94110ac022a1d0a0b0a046c6f737315000020400a0e0a07737465702f6c72156f12833a")
        var w = ProtobufWriter()
        w.int64(2, -1)
        #expect(hex(w.bytes) == "10ffffffffffffffffff01")
        w = ProtobufWriter()
        w.varint(300)
        w.varint(0)
        w.varint(UInt64.max)
        #expect(hex(w.bytes) == "ac0200ffffffffffffffffff01")
    }

    /// tensorboard's `RecordWriter.write` of the two-scalar event above.
    @Test func aRecordIsFramedAsTensorBoardsWriterFramesIt() {
        let event = TensorBoardEvent.scalars([("loss", 2.5), ("step/lr", 0.001)], step: 300, wallTime: 1_700_000_000.25)
        #expect(
            hex(EventRecordFraming.record(event))
                == "2b00000000000000861bc34b0900001040fc54d94110ac022a1d0a0b0a046c6f737315000020400a0e0a07737465702f6c72156f12833af048639a")
    }

    /// An epoch's scalars carry the JSON metrics log's names, the optional ones only when present.
    @Test func anEpochsScalarsAreTheMetricsLogsFields() {
        var record = EpochRecord(epoch: 2, loss: 1.5, perplexity: nil, tokensPerSecond: 1000, lr: 0.1, seconds: 2)
        #expect(TensorBoardLog.scalars(record).map(\.tag) == ["loss", "tokens_per_s", "lr"])
        record.perplexity = 4.48
        record.validation = 0.25
        #expect(TensorBoardLog.scalars(record).map(\.tag) == ["loss", "perplexity", "tokens_per_s", "lr", "validation"])
        #expect(TensorBoardLog.scalars(record).map(\.value) == [1.5, 4.48, 1000, 0.1, 0.25])
    }
}
