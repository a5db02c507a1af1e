namespace AsymCdc.Abstractions;

/// <summary>One item of a model's input: float32 values, row-major, of <see cref="Shape"/> (the model's item shape,
/// without the batch axis, e.g. [1, 28, 28]; a flat [n] of the same length is read row-major too).</summary>
[GenerateSerializer, Immutable, Alias("asymcdc.Tensor")]
public sealed record Tensor([property: Id(0)] float[] Data, [property: Id(1)] int[] Shape)
{
    /// <summary>A Fashion-MNIST image: 784 pixels in [0, 1], [1, 28, 28].</summary>
    public static Tensor Image(float[] pixels) => new(pixels, [1, 28, 28]);

    /// <summary>Values of any model, shaped by the model they are sent to.</summary>
    public static Tensor Flat(float[] values) => new(values, [values?.Length ?? 0]);

    /// <summary>"[1,28,28]", for messages.</summary>
    public string ShapeText => Shape is null ? "none" : $"[{string.Join(',', Shape)}]";
}

/// <summary>One query of a model: its input, which model (repository name or alias), how to serve it and how long it
/// may take. The product's own model, <see cref="DefaultModel"/>, takes a Fashion-MNIST image.</summary>
[GenerateSerializer, Immutable, Alias("asymcdc.PredictionRequest")]
public sealed record PredictionRequest(
    [property: Id(0)] Tensor Input,
    [property: Id(1)] string Model = PredictionRequest.DefaultModel,
    [property: Id(2)] ServingMode? Mode = null,
    [property: Id(3)] TimeSpan? Timeout = null)
{
    /// <summary>A Fashion-MNIST query of <paramref name="model"/> (the product's model by default): 784 pixels in [0, 1].</summary>
    /// <remarks>Its parameters are named as the record's, so <c>Mode:</c> and <c>Timeout:</c> work with either input.</remarks>
    public PredictionRequest(float[] pixels, string Model = DefaultModel, ServingMode? Mode = null, TimeSpan? Timeout = null)
        : this(Tensor.Image(pixels), Model, Mode, Timeout)
    {
    }

    public const string DefaultModel = "fmnist";

    /// <summary>The default model's input length (a 28x28 image) and classes.</summary>
    public const int InputLength = 784;
    public const int Classes = 10;
}

/// <summary>An answer: the label, the logits and how it was served. <see cref="Worker"/> is the silo whose model answered
/// (for a direct answer), <see cref="Frontend"/> the silo whose frontend grain took the call: the gateway it entered.</summary>
[GenerateSerializer, Immutable, Alias("asymcdc.Prediction")]
public sealed record Prediction(
    [property: Id(0)] int Label,
    [property: Id(1)] float[] Logits,
    [property: Id(2)] ServedBy ServedBy,
    [property: Id(3)] double LatencyMs,
    [property: Id(4)] long GroupId,
    [property: Id(5)] ServingMode Mode,
    [property: Id(6)] string? Worker = null,
    [property: Id(7)] string? Frontend = null);

/// <summary>Why a query was refused or could not be answered. Every code names a retry policy:
/// predictions are idempotent, so retrying <see cref="Overloaded"/>, <see cref="DeadlineExceeded"/>
/// and <see cref="Unavailable"/> is always safe; the others fail again.</summary>
public enum PredictionErrorCode
{
    InvalidInput = 0,
    UnknownModel = 1,
    UnknownMode = 2,
    Overloaded = 3,
    DeadlineExceeded = 4,
    Unavailable = 5,
    BatchTooLarge = 6,
    /// <summary>The model lacks what the requested mode needs (a decoder or parity model); the message names it.</summary>
    ModeNotSupported = 7,
}

[GenerateSerializer, Alias("asymcdc.PredictionException")]
public sealed class PredictionException : Exception
{
    public PredictionException(PredictionErrorCode code, string message) : base(message) => Code = code;

    public PredictionException(PredictionErrorCode code, string message, Exception inner) : base(message, inner) => Code = code;

    [Id(0)]
    public PredictionErrorCode Code { get; }

    /// <summary>True when the query was refused before any work on it started (a frontend silo leaving the cluster), so
    /// <c>AsymCdcClient</c> sends it again at once through another frontend: nothing is computed twice.</summary>
    [Id(1)]
    public bool NotStarted { get; init; }

    /// <summary>True where the same request may succeed when sent again (predictions are idempotent).</summary>
    public bool IsRetryable => Code is PredictionErrorCode.Overloaded or PredictionErrorCode.DeadlineExceeded or PredictionErrorCode.Unavailable;
}
