// BLEU as the book defines it (9.7): exp(min(0, 1 − len_label/len_pred)) · Π_{n=1..k} p_n^{1/2^n},
// p_n the clipped n-gram precision; tokens are split on single spaces.
import Foundation

/// The book's BLEU score (9.7) of a predicted translation against one label sentence.
public enum BLEU {
    /// The book's `bleu(pred_seq, label_seq, k)`. Where the zh book divides by zero (a prediction
    /// shorter than k tokens), n stops at the prediction's length, as in the en edition.
    public static func score(_ prediction: String, _ label: String, k: Int = 2) -> Double {
        let pred = prediction.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let ref = label.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        var score = Foundation.exp(min(0, 1 - Double(ref.count) / Double(pred.count)))
        for n in stride(from: 1, through: min(k, pred.count), by: 1) {
            var available: [String: Int] = [:]
            if ref.count >= n { for i in 0...(ref.count - n) { available[ref[i..<(i + n)].joined(separator: " "), default: 0] += 1 } }
            var matches = 0
            for i in 0...(pred.count - n) {
                let gram = pred[i..<(i + n)].joined(separator: " ")
                if let left = available[gram], left > 0 { matches += 1; available[gram] = left - 1 }
            }
            score *= Foundation.pow(Double(matches) / Double(pred.count - n + 1), Foundation.pow(0.5, Double(n)))
        }
        return score
    }
}
