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

/// <summary>A validated infer request, whichever protocol it came in: <see cref="Images"/> holds N arrays of exactly
/// the model's item length (<see cref="ServedInput.ItemLength"/>; 784 pixels in [0, 1] for Fashion-MNIST), ready to
/// become N <see cref="PredictionRequest"/>s.</summary>
public sealed record InferRequest(
    string? Id,
    float[][] Images,
    ServingMode? Mode,
    TimeSpan? Timeout,
    InferOutputs Outputs)
{
    /// <summary>The outputs to send as binary data after the JSON (HTTP binary tensor data extension), a subset of
    /// <see cref="Outputs"/>.</summary>
    public InferOutputs BinaryOutputs { get; init; }
}

/// <summary>A malformed infer request; the message names what is wrong and is returned to the caller as-is.</summary>
public sealed class InferRequestException(string message) : Exception(message);
