import Testing

// The memory pools' free list: exact-size buckets, the byte cap, and (with an order) the least
// handle first whatever order handles came back in, which is what keeps a repeated CUDA step's
// addresses, and so its graph's arguments, the same.
@testable import Dive

@Suite("FreeList") struct FreeListTests {
    @Test func lastInFirstOutWithoutOrder() {
        let list = FreeList<Int>(capBytes: 1 << 20)
        for h in [5, 1, 9] { #expect(list.put(h, byteCount: 64)) }
        #expect(list.take(byteCount: 64) == 9 && list.take(byteCount: 64) == 1 && list.take(byteCount: 64) == 5)
        #expect(list.take(byteCount: 64) == nil)
    }

    @Test func leastFirstWithOrderWhateverTheOrderPutBack() {
        for putOrder in [[7, 3, 11, 5, 108], [108, 11, 7, 5, 3], [5, 108, 3, 11, 7]] {
            let list = FreeList<Int>(capBytes: 1 << 20, order: <)
            for h in putOrder { #expect(list.put(h, byteCount: 256)) }
            #expect(list.put(1, byteCount: 128))  // another size, another bucket
            #expect((0..<5).map { _ in list.take(byteCount: 256)! } == [3, 5, 7, 11, 108], "put back as \(putOrder)")
            #expect(list.take(byteCount: 256) == nil && list.take(byteCount: 128) == 1)
        }
    }

    @Test func capRefusesWhatWouldExceedIt() {
        let list = FreeList<Int>(capBytes: 1000, order: <)
        #expect(list.put(1, byteCount: 600))
        #expect(!list.put(2, byteCount: 600))
        #expect(list.take(byteCount: 600) == 1 && list.put(2, byteCount: 600))
        #expect(list.drain() == [2] && list.take(byteCount: 600) == nil)
    }
}
