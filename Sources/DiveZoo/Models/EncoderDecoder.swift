// The encoder-decoder interface the GRU seq2seq (9.7), Bahdanau (10.4) and Transformer (10.7)
// models share, so one trainer, one decoder (greedy and beam) and one checkpoint format serve
// all three; the checkpoint records the kind and its configuration to rebuild the right model.
import Dive
import DiveNN
import Foundation

/// A decoder's state for K hypotheses (one source sentence, repeated).
public protocol DecoderState: AnyObject {
    /// The state of hypotheses `rows` (repeats allowed): beam search follows the parents with it.
    func selecting(_ rows: [Int]) throws -> DecoderState
}

/// A translation model: teacher-forced logits for training, step-by-step decoding for inference.
public protocol EncoderDecoder: Module {
    var modelConfig: TranslationModelConfig { get }
    /// Whether `logits` takes and returns time-major tensors (T, B, ·) rather than batch-major (B, T, ·).
    var timeMajor: Bool { get }
    /// The book's `xavier_init_weights` as `train_seq2seq` applies it to this model.
    func xavierInit(rng: HostRNG) throws
    /// Source and decoder input, Int32 in the model's layout, and source valid lengths (B) → logits (…, V).
    func logits(source: Tensor, sourceValidLens: Tensor, decoderInput: Tensor) throws -> Tensor
    /// Encodes one source sentence (numSteps indices, its valid length) → the decoder's state for one hypothesis.
    func beginDecoding(source: [Int32], validLength: Int32) throws -> DecoderState
    /// One step for K hypotheses: their last tokens (K) and state → logits (K, V) and the new state.
    func decodeStep(_ tokens: [Int32], state: DecoderState) throws -> (logits: Tensor, state: DecoderState)
    /// Keep attention weights while decoding (for heatmaps).
    var recordsAttention: Bool { get set }
    /// The attention weights of the last `decodeStep` for hypothesis 0: one row per panel of a figure.
    func lastStepAttention() throws -> [AttentionRow]
    /// The encoder's self-attention of the last `beginDecoding`: one matrix per panel of a figure.
    func lastEncoderAttention() throws -> [AttentionMatrix]
}

/// The book's `EncoderDecoder` base class: an encoder and a decoder built from one configuration,
/// registered as `encoder.*` and `decoder.*`. The GRU seq2seq (9.7), Bahdanau (10.4) and
/// Transformer (10.7) models are this class with their own encoder and decoder.
public class EncoderDecoderModel<Config, Encoder: Module, Decoder: Module>: Module {
    /// The sizes the model was built from.
    public let config: Config
    /// The encoder; parameters `encoder.*`.
    public let encoder: Encoder
    /// The decoder; parameters `decoder.*`.
    public let decoder: Decoder
    /// The model's kind with its configuration, for checkpoints.
    public let modelConfig: TranslationModelConfig

    /// Builds the encoder with `makeEncoder`, then the decoder with `makeDecoder`, from `config` and
    /// registers them; `modelConfig` is the model's kind with `config`.
    init(
        _ modelConfig: TranslationModelConfig, _ config: Config, on backend: Backend, rng: HostRNG,
        _ makeEncoder: (Config, Backend, HostRNG) throws -> Encoder, _ makeDecoder: (Config, Backend, HostRNG) throws -> Decoder
    ) throws {
        self.modelConfig = modelConfig
        self.config = config
        encoder = try makeEncoder(config, backend, rng)
        decoder = try makeDecoder(config, backend, rng)
        super.init()
        register("encoder", encoder)
        register("decoder", decoder)
    }

    /// Whether the model takes and returns time-major (T, B, ·) tensors: true for the GRU models,
    /// false for the Transformer, which is batch-major (B, T, ·).
    public var timeMajor: Bool { modelConfig.timeMajor }
}

extension EncoderDecoder {
    /// Tokens per source and target sequence, from the model's configuration.
    public var numSteps: Int { modelConfig.numSteps }
    /// The target vocabulary's size V, from the model's configuration.
    public var tgtVocabSize: Int { modelConfig.tgtVocabSize }
    /// None by default: only the Transformer records its encoder's self-attention.
    public func lastEncoderAttention() throws -> [AttentionMatrix] { [] }
}

/// One step's attention weights for one panel (`figure` groups panels into one heatmap file).
public struct AttentionRow {
    /// The heatmap file the row belongs to, and the title of its panel there.
    public var figure: String, panel: String
    /// The step's attention weights over the source positions (keys).
    public var row: [Float]
}

/// A whole attention matrix (queries × keys) for one panel.
public struct AttentionMatrix {
    /// The heatmap file the matrix belongs to, and the title of its panel there.
    public var figure: String, panel: String
    /// The weights, one row per query and one column per key.
    public var matrix: [[Float]]
}

/// The sizes every translation model's configuration has.
public protocol TranslationSizes: Sendable {
    var srcVocabSize: Int { get }
    var tgtVocabSize: Int { get }
    var numSteps: Int { get }
    /// The model width (d_model of the noam schedule).
    var width: Int { get }
}

extension Seq2SeqConfig: TranslationSizes {
    /// The GRU's hidden size.
    public var width: Int { hidden }
}

extension TransformerConfig: TranslationSizes {
    /// `numHiddens`, the Transformer's d_model.
    public var width: Int { numHiddens }
}

/// Which model and its sizes: what a checkpoint stores (`extra.kind`, `extra.config`).
public enum TranslationModelConfig: Equatable, Sendable {
    case seq2seq(Seq2SeqConfig)
    case bahdanau(Seq2SeqConfig)
    case transformer(TransformerConfig)

    /// The checkpoint's `kind` ("seq2seq" as before for the GRU model).
    public var kind: String {
        switch self {
        case .seq2seq: return "seq2seq"
        case .bahdanau: return "bahdanau"
        case .transformer: return "transformer"
        }
    }

    /// Whether the model takes time-major (T, B, ·) tensors: the GRU models; the Transformer is batch-major.
    var timeMajor: Bool {
        switch self {
        case .seq2seq, .bahdanau: return true
        case .transformer: return false
        }
    }

    /// The sizes of whichever model it is.
    public var sizes: any TranslationSizes {
        switch self {
        case let .seq2seq(c), let .bahdanau(c): return c
        case let .transformer(c): return c
        }
    }

    /// Tokens per source and target sequence.
    public var numSteps: Int { sizes.numSteps }
    /// The source (English) vocabulary's size.
    public var srcVocabSize: Int { sizes.srcVocabSize }
    /// The target (French) vocabulary's size.
    public var tgtVocabSize: Int { sizes.tgtVocabSize }
    /// The model width: the GRU's hidden size, or the Transformer's d_model.
    public var width: Int { sizes.width }

    /// A fresh model with PyTorch's default initialisation.
    public func build(on backend: Backend, rng: HostRNG) throws -> any EncoderDecoder {
        switch self {
        case let .seq2seq(c): return try Seq2Seq(c, on: backend, rng: rng)
        case let .bahdanau(c): return try BahdanauSeq2Seq(c, on: backend, rng: rng)
        case let .transformer(c): return try TransformerSeq2Seq(c, on: backend, rng: rng)
        }
    }

    /// The configuration as the JSON a checkpoint stores.
    public func json() throws -> String {
        switch self {
        case let .seq2seq(c), let .bahdanau(c): return try Training.json(c)
        case let .transformer(c): return try Training.json(c)
        }
    }

    /// Reads `kind` and `config` back from checkpoint metadata.
    public static func decode(kind: String?, config: String?, path: String) throws -> TranslationModelConfig {
        switch kind {
        case "seq2seq": return .seq2seq(try Training.decodeConfig(Seq2SeqConfig.self, config, path: path))
        case "bahdanau": return .bahdanau(try Training.decodeConfig(Seq2SeqConfig.self, config, path: path))
        case "transformer": return .transformer(try Training.decodeConfig(TransformerConfig.self, config, path: path))
        default:
            throw ZooError.badCheckpoint(
                path: path,
                detail: "not a translation checkpoint (kind '\(kind ?? "none")'); "
                    + "`dive translate` reads seq2seq, bahdanau and transformer checkpoints, `dive predict` language models")
        }
    }
}

/// A recurrent decoder's state (L, K, H) for the GRU seq2seq model.
final class RecurrentDecoderState: DecoderState {
    let h: Tensor  // (L, K, H)
    init(_ h: Tensor) { self.h = h }
    func selecting(_ rows: [Int]) throws -> DecoderState {
        RecurrentDecoderState(try DecoderStates.selectAxis1(h, rows))
    }
}

enum DecoderStates {
    /// Rows `rows` of x (K, ...) along axis 0 → (rows.count, ...), on the device (an embedding gather).
    static func selectRows(_ x: Tensor, _ rows: [Int]) throws -> Tensor {
        let K = x.shape[0], rest = x.count / max(K, 1)
        let picked = try Tensor.embedding(x.reshaped([K, rest]), indices: Tensor(rows.map(Int32.init), shape: [rows.count], on: x.backend))
        return try picked.reshaped([rows.count] + x.shape.dropFirst())
    }

    /// Rows along axis 1 of x (L, K, H) → (L, rows.count, H).
    static func selectAxis1(_ x: Tensor, _ rows: [Int]) throws -> Tensor {
        try selectRows(x.permuted([1, 0, 2]), rows).permuted([1, 0, 2])
    }
}
