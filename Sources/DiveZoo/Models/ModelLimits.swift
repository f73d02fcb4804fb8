// What a model configuration read from a file may ask for: every size positive and at most 2^20,
// at most 256 layers and heads, and weights that fit in this machine's memory (float32, with
// Adam's two moments). A checkpoint asking for more is an error before anything is allocated.
import Foundation

/// A configuration whose sizes can be checked before its model is built.
protocol SizedConfig: Decodable {
    /// Widths, vocabularies and lengths, by name.
    var sizes: [(name: String, value: Int)] { get }
    /// Layers and heads, by name.
    var counts: [(name: String, value: Int)] { get }
    /// About how many parameters the model has (floating point, so that nothing overflows).
    var parameterEstimate: Double { get }
}

enum ModelLimits {
    static let maxSize = 1 << 20, maxCount = 256

    static func check(_ config: SizedConfig, path: String) throws {
        for (name, v) in config.sizes where !(1...maxSize).contains(v) {
            throw ZooError.badCheckpoint(path: path, detail: "its config asks for \(name) \(v); Dive reads 1…\(maxSize)")
        }
        for (name, v) in config.counts where !(1...maxCount).contains(v) {
            throw ZooError.badCheckpoint(path: path, detail: "its config asks for \(name) \(v); Dive reads 1…\(maxCount)")
        }
        let bytes = config.parameterEstimate * 4 * 3
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        guard bytes < memory / 2 else {
            throw ZooError.badCheckpoint(
                path: path,
                detail: String(
                    format: "its model needs about %.1f GB with its optimiser state; this machine has %.1f GB", bytes / 1e9, memory / 1e9))
        }
    }
}

extension Training {
    /// A checkpoint's model configuration, checked against `ModelLimits`.
    static func decodeConfig<T: SizedConfig>(_ type: T.Type, _ text: String?, path: String) throws -> T {
        let config = try decode(type, text, key: "config", path: path)
        try ModelLimits.check(config, path: path)
        return config
    }
}

extension LanguageModelConfig: SizedConfig {
    var sizes: [(name: String, value: Int)] { [("vocabSize", vocabSize), ("hidden", hidden)] }
    var counts: [(name: String, value: Int)] { [("layers", layers)] }
    var parameterEstimate: Double {
        let h = Double(hidden), v = Double(vocabSize), dirs: Double = bidirectional ? 2 : 1
        return Double(layers) * dirs * 4 * (v + dirs * h + h + 2) * h + dirs * h * v + v
    }
}

extension Seq2SeqConfig: SizedConfig {
    var sizes: [(name: String, value: Int)] {
        [
            ("srcVocabSize", srcVocabSize), ("tgtVocabSize", tgtVocabSize), ("embedSize", embedSize), ("hidden", hidden),
            ("numSteps", numSteps)
        ]
    }
    var counts: [(name: String, value: Int)] { [("layers", layers)] }
    var parameterEstimate: Double {
        let e = Double(embedSize), h = Double(hidden)
        return Double(srcVocabSize + tgtVocabSize) * e + 2 * Double(layers) * 3 * (e + 2 * h + 2) * h
            + 4 * h * h + Double(tgtVocabSize) * (h + 1)
    }
}

extension TransformerConfig: SizedConfig {
    var sizes: [(name: String, value: Int)] {
        [
            ("srcVocabSize", srcVocabSize), ("tgtVocabSize", tgtVocabSize), ("numHiddens", numHiddens), ("ffnHiddens", ffnHiddens),
            ("numSteps", numSteps)
        ]
    }
    var counts: [(name: String, value: Int)] { [("numHeads", numHeads), ("numLayers", numLayers)] }
    var parameterEstimate: Double {
        let d = Double(numHiddens), f = Double(ffnHiddens)
        return Double(srcVocabSize + tgtVocabSize) * d + 2 * Double(numLayers) * (8 * d * d + 2 * d * f + 8 * d)
            + Double(tgtVocabSize) * (d + 1)
    }
}

extension NLIConfig: SizedConfig {
    var sizes: [(name: String, value: Int)] {
        [("vocabSize", vocabSize), ("embedSize", embedSize), ("hidden", hidden), ("numSteps", numSteps)]
    }
    var counts: [(name: String, value: Int)] { [] }
    var parameterEstimate: Double {
        let e = Double(embedSize), h = Double(hidden)
        return Double(vocabSize) * e + 2 * (e + h) * h + 4 * (2 * e + h) * h + 8 * h * h
    }
}

extension GPTConfig: SizedConfig {
    var sizes: [(name: String, value: Int)] { [("vocabSize", vocabSize), ("blockSize", blockSize), ("width", width)] }
    var counts: [(name: String, value: Int)] { [("layers", layers), ("heads", heads)] }
    var parameterEstimate: Double {
        let c = Double(width)
        return Double(vocabSize + blockSize) * c + Double(layers) * (12 * c * c + 9 * c) + 2 * c
    }
}
