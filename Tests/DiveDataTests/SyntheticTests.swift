import DiveData
// SyntheticTests.swift: the generated data of sections 8.1 and 10.2.
import Foundation
import Testing

@Suite struct SyntheticTests {
    @Test func noisySineSeries() {
        var rng = DataRNG(seed: 0)
        let series = SineSeries(rng: &rng)
        #expect(series.time.count == 1000 && series.x.count == 1000)
        #expect(series.time.first == 1 && series.time.last == 1000)
        let residuals = zip(series.time, series.x).map { Double($1) - sin(0.01 * Double($0)) }
        let mean = residuals.reduce(0, +) / 1000
        let std = (residuals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 1000).squareRoot()
        #expect(abs(mean) < 0.03)
        #expect(abs(std - 0.2) < 0.02)
        var again = DataRNG(seed: 0)
        #expect(SineSeries(rng: &again).x == series.x)
    }

    @Test func laggedFeaturesWithTau4() throws {
        var rng = DataRNG(seed: 1)
        let series = SineSeries(rng: &rng)
        let data = LaggedFeatures(series: series.x, tau: 4)
        #expect(data.count == 996 && data.features.count == 996 * 4)
        for i in [0, 1, 500, 995] {
            #expect(Array(data.features[i * 4..<(i + 1) * 4]) == Array(series.x[i..<i + 4]))
            #expect(data.labels[i] == series.x[i + 4])
        }
        let train = data.prefix(600)
        #expect(train.count == 600 && train.labels == Array(data.labels.prefix(600)))
        var loader = try DataLoader(train, batchSize: 16, shuffle: true, seed: 5)
        #expect(loader.batchesPerEpoch == 38)
        let next = loader.next()
        let batch = try #require(next)
        #expect(batch.x.count == 64 && batch.y.count == 16 && batch.featureCount == 4)
    }

    @Test func kernelRegressionData() {
        var rng = DataRNG(seed: 2)
        let data = KernelRegressionData(rng: &rng)
        #expect(data.xTrain.count == 50 && data.yTrain.count == 50)
        #expect(data.xTrain == data.xTrain.sorted())
        #expect(data.xTrain.allSatisfy { $0 >= 0 && $0 < 5 })
        #expect(data.xTest.count == 50 && data.xTest.first == 0 && abs(data.xTest.last! - 4.9) < 1e-6)
        #expect(abs(KernelRegressionData.f(1) - Float(2 * sin(1.0) + 1)) < 1e-6)
        #expect(data.yTruth == data.xTest.map(KernelRegressionData.f))
        let noise = zip(data.xTrain, data.yTrain).map { Double($1 - KernelRegressionData.f($0)) }
        let std = (noise.map { $0 * $0 }.reduce(0, +) / 50).squareRoot()
        #expect(std > 0.3 && std < 0.7)
    }
}
