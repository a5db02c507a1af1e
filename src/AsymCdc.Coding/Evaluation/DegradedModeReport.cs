using System.Text.Json.Serialization;

namespace AsymCdc.Coding.Evaluation;

/// <summary>
/// What the degraded-mode evaluation prints (DESIGN §3, "Evaluation"): the model's own test accuracy
/// next to the accuracy of reconstructed answers per decoder and k.
/// </summary>
/// <param name="Model">The classifier's model-repository name.</param>
/// <param name="TestQueries">Test images evaluated.</param>
/// <param name="Accuracy">The classifier's own accuracy on them.</param>
/// <param name="EncodeMicrosecondsMedian">Median time of one <see cref="MeanEncoder"/> call at the largest k evaluated.</param>
/// <param name="Results">One entry per (decoder, k).</param>
public sealed record DegradedModeReport(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("test_queries")] int TestQueries,
    [property: JsonPropertyName("accuracy")] double Accuracy,
    [property: JsonPropertyName("encode_us_median")] double EncodeMicrosecondsMedian,
    [property: JsonPropertyName("results")] IReadOnlyList<DecoderResult> Results);

/// <summary>How well one decoder reconstructs missing answers in groups of <paramref name="K"/>.</summary>
/// <param name="Decoder">exact, compact, parm or approxifer (<see cref="Decoders.NameOf"/>).</param>
/// <param name="K">Data queries per parity group.</param>
/// <param name="DegradedAccuracy">Fraction of reconstructions whose argmax is the true label.</param>
/// <param name="Agreement">Fraction of reconstructions whose argmax is the model's own answer on the undisturbed query.</param>
/// <param name="DecodeMillisecondsMedian">Median time of one unbatched reconstruction.</param>
/// <param name="DecodeMillisecondsP99">99th percentile time of one unbatched reconstruction.</param>
public sealed record DecoderResult(
    [property: JsonPropertyName("decoder")] string Decoder,
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("degraded_accuracy")] double DegradedAccuracy,
    [property: JsonPropertyName("agreement")] double Agreement,
    [property: JsonPropertyName("decode_ms_median")] double DecodeMillisecondsMedian,
    [property: JsonPropertyName("decode_ms_p99")] double DecodeMillisecondsP99);

/// <summary>Source-generated System.Text.Json metadata for the report (indented, as printed by the CLI).</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(DegradedModeReport))]
[JsonSerializable(typeof(List<DegradedModeReport>))]
public sealed partial class DegradedModeJsonContext : JsonSerializerContext;
