// Text from a C buffer that a driver filled in (a device name, a build log): the bytes up to the
// first NUL, decoded as UTF-8 (invalid bytes become U+FFFD).

extension String {
    /// The text of `buffer` up to its first NUL (all of it when there is none).
    init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
