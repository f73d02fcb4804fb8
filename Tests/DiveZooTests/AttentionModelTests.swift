// Bahdanau (10.4) and the Transformer (10.7): cpu and opencl agree over a few epochs, the
// Transformer's inference cache reproduces an uncached recomputation under the book's position
// semantics, Bahdanau's step-by-step decoding equals its teacher-forced pass, the label-smoothed
// loss matches a float64 hand computation, --preset paper drives the noam schedule, beam search
// is at least as probable as greedy, and checkpoints rebuild the right model with its attention.
import Dive
import DiveData
import DiveNN
import DiveZoo
import Foundation
import Testing

@Suite(.serialized) struct AttentionModelTests {
    func dataset() throws -> TranslationDataset {
        try Translation.loadDataset(file: testDataDirectory.locate(.fraEng), numSteps: 10, numExamples: 600)
    }

    @Test(arguments: [BahdanauRecipe(), TransformerRecipe()] as [any TranslationRecipe])
    func cpuAndOpenCLAgree(_ recipe: any TranslationRecipe) throws {
        guard let device = openCLDevices.first else { return }
        let cpu = try recipe.train(shortRun(.cpu, epochs: 2))
        let cl = try recipe.train(shortRun(device, epochs: 2))
        #expect(cpu.history.count == 2 && cl.history.count == 2)
        expectSameLosses(cpu.history, cl.history, on: device, "\(recipe.name) ")
    }

    @Test func transformerCacheEqualsUncachedRecomputation() throws {
        let cpu = CPUBackend.shared
        let c = TransformerConfig(
            srcVocabSize: 20, tgtVocabSize: 17, numHiddens: 16, ffnHiddens: 24, numHeads: 4, numLayers: 2,
            dropout: 0.1, numSteps: 6)
        let model = try TransformerSeq2Seq(c, on: cpu, rng: HostRNG(seed: 5))
        try model.xavierInit(rng: HostRNG(seed: 6))
        model.eval()
        let src: [Int32] = [3, 5, 7, 2, 1, 1], lens = try Tensor([Int32(4)], shape: [1], on: cpu)
        let tokens: [Int32] = [2, 8, 4, 11, 6]
        try Autograd.withoutGrad {
            var state = try model.beginDecoding(source: src, validLength: 4)
            for t in 0..<tokens.count {
                let (logits, next) = try model.decodeStep([tokens[t]], state: state)
                state = next
                let cached = try logits.toArray()  // (V)
                let prefix = Array(tokens[0...t])
                let enc = try model.encoder(Tensor(src, shape: [1, 6], on: cpu), validLens: lens)
                // The book's inference adds P[:, :1] to every token: embed each token as its own row at position 0.
                let emb = try model.decoder.embedding(Tensor(prefix, shape: [t + 1, 1], on: cpu)) * Float(16).squareRoot()
                var x = try model.decoder.posEncoding(emb).reshaped([1, t + 1, 16])  // (1, t+1, H)
                let fresh = TransformerDecoderState(encOutputs: enc, encValidLens: lens, blocks: 2)
                for blk in model.decoder.blks.blocks { x = try blk(x, state: fresh, causal: true) }
                let uncached = Array(try model.decoder.dense(x).toArray().suffix(17))  // last step's (V)
                let diff = zip(cached, uncached).map { abs($0 - $1) }.max()!
                #expect(diff < 1e-4, "step \(t): cached vs uncached max |Δ| = \(diff)")
                // With positions 0..t (what training sees) the logits differ from step 1 on: the book's quirk.
                let positional = try model.decoder(
                    Tensor(prefix, shape: [1, t + 1], on: cpu),
                    state: TransformerDecoderState(encOutputs: enc, encValidLens: lens, blocks: 2), causal: true)
                let shifted = zip(cached, Array(try positional.toArray().suffix(17))).map { abs($0 - $1) }.max()!
                if t == 0 { #expect(shifted < 1e-4) } else { #expect(shifted > 1e-3, "step \(t): positions should matter") }
            }
        }
    }

    @Test func bahdanauStepDecodingEqualsTeacherForcing() throws {
        let data = try dataset()
        let config = Seq2SeqRecipe().config(.zh, srcVocab: data.srcVocab.count, tgtVocab: data.tgtVocab.count)
        let model = try BahdanauSeq2Seq(config, on: CPUBackend.shared, rng: HostRNG(seed: 2))
        try model.xavierInit(rng: HostRNG(seed: 3))
        model.eval()
        let cpu = CPUBackend.shared, V = data.tgtVocab.count
        let b = data.batch([7])
        let decIn: [Int32] = [Int32(data.tgtVocab["<bos>"])] + b.tgt.prefix(9)
        try Autograd.withoutGrad {
            let forced = try model.logits(
                source: Tensor(b.src, shape: [10, 1], on: cpu), sourceValidLens: Tensor(b.srcValidLen, shape: [1], on: cpu),
                decoderInput: Tensor(decIn, shape: [10, 1], on: cpu)
            ).toArray()  // (T, 1, V)
            var state = try model.beginDecoding(source: b.src, validLength: b.srcValidLen[0])
            for t in 0..<10 {
                let (logits, next) = try model.decodeStep([decIn[t]], state: state)
                state = next
                let diff = zip(try logits.toArray(), forced[(t * V)..<((t + 1) * V)]).map { abs($0 - $1) }.max()!
                #expect(diff < 1e-4, "step \(t): |Δ| = \(diff)")
            }
        }
    }

    @Test func labelSmoothedLossByHand() throws {
        let data = try dataset()
        let cpu = CPUBackend.shared, eps = 0.1
        let batch = data.batch(Array(0..<6) + Array(400..<404))
        let B = batch.batchSize, T = batch.numSteps, V = data.tgtVocab.count, bos = Int32(data.tgtVocab["<bos>"])
        let configs: [TranslationModelConfig] = [
            BahdanauRecipe().modelConfig(.zh, srcVocab: data.srcVocab.count, tgtVocab: V),
            TransformerRecipe().modelConfig(.zh, srcVocab: data.srcVocab.count, tgtVocab: V)
        ]
        for config in configs {
            let model = try config.build(on: cpu, rng: HostRNG(seed: 4))
            model.eval()
            let ours = try TranslationTask.loss(model, batch, bos: bos, labelSmoothing: Float(eps)).item()
            // Logits in the model's layout, then per token (1-ε)·NLL + ε·mean over classes of -log p, masked, Σ / T.
            var src = batch.src, dec = [Int32]()
            for b in 0..<B { dec += [bos] + batch.tgt[(b * T)..<(b * T + T - 1)] }
            func layout(_ a: [Int32]) -> [Int32] {
                model.timeMajor ? (0..<(B * T)).map { a[($0 % B) * T + $0 / B] } : a
            }
            src = layout(src)
            let shape = model.timeMajor ? [T, B] : [B, T]
            let z = try Autograd.withoutGrad {
                try model.logits(
                    source: Tensor(src, shape: shape, on: cpu), sourceValidLens: Tensor(batch.srcValidLen, shape: [B], on: cpu),
                    decoderInput: Tensor(layout(dec), shape: shape, on: cpu)
                ).toDoubleArray()
            }
            var expected = 0.0
            for b in 0..<B {
                for t in 0..<min(Int(batch.tgtValidLen[b]), T) {
                    let offset = (model.timeMajor ? t * B + b : b * T + t) * V
                    let row = z[offset..<(offset + V)]
                    let m = row.max()!
                    let lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
                    let nll = lse - row[offset + Int(batch.tgt[b * T + t])]
                    let smooth = lse - row.reduce(0, +) / Double(V)
                    expected += (1 - eps) * nll + eps * smooth
                }
            }
            expected /= Double(T)
            #expect(abs(ours - expected) < 1e-4 * abs(expected), "\(config.kind): \(ours) vs hand \(expected)")
        }
    }

    @Test func paperPresetDrivesTheNoamSchedule() throws {
        var o = shortRun(epochs: 1)
        o.preset = .paper
        let run = try TransformerRecipe().train(o)
        // 10 updates in epoch 1; the last one used lr(10) = d^-0.5 · min(10^-0.5, 10 · 400^-1.5).
        let expected = Foundation.pow(32.0, -0.5) * min(Foundation.pow(10.0, -0.5), 10 * Foundation.pow(400.0, -1.5))
        #expect(abs(run.history[0].lr - expected) < 1e-7, "lr \(run.history[0].lr) vs \(expected)")
        #expect(run.history[0].loss.isFinite)
    }

    @Test func bahdanauBeamCheckpointAndAttention() throws {
        try withCheckpointedRun(epochs: 12, "bahdanau.safetensors") { o, url in
            let run = try BahdanauRecipe().train(o)
            let translator = try Translator(model: run.model, srcVocab: run.srcVocab, tgtVocab: run.tgtVocab)
            for sentence in ["go .", "i lost .", "he's calm .", "i'm home .", "we won .", "be nice ."] {
                let greedy = try translator.greedy(sentence), beam = try translator.beamSearch(sentence, beam: 3)
                let pg = try translator.logProbability(sentence, tokens: greedy.tokens, endedWithEOS: greedy.endedWithEOS)
                let pb = try translator.logProbability(sentence, tokens: beam.tokens, endedWithEOS: beam.endedWithEOS)
                #expect(abs(pg - greedy.logProbability) < 1e-6 && abs(pb - beam.logProbability) < 1e-6)
                #expect(pb >= pg - 1e-9, "\(sentence): beam '\(beam.text)' \(pb) < greedy '\(greedy.text)' \(pg)")
            }
            let (model, src, tgt) = try TranslationTask.load(checkpoint: url, on: CPUBackend.shared)
            #expect(model is BahdanauSeq2Seq)
            let reloaded = try Translator(model: model, srcVocab: src, tgtVocab: tgt)
            #expect(try reloaded.beamSearch("i lost .", beam: 3) == translator.beamSearch("i lost .", beam: 3))
            // One panel: a row per output token (and <eos>), a column per source position; each row sums to 1.
            let (out, figures) = try reloaded.greedyWithAttention("i'm home .")
            let rows = out.tokens.count + (out.endedWithEOS ? 1 : 0)
            #expect(figures.map(\.name) == ["attention"] && figures[0].panels[0].values.count == rows)
            for row in figures[0].panels[0].values { #expect(abs(row.reduce(0, +) - 1) < 1e-4) }
            #expect(HeatmapCellCounter.count(figures[0].svg) == rows * 10)
            // The GRU model has no attention: a clear error.
            let gru = try Seq2Seq(
                Seq2SeqRecipe().config(.zh, srcVocab: src.count, tgtVocab: tgt.count), on: CPUBackend.shared, rng: HostRNG(seed: 0))
            #expect(throws: ZooError.self) { try Translator(model: gru, srcVocab: src, tgtVocab: tgt).greedyWithAttention("go .") }
        }
    }

    @Test func transformerCheckpointRebuildsWithAttentionFigures() throws {
        try withCheckpointedRun(epochs: 2, "transformer.safetensors") { o, url in
            let run = try TransformerRecipe().train(o)
            let (model, src, tgt) = try TranslationTask.load(checkpoint: url, on: CPUBackend.shared)
            #expect(model is TransformerSeq2Seq)
            let a = try Translator(model: run.model, srcVocab: run.srcVocab, tgtVocab: run.tgtVocab).greedy("i lost .")
            let (b, figures) = try Translator(model: model, srcVocab: src, tgtVocab: tgt).greedyWithAttention("i lost .")
            #expect(a == b)
            let steps = b.tokens.count + (b.endedWithEOS ? 1 : 0)
            // The book's shapes: encoder (2 blocks × 4 heads, 10 × 10), decoder self and cross (2 × 4, steps × 10).
            #expect(figures.map(\.name) == ["encoder", "decoder-self", "decoder-cross"])
            #expect(figures.map(\.panels.count) == [8, 8, 8])
            #expect(HeatmapCellCounter.count(figures[0].svg) == 8 * 100)
            #expect(HeatmapCellCounter.count(figures[1].svg) == 8 * steps * 10)
            #expect(HeatmapCellCounter.count(figures[2].svg) == 8 * steps * 10)
        }
    }
}
