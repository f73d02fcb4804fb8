// The 10.4 recipe: the 9.7 settings (embed 32, hidden 32, 2 layers, dropout 0.1, batch 64,
// 10 steps, Adam 0.005, clip 1) for 250 epochs with the Bahdanau attention decoder; --plot also
// draws the decoder's attention over the last sentence translated.
import Dive
import DiveData
import Foundation

/// 10.4: the 9.7 encoder with the Bahdanau (additive) attention decoder, trained and reported as the
/// 9.7 recipe is.
public struct BahdanauRecipe: TranslationRecipe {
    /// Registered as `bahdanau`: zh section 10.4, en 11.4.
    public let listing = RecipeListing(
        name: "bahdanau", section: "10.4", enSection: "11.4",
        summary: "GRU encoder-decoder with Bahdanau (additive) attention, English to French")
    /// The zh book's loss, speed and BLEU scores, printed for comparison.
    public let bookResult = "(book, zh 10.4: loss 0.021, 4948.7 tokens/sec on cuda:0; BLEU 1.000, 1.000, 0.658, 1.000)"

    /// The recipe; its settings come from `defaults` and the 9.7 recipe's sizes.
    public init() {}

    /// The 9.7 settings, for 250 epochs in zh.
    public func defaults(_ preset: BookEdition) -> Hyperparameters {
        var h = Seq2SeqRecipe().defaults(preset)
        if preset == .zh { h.epochs = 250 }
        return h
    }

    /// The Bahdanau model (`.bahdanau`) with the 9.7 recipe's sizes for the preset.
    public func modelConfig(_ preset: BookEdition, srcVocab: Int, tgtVocab: Int) -> TranslationModelConfig {
        .bahdanau(Seq2SeqRecipe().config(preset, srcVocab: srcVocab, tgtVocab: tgtVocab))
    }
}
