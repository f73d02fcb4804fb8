// 9.3 Deep recurrent networks: `nn.LSTM(28, 256, 2)`, two stacked layers, trained with lr 2.
import DiveNN

extension LanguageModelRecipe {
    /// 9.3: 2 layers, hidden 256, lr 2, 500 epochs (book: ppl 1.0). en 10.3 stacks two GRUs of 32.
    public static let deepLSTM = LanguageModelRecipe(
        RecipeListing(
            name: "deep-lstm", section: "9.3", enSection: "10.3", summary: "deep LSTM language model (2 layers, hidden 256, lr 2)"),
        kind: .lstm, hidden: 256, layers: 2, lr: 2, bookResult: "perplexity 1.0, 186005.7 tokens/sec on cuda:0",
        en: .init(kind: .gru, hidden: 32, layers: 2, lr: 2, epochs: 100))
}
