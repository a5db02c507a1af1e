using System.Text.Json.Serialization;

namespace AsymCdc.Simulation;

/// <summary>One mode under one scenario: the row of the demo's, the bench's and the simulator's tables and JSON. The
/// simulator adds <see cref="Load"/>, <see cref="RateQps"/> and <see cref="CostMs"/> and leaves <see cref="Accuracy"/>
/// null (it does not model it).</summary>
public sealed record ScenarioResult(
    [property: JsonPropertyName("scenario")] string Scenario,
    [property: JsonPropertyName("straggler_rate")] double StragglerRate,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("k")] int K,
    [property: JsonPropertyName("workers")] int Workers,
    [property: JsonPropertyName("queries")] int Queries,
    [property: JsonPropertyName("answered")] int Answered,
    [property: JsonPropertyName("errors")] int Errors,
    [property: JsonPropertyName("lost")] int Lost,
    [property: JsonPropertyName("reconstructed")] int Reconstructed,
    [property: JsonPropertyName("p50_ms")] double P50Ms,
    [property: JsonPropertyName("p99_ms")] double P99Ms,
    [property: JsonPropertyName("p999_ms")] double P999Ms,
    [property: JsonPropertyName("throughput_qps")] double ThroughputQps,
    [property: JsonPropertyName("accuracy")] double? Accuracy,
    [property: JsonPropertyName("extra_work_ratio")] double ExtraWorkRatio)
{
    /// <summary>The offered load, a fraction of capacity (simulator).</summary>
    [JsonPropertyName("load"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Load { get; init; }

    [JsonPropertyName("rate_qps"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? RateQps { get; init; }

    /// <summary>Median and p99 time of one reconstruction (ms), from the decode's start to its answer as the parity
    /// group sees it (bench: the silos' <c>asymcdc.decode.duration</c>); null where nothing was rebuilt.</summary>
    [JsonPropertyName("decode_p50_ms"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? DecodeP50Ms { get; init; }

    [JsonPropertyName("decode_p99_ms"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? DecodeP99Ms { get; init; }

    /// <summary>A 95% confidence interval of <see cref="P99Ms"/> (bench: [low, high] ms, from the order statistics of
    /// the answered queries); null where not computed.</summary>
    [JsonPropertyName("p99_ci_ms"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[]? P99CiMs { get; init; }

    /// <summary>A 95% confidence interval of <see cref="P999Ms"/>, as <see cref="P99CiMs"/>.</summary>
    [JsonPropertyName("p999_ci_ms"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[]? P999CiMs { get; init; }

    /// <summary>Worker-busy milliseconds per query: a GPU batch counts once, whatever rides in it (simulator).</summary>
    [JsonPropertyName("cost"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? CostMs { get; init; }
}
