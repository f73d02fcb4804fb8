// The 9.7 recipe: 600 English–French pairs (601 with the book's off-by-one), embed 32, hidden 32,
// 2 layers, dropout 0.1, batch 64, 10 steps, Adam 0.005, 300 epochs; then the book's four
// translations with BLEU (k = 2), greedy or with `--beam K`.
import Dive
import DiveData
import Foundation

/// 9.7: the GRU encoder-decoder trained on English–French pairs, then the book's four translations
/// scored with BLEU.
public struct Seq2SeqRecipe: TranslationRecipe {
    /// Registered as `seq2seq`: zh section 9.7, en 10.7.
    public let listing = RecipeListing(
        name: "seq2seq", section: "9.7", enSection: "10.7",
        summary: "GRU encoder-decoder, English to French (BLEU, greedy or beam search)")
    /// The book's four English sentences and their French references, which every translation recipe
    /// translates and scores.
    public static let examples = [
        ("go .", "va !"), ("i lost .", "j'ai perdu ."), ("he's calm .", "il est calme ."),
        ("i'm home .", "je suis chez moi .")
    ]
    /// The zh book's loss, speed and BLEU scores, printed for comparison.
    public let bookResult = "(book, zh 9.7: loss 0.019, 12745.1 tokens/sec on cuda:0; BLEU 1.000, 1.000, 0.658, 0.447)"

    /// The recipe; its settings come from `defaults` and `config`.
    public init() {}

    /// Adam at lr 0.005 with clipping at 1: zh 300 epochs of batch 64, en 30 epochs of batch 128.
    public func defaults(_ preset: BookEdition) -> Hyperparameters {
        preset == .en
            ? Hyperparameters(epochs: 30, lr: 0.005, batchSize: 128, optimizer: .adam, clip: 1)
            : Hyperparameters(epochs: 300, lr: 0.005, batchSize: 64, optimizer: .adam, clip: 1)
    }

    /// Model sizes: zh embed 32, hidden 32, dropout 0.1; en embed 256, hidden 256, dropout 0.2.
    public func config(_ preset: BookEdition, srcVocab: Int, tgtVocab: Int) -> Seq2SeqConfig {
        preset == .en
            ? Seq2SeqConfig(
                srcVocabSize: srcVocab, tgtVocabSize: tgtVocab, embedSize: 256, hidden: 256, layers: 2, dropout: 0.2, numSteps: 10)
            : Seq2SeqConfig(
                srcVocabSize: srcVocab, tgtVocabSize: tgtVocab, embedSize: 32, hidden: 32, layers: 2, dropout: 0.1, numSteps: 10)
    }

    /// The GRU model (`.seq2seq`) with `config`'s sizes.
    public func modelConfig(_ preset: BookEdition, srcVocab: Int, tgtVocab: Int) -> TranslationModelConfig {
        .seq2seq(config(preset, srcVocab: srcVocab, tgtVocab: tgtVocab))
    }
}
