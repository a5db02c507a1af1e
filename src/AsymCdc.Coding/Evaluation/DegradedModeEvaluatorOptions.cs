namespace AsymCdc.Coding.Evaluation;

/// <summary>Knobs of <see cref="DegradedModeEvaluator"/>.</summary>
public sealed class DegradedModeEvaluatorOptions
{
    /// <summary>Most items per model call (the models' max_batch_size is 256).</summary>
    public int MaxBatchItems { get; init; } = 256;

    /// <summary>Unbatched reconstructions timed per (decoder, k) for decode_ms_median / decode_ms_p99.</summary>
    public int DecodeTimingSamples { get; init; } = 100;

    /// <summary>Mean-encoder calls timed for encode_us_median.</summary>
    public int EncodeTimingSamples { get; init; } = 1000;

    internal void Validate()
    {
        if (MaxBatchItems < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchItems), MaxBatchItems, "MaxBatchItems must be >= 1.");
        }

        if (DecodeTimingSamples < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(DecodeTimingSamples), DecodeTimingSamples, "DecodeTimingSamples must be >= 1 (the report needs a decode time).");
        }

        if (EncodeTimingSamples < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(EncodeTimingSamples), EncodeTimingSamples, "EncodeTimingSamples must be >= 1 (the report needs an encode time).");
        }
    }
}
