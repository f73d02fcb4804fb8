// The 10.7 recipe: width 32, 2 blocks, dropout 0.1, FFN 64, 4 heads, batch 64, 10 steps, Adam
// 0.005, 200 epochs, clip 1 (zh); the en v1.0 row with `--preset en`; `--preset paper` trains the
// zh model as Vaswani et al. do (Adam β2 0.98, ε 1e-9, noam warmup, label smoothing 0.1). The
// `transformer-256` variant (width 256, 8 heads, FFN 1024, 32 steps) is a benchmark, not the book.
import Dive
import DiveData
import Foundation

/// 10.7: the Transformer encoder-decoder trained on English–French with the zh, en or paper settings;
/// `wide` is a wider variant for benchmarks.
public struct TransformerRecipe: TranslationRecipe {
    /// `transformer` (zh 10.7, en 11.7), or `transformer-256` for `wide`.
    public let listing: RecipeListing
    /// Tokens per sequence: 10 for the book's model, 32 for `wide`.
    public let numSteps: Int
    let width: Int, heads: Int, ffn: Int
    /// The zh book's loss, speed and BLEU scores, or a note that the variant is not in the book.
    public let bookResult: String

    /// The book's Transformer.
    public init() {
        listing = RecipeListing(
            name: "transformer", section: "10.7", enSection: "11.7",
            summary: "Transformer encoder-decoder, English to French (--preset paper: the paper's training)")
        numSteps = 10; width = 32; heads = 4; ffn = 64
        bookResult = "(book, zh 10.7: loss 0.030, 5202.9 tokens/sec on cuda:0; BLEU 1.000, 1.000, 1.000, 1.000)"
    }

    private init(name: String, summary: String, numSteps: Int, width: Int, heads: Int, ffn: Int) {
        listing = RecipeListing(name: name, section: "—", enSection: "—", summary: summary)
        self.numSteps = numSteps
        self.width = width; self.heads = heads; self.ffn = ffn
        bookResult = "(not in the book: a wider Transformer for benchmarks)"
    }

    /// Width 256, 8 heads, FFN 1024, 32 steps, otherwise the zh settings (the peers' benchmark width, Benchmarks/Peers).
    public static let wide = TransformerRecipe(
        name: "transformer-256", summary: "benchmark: Transformer width 256, 8 heads, FFN 1024, 32 steps",
        numSteps: 32, width: 256, heads: 8, ffn: 1024)

    /// zh, en and paper (the zh model trained as Vaswani et al. train theirs).
    public var presets: [BookEdition] { [.zh, .en, .paper] }

    /// Noam warmup for `--preset paper`: 400 of the 2,000 updates (the paper's 4,000 exceed the run).
    public static let paperWarmup = 400

    /// Adam with clipping at 1: zh lr 0.005, batch 64, 200 epochs; en lr 0.001, batch 128, 30 epochs;
    /// paper the zh run with noam warmup (scale 1), label smoothing 0.1, β2 0.98 and ε 1e-9.
    public func defaults(_ preset: BookEdition) -> Hyperparameters {
        switch preset {
        case .zh: return Hyperparameters(epochs: 200, lr: 0.005, batchSize: 64, optimizer: .adam, clip: 1)
        case .en: return Hyperparameters(epochs: 30, lr: 0.001, batchSize: 128, optimizer: .adam, clip: 1)
        case .paper:
            // lr is the noam scale: lr · d^-0.5 · min(s^-0.5, s · w^-1.5), peak 0.0088 at step 400 for d = 32.
            return Hyperparameters(
                epochs: 200, lr: 1, batchSize: 64, optimizer: .adam, clip: 1, schedule: .noam,
                warmupSteps: Self.paperWarmup, labelSmoothing: 0.1, adamBeta2: 0.98, adamEps: 1e-9)
        }
    }

    /// Two blocks each side: en width 256, FFN 64, 4 heads, dropout 0.2; zh and paper this recipe's
    /// width, FFN and heads (32, 64, 4 for the book) with dropout 0.1.
    public func modelConfig(_ preset: BookEdition, srcVocab: Int, tgtVocab: Int) -> TranslationModelConfig {
        preset == .en
            ? .transformer(
                TransformerConfig(
                    srcVocabSize: srcVocab, tgtVocabSize: tgtVocab, numHiddens: 256, ffnHiddens: 64,
                    numHeads: 4, numLayers: 2, dropout: 0.2, numSteps: numSteps))
            : .transformer(
                TransformerConfig(
                    srcVocabSize: srcVocab, tgtVocabSize: tgtVocab, numHiddens: width, ffnHiddens: ffn,
                    numHeads: heads, numLayers: 2, dropout: 0.1, numSteps: numSteps))
    }
}
