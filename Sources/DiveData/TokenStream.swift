// TokenStream.swift: a language model's token ids as one read-only collection, whether they live
// in memory (an array, a text tokenised on the spot) or in a token file mapped into memory (a big
// text's cache), so that a loader reads its windows from the file without copying the corpus.
import Foundation

/// Token ids, indexed from 0: held in memory, or a window of a file mapped read-only.
///
/// Copies share the ids; `TokenStream(rebasing:)` makes a part of a stream a stream of its own
/// without copying (a training part and a held-out part of one mapped file).
public struct TokenStream: RandomAccessCollection, Equatable, Sendable {
    private let storage: Storage
    /// Where the ids start in the storage's.
    private let offset: Int
    /// The number of ids.
    public let count: Int

    /// The memory the ids live in, freed (or unmapped) with the last stream that uses it.
    private final class Storage: @unchecked Sendable {
        /// The memory (allocated, or the whole mapped file) and the ids in it.
        let start: UnsafeMutableRawPointer, bytes: Int, mapped: Bool, ids: UnsafePointer<Int32>
        init(start: UnsafeMutableRawPointer, bytes: Int, mapped: Bool, ids: UnsafePointer<Int32>) {
            (self.start, self.bytes, self.mapped, self.ids) = (start, bytes, mapped, ids)
        }
        deinit { if mapped { munmap(start, bytes) } else { start.deallocate() } }
    }

    private init(storage: Storage, offset: Int, count: Int) {
        (self.storage, self.offset, self.count) = (storage, offset, count)
    }

    /// The first id.
    private var base: UnsafePointer<Int32> { storage.ids + offset }

    /// A copy of `tokens` in memory.
    public init<Tokens: Collection>(_ tokens: Tokens) where Tokens.Element == Int32 {
        self.init(count: tokens.count) { buffer in
            _ = buffer.initialize(from: tokens)
            return buffer.count
        }
    }

    /// `count` ids that `body` writes into fresh memory; it returns how many it wrote, and the
    /// stream is that many long (at most `count`).
    init(count: Int, initializingWith body: (UnsafeMutableBufferPointer<Int32>) throws -> Int) rethrows {
        let memory = UnsafeMutablePointer<Int32>.allocate(capacity: Swift.max(count, 1))
        let storage = Storage(start: UnsafeMutableRawPointer(memory), bytes: count * 4, mapped: false, ids: UnsafePointer(memory))
        let written = try body(UnsafeMutableBufferPointer(start: memory, count: count))
        precondition(written >= 0 && written <= count, "wrote \(written) of \(count) tokens")
        self.init(storage: storage, offset: 0, count: written)
    }

    /// A part of a stream as a stream of its own, indexed from 0, sharing the ids.
    public init(rebasing slice: Slice<TokenStream>) {
        self.init(storage: slice.base.storage, offset: slice.base.offset + slice.startIndex, count: slice.count)
    }

    /// The `count` little-endian Int32 ids that start `offset` bytes into the file at `url`
    /// (`offset` a multiple of 4), mapped read-only: the ids are read from the file as they are
    /// used. Throws `DataError.unreadable` when the file cannot be opened or mapped, or is too short.
    public static func mapping(_ url: URL, offset: Int, count: Int) throws -> TokenStream {
        precondition(offset >= 0 && offset % 4 == 0 && count >= 0, "a token window starts at a multiple of 4 bytes")
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw DataError.unreadable(path: url.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataError.unreadable(path: url.path, reason: String(cString: strerror(errno))) }
        let bytes = Int(info.st_size)
        guard offset + 4 * count <= bytes else {
            throw DataError.unreadable(path: url.path, reason: "it holds \(bytes) bytes, fewer than its \(count) tokens need")
        }
        guard bytes > 0 else { return TokenStream([]) }
        guard let start = mmap(nil, bytes, PROT_READ, MAP_PRIVATE, fd, 0), start != MAP_FAILED else {
            throw DataError.unreadable(path: url.path, reason: "cannot map it into memory: \(String(cString: strerror(errno)))")
        }
        let ids = UnsafePointer<Int32>((start + offset).assumingMemoryBound(to: Int32.self))
        let storage = Storage(start: start, bytes: bytes, mapped: true, ids: ids)
        #if _endian(big)
            return TokenStream(UnsafeBufferPointer(start: ids, count: count).map { Int32(littleEndian: $0) })
        #else
            return TokenStream(storage: storage, offset: 0, count: count)
        #endif
    }

    /// Tells the system that the ids' pages can be dropped from memory (they are read back from
    /// the file when next used): after a pass over a mapped stream, so that it does not stay resident.
    public func release() {
        guard storage.mapped, count > 0 else { return }
        let start = storage.start
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: base) - Int(bitPattern: start)) / page * page
        let end = Swift.min(storage.bytes, Int(bitPattern: base + count) - Int(bitPattern: start))
        madvise(start + first, end - first, Int32(MADV_DONTNEED))
    }

    /// 0.
    public var startIndex: Int { 0 }
    /// `count`.
    public var endIndex: Int { count }

    /// The id at `position` (0 ..< count).
    public subscript(position: Int) -> Int32 {
        precondition(position >= 0 && position < count, "token index \(position) out of range 0..<\(count)")
        return base[position]
    }

    /// Calls `body` with the ids as one buffer.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Int32>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// The ids as one buffer (they always are one).
    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<Int32>) throws -> R) rethrows -> R? {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// Equal ids in the same order.
    public static func == (lhs: TokenStream, rhs: TokenStream) -> Bool {
        lhs.count == rhs.count && (lhs.base == rhs.base || lhs.elementsEqual(rhs))
    }
}
