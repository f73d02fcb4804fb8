// BLEU against the book's printed examples and hand-computed values of its definition.
import DiveZoo
import Foundation
import Testing

@Suite struct BLEUTests {
    @Test func identicalIsOne() {
        #expect(BLEU.score("va !", "va !") == 1)
        #expect(BLEU.score("j'ai perdu .", "j'ai perdu .") == 1)
    }

    @Test func booksPrintedScores() {
        // zh 9.7: he's calm . => il est riche ., bleu 0.658; i'm home . => je suis en retard ?, bleu 0.447
        #expect(abs(BLEU.score("il est riche .", "il est calme .") - 0.658) < 5e-4)
        #expect(abs(BLEU.score("je suis en retard ?", "je suis chez moi .") - 0.447) < 5e-4)
        // zh 10.4: il est paresseux . against il est calme . is 0.658 too.
        #expect(abs(BLEU.score("il est paresseux .", "il est calme .") - 0.658) < 5e-4)
    }

    @Test func definitionByHand() {
        // p1 = 3/4, p2 = 1/3: (3/4)^(1/2) · (1/3)^(1/4), no brevity penalty.
        #expect(abs(BLEU.score("il est riche .", "il est calme .") - (0.75.squareRoot() * pow(1.0 / 3, 0.25))) < 1e-12)
        // Brevity penalty: prediction of 2 tokens, reference of 4: exp(1 − 4/2), p1 = p2 = 1.
        #expect(abs(BLEU.score("je suis", "je suis chez moi") - exp(-1.0)) < 1e-12)
        // Clipped counts: "la la la" against "la" → p1 = 1/3, p2 = 0.
        #expect(BLEU.score("la la la", "la") == 0)
        // A one-token prediction stops at n = 1 (the zh code would divide by zero).
        #expect(abs(BLEU.score("va", "va !") - exp(1 - 2.0)) < 1e-12)
    }
}
