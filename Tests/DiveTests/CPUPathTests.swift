// CKernels' vector kernels on every CPU path this machine runs (AVX-512, AVX2+FMA, and the baseline
// that any x86-64 or arm64 runs), against double references: exp, log, tanh and sigmoid over a
// sweep of float bit patterns within their ulp bounds, special values, the softmax and LayerNorm
// rows and the narrow GEMM against plain double loops, and dropout's mask against CounterRNG bit
// for bit. The dispatcher must pick the widest path /proc/cpuinfo allows.
import CKernels
import Dive
import Foundation
import Testing

@Suite("CPUPaths") struct CPUPathTests {
    static let paths: [String] = ["avx512", "avx2+fma", "baseline"].filter { (name: String) in dive_cpu_kernels_named(name) != nil }

    /// Every 4099th float bit pattern (about a million floats of both signs and every exponent).
    static let sweep: [Float] = stride(from: UInt64(0), to: 1 << 32, by: 4099).map { Float(bitPattern: UInt32($0)) }.filter(\.isFinite)

    /// |y - reference| in units of the last place of the reference rounded to float.
    func ulps(_ y: Float, _ reference: Double) -> Double {
        let r = Float(reference)
        if r.isInfinite || r == 0 { return y == r || abs(Double(y) - reference) <= Double(Float.leastNonzeroMagnitude) ? 0 : .infinity }
        return abs(Double(y) - reference) / Double(r.ulp)
    }

    func worst(
        _ f: (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void, _ xs: [Float],
        _ reference: (Double) -> Double
    ) -> (ulps: Double, at: Float) {
        var y = [Float](repeating: .nan, count: xs.count)
        f(xs, &y, xs.count)
        var result = (ulps: 0.0, at: Float.nan)
        for (x, v) in zip(xs, y) {
            let e = ulps(v, reference(Double(x)))
            if !(e <= result.ulps) { result = (e, x) }
        }
        return result
    }

    @Test(arguments: paths) func transcendentalsStayWithinTheirBounds(_ path: String) throws {
        let k = try #require(dive_cpu_kernels_named(path)).pointee
        let sweep = Self.sweep
        let exp = worst(k.exp, sweep.filter { $0 < 88.7 }) { Foundation.exp($0) }
        let log = worst(k.log, sweep.filter { $0 > 0 }) { Foundation.log($0) }
        let tanh = worst(k.tanh, sweep) { Foundation.tanh($0) }
        let sigmoid = worst(k.sigmoid, sweep) { 1 / (1 + Foundation.exp(-$0)) }
        print("\(path): exp \(exp.ulps) ulp, log \(log.ulps), tanh \(tanh.ulps), sigmoid \(sigmoid.ulps)")
        #expect(exp.ulps <= 1.5, "exp: \(exp.ulps) ulp at \(exp.at)")
        #expect(log.ulps <= 1.5, "log: \(log.ulps) ulp at \(log.at)")
        #expect(tanh.ulps <= 3, "tanh: \(tanh.ulps) ulp at \(tanh.at)")
        #expect(sigmoid.ulps <= 3, "sigmoid: \(sigmoid.ulps) ulp at \(sigmoid.at)")

        // Special values, each in a buffer of 11 so both the vector and the tail code see them.
        func apply(_ f: (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void, _ x: Float) -> [Float] {
            let xs = [Float](repeating: x, count: 11)
            var y = [Float](repeating: 7, count: 11)
            f(xs, &y, 11)
            return y
        }
        #expect(apply(k.exp, -.infinity).allSatisfy { $0 == 0 } && apply(k.exp, .infinity).allSatisfy { $0 == .infinity })
        #expect(apply(k.exp, 100).allSatisfy { $0 == .infinity } && apply(k.exp, .nan).allSatisfy(\.isNaN))
        #expect(apply(k.log, 0).allSatisfy { $0 == -.infinity } && apply(k.log, -1).allSatisfy(\.isNaN))
        #expect(apply(k.log, .infinity).allSatisfy { $0 == .infinity } && apply(k.log, .nan).allSatisfy(\.isNaN))
        #expect(apply(k.tanh, -.infinity).allSatisfy { $0 == -1 } && apply(k.tanh, .nan).allSatisfy(\.isNaN))
        #expect(apply(k.tanh, -0.0).allSatisfy { $0 == 0 && $0.sign == .minus })
        #expect(apply(k.sigmoid, -.infinity).allSatisfy { $0 == 0 } && apply(k.sigmoid, .infinity).allSatisfy { $0 == 1 })
    }

    @Test(arguments: paths) func rowsMatchDoubleLoops(_ path: String) throws {
        let k = try #require(dive_cpu_kernels_named(path)).pointee
        var rng = TestRNG(5)
        for n in [1, 7, 8, 15, 16, 17, 33, 200] {
            let x = rng.array(n).map { Float($0 * 4) }, gamma = rng.array(n).map(Float.init), beta = rng.array(n).map(Float.init)
            for valid in Set([0, 1, n / 2, n]) {
                var y = [Float](repeating: .nan, count: n)
                k.softmax_row(x, &y, n, valid)
                let logits = (0..<n).map { $0 < valid ? Double(x[$0]) : Double(DIVE_MASKED_LOGIT) }
                let m = logits.max()!, e = logits.map { Foundation.exp($0 - m) }, s = e.reduce(0, +)
                for j in 0..<n { #expect(abs(Double(y[j]) - e[j] / s) <= 1e-6, "\(path) softmax n \(n) valid \(valid) at \(j)") }
            }
            var m: Float = 0
            let sum = k.exp_sum_row(x, nil, n, &m)
            let xm = x.map(Double.init).max()!
            #expect(m == Float(xm) && abs(Double(sum) - x.map { Foundation.exp(Double($0) - xm) }.reduce(0, +)) <= 1e-5 * Double(n))

            var y = [Float](repeating: .nan, count: n), mean: Float = 0, rstd: Float = 0
            k.layer_norm_row(x, gamma, beta, &y, n, 1e-5, &mean, &rstd)
            let mu = x.map(Double.init).reduce(0, +) / Double(n)
            let variance = x.map { (Double($0) - mu) * (Double($0) - mu) }.reduce(0, +) / Double(n)
            let r = 1 / (variance + 1e-5).squareRoot()
            #expect(abs(Double(mean) - mu) <= 1e-5 && abs(Double(rstd) - r) <= 1e-4 * r)
            for j in 0..<n {
                let expected = (Double(x[j]) - mu) * r * Double(gamma[j]) + Double(beta[j])
                #expect(abs(Double(y[j]) - expected) <= 1e-4, "\(path) layernorm n \(n) at \(j)")
            }
        }
    }

    /// y = x / (1 - p) where CounterRNG's uniform for element offset + i is at least p, else 0:
    /// the test on floats, apart from the kernel's test on 24-bit integers.
    @Test(arguments: paths) func dropoutMatchesTheCounterRNG(_ path: String) throws {
        let k = try #require(dive_cpu_kernels_named(path)).pointee
        var rng = TestRNG(11)
        for (n, p, seed, offset) in [
            (1, Float(0.5), UInt64(3), UInt64(0)), (7, 0.1, 42, 5), (8, 0.3, 7, 1 << 40), (9, 0.9, 1, 17),
            (100, 0.5, .max, 3), (1001, 0.2, 12345, 999)
        ] {
            let x = rng.array(n).map(Float.init)
            let golden: UInt64 = 0x9E37_79B9_7F4A_7C15
            let z = CounterRNG.mix(seed) &+ (offset &+ 1) &* golden
            let threshold = UInt64((Double(p) * 0x1p24).rounded(.up)), scale = 1 / (1 - p)
            var y = [Float](repeating: .nan, count: n), inPlace = x
            k.dropout(x, &y, n, z, threshold, scale)
            inPlace.withUnsafeMutableBufferPointer { k.dropout($0.baseAddress, $0.baseAddress, n, z, threshold, scale) }
            var wrong = 0, dropped = 0
            for i in 0..<n {
                let expected = CounterRNG.uniform(seed: seed, counter: offset + UInt64(i)) >= p ? x[i] * scale : 0
                if y[i].bitPattern != expected.bitPattern || inPlace[i].bitPattern != expected.bitPattern { wrong += 1 }
                if expected == 0 { dropped += 1 }
            }
            #expect(wrong == 0, "\(path) dropout n \(n) p \(p): \(wrong) elements differ")
            if n >= 100 { #expect(abs(Double(dropped) / Double(n) - Double(p)) < 0.1, "\(path) dropped \(dropped) of \(n)") }
        }
    }

    /// C = alpha · op(A) op(B) for every transpose pair and the edges of n (1, 8, 9, 16) and k (1, 256),
    /// against double loops; columns of C past n and rows past ldc's stride stay untouched.
    @Test(arguments: paths) func narrowGemmMatchesDoubleLoops(_ path: String) throws {
        let k = try #require(dive_cpu_kernels_named(path)).pointee
        var rng = TestRNG(13)
        for (m, n, depth) in [(1, 1, 1), (10, 10, 8), (7, 8, 33), (3, 9, 256), (12, 16, 5), (5, 16, 256)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let lda = (transA ? m : depth) + 2, ldb = (transB ? depth : n) + 3, ldc = n + 1
                    let a = rng.array((transA ? depth : m) * lda).map(Float.init), b = rng.array((transB ? n : depth) * ldb).map(Float.init)
                    var c = [Float](repeating: 7, count: m * ldc)
                    k.narrow_gemm(transA ? 1 : 0, transB ? 1 : 0, m, n, depth, 0.5, a, lda, b, ldb, &c, ldc)
                    var worst = 0.0, untouched = true
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum = 0.0
                            for x in 0..<depth {
                                sum += Double(transA ? a[x * lda + i] : a[i * lda + x]) * Double(transB ? b[j * ldb + x] : b[x * ldb + j])
                            }
                            worst = max(worst, abs(Double(c[i * ldc + j]) - 0.5 * sum))
                        }
                        untouched = untouched && c[i * ldc + n] == 7
                    }
                    #expect(worst <= 1e-6 * Double(depth), "\(path) (\(m), \(n), \(depth)) transA \(transA) transB \(transB): \(worst)")
                    #expect(untouched, "\(path) (\(m), \(n), \(depth)) wrote past n")
                }
            }
        }
    }

    @Test func dispatchPicksTheWidestPathThisCPUHas() throws {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return }
        let has = Set(flags.split(separator: " ").map(String.init))
        let avx2 = has.contains("avx2") && has.contains("fma")
        let avx512 = avx2 && ["avx512f", "avx512dq", "avx512vl", "avx512bw"].allSatisfy(has.contains)
        let widest = avx512 ? "avx512" : avx2 ? "avx2+fma" : "baseline"
        let expected: String
        switch ProcessInfo.processInfo.environment["DIVE_CPU_PATH"] {
        case "baseline": expected = "baseline"
        case "avx2+fma": expected = avx2 ? "avx2+fma" : "baseline"
        default: expected = widest
        }
        #expect(String(cString: dive_cpu_path()) == expected)
        #expect((dive_cpu_kernels_named("avx2+fma") != nil) == avx2)
        #expect((dive_cpu_kernels_named("avx512") != nil) == avx512)
    }
}
