// 9.4 Bidirectional recurrent networks: the book's deliberate misuse, a 2-layer bidirectional LSTM
// trained as a language model. It sees the future, so its perplexity is low and its predictions
// degenerate (`travellererer…`).
import DiveNN

extension LanguageModelRecipe {
    /// 9.4: `nn.LSTM(28, 256, 2, bidirectional=True)`, lr 1, 500 epochs (book: ppl 1.1).
    public static let biLSTM = LanguageModelRecipe(
        RecipeListing(
            name: "bi-lstm", section: "9.4", enSection: "10.4", summary: "bidirectional LSTM as a language model (the book's misuse)"),
        kind: .lstm, hidden: 256, layers: 2, bidirectional: true, lr: 1,
        bookResult: "perplexity 1.1, 131129.2 tokens/sec on cuda:0; predictions degenerate",
        en: .init(kind: .lstm, hidden: 32, layers: 2, bidirectional: true, lr: 1, epochs: 50))
}
