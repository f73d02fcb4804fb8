// The 10.4 recipe: the 9.7 settings (embed 32, hidden 32, 2 layers, dropout 0.1, batch 64,
// 10 steps, Adam 0.005, clip 1) for 250 epochs with the Bahdanau attention decoder; --plot also
// draws the decoder's attention over the last sentence translated.
import Dive
import DiveData
import Foundation

public struct BahdanauRecipe: TranslationRecipe {
    public let name = "bahdanau"
    public let section = "10.4"
    public let enSection = "11.4"
    public let summary = "GRU encoder-decoder with Bahdanau (additive) attention, English to French"
    public let bookResult = "(book, zh 10.4: loss 0.021, 4948.7 tokens/sec on cuda:0; BLEU 1.000, 1.000, 0.658, 1.000)"

    public init() {}

    public func defaults(_ preset: BookEdition) -> Hyperparameters {
        preset == .en ? Hyperparameters(epochs: 30, lr: 0.005, batchSize: 128, optimizer: .adam, clip: 1)
                      : Hyperparameters(epochs: 250, lr: 0.005, batchSize: 64, optimizer: .adam, clip: 1)
    }

    public func modelConfig(_ preset: BookEdition, srcVocab: Int, tgtVocab: Int) -> TranslationModelConfig {
        .bahdanau(Seq2SeqRecipe().config(preset, srcVocab: srcVocab, tgtVocab: tgtVocab))
    }
}
