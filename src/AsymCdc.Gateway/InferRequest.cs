using AsymCdc.Abstractions;

namespace AsymCdc.Gateway;

/// <summary>Which outputs an infer response carries (KServe lets a request name the ones it wants).</summary>
[Flags]
public enum InferOutputs
{
    Logits = 1,
    Label = 2,
    All = Logits | Label,
}

/// <summary>A validated infer request: <see cref="Images"/> holds N arrays of exactly
/// <see cref="PredictionRequest.InputLength"/> pixels in [0, 1], ready to become N <see cref="PredictionRequest"/>s.</summary>
public sealed record InferRequest(
    string? Id,
    float[][] Images,
    ServingMode? Mode,
    TimeSpan? Timeout,
    InferOutputs Outputs);

/// <summary>A malformed infer request; the message names what is wrong and is returned to the caller as-is.</summary>
public sealed class InferRequestException(string message) : Exception(message);
