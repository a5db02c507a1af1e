using System.Globalization;
using AsymCdc.Abstractions;

namespace AsymCdc.Gateway;

/// <summary>
/// A model as the gateway serves it over every protocol (HTTP JSON, HTTP binary, gRPC): its name and versions, its one
/// FP32 input and its outputs. The first dimension of every tensor is the batch: the gateway sends one
/// <see cref="IFrontendGrain.PredictAsync"/> per item, so the cluster's parity groups form across callers.
/// Adding a model to the gateway is registering one of these (<c>services.AddAsymCdcGatewayModel</c>).
/// </summary>
public sealed record ServedModel
{
    public ServedModel(string name, ServedInput input, IReadOnlyList<ServedOutput> outputs)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(outputs);
        Name = name;
        Input = input;
        Outputs = outputs;
    }

    /// <summary>The name in <c>/v2/models/{name}</c> and <c>model_name</c>.</summary>
    public string Name { get; }

    public ServedInput Input { get; }

    /// <summary>Every output, in the order responses list them when a request names none.</summary>
    public IReadOnlyList<ServedOutput> Outputs { get; }

    /// <summary>The versions the gateway answers for; a request that names none gets the first.</summary>
    public IReadOnlyList<string> Versions { get; init; } = ["1"];

    public string Platform { get; init; } = "onnxruntime_onnx";

    /// <summary>Length of a <see cref="InferOutputs.Logits"/> output's row (the classes).</summary>
    public int Classes { get; init; } = PredictionRequest.Classes;

    /// <summary>What one batch row is, for messages ("send at least one image").</summary>
    public string ItemNoun { get; init; } = "item";

    /// <summary>The model name the cluster knows it by (<see cref="PredictionRequest.Model"/>); the served name by default.</summary>
    public string? ClusterModel { get; init; }

    internal string ClusterModelName => ClusterModel ?? Name;

    internal string DefaultVersion => Versions[0];

    /// <summary>The output's shape: [-1, <see cref="Classes"/>] for logits, [-1] for the label.</summary>
    public IReadOnlyList<long> ShapeOf(ServedOutput output) =>
        output.Source == InferOutputs.Logits ? [-1, Classes] : [-1];

    /// <summary>The request's <c>outputs</c> as the model's output flags, or null for an unknown name.</summary>
    internal ServedOutput? FindOutput(string name)
    {
        foreach (var output in Outputs)
        {
            if (string.Equals(output.Name, name, StringComparison.Ordinal))
            {
                return output;
            }
        }

        return null;
    }

    internal InferOutputs AllOutputs
    {
        get
        {
            InferOutputs all = 0;
            foreach (var output in Outputs)
            {
                all |= output.Source;
            }

            return all;
        }
    }

    /// <summary>The problem with this registration, or null: the gateway refuses to start with a model it cannot serve.</summary>
    internal string? Problem()
    {
        if (Versions.Count == 0 || Versions.Any(string.IsNullOrWhiteSpace))
        {
            return $"model '{Name}' needs at least one non-empty version";
        }

        if (Input.ItemShape.Count == 0 || Input.ItemShape.Any(d => d < 1))
        {
            return $"model '{Name}': input '{Input.Name}' needs a fixed item shape of positive dimensions (the batch dimension is implied)";
        }

        if (!(Input.Min <= Input.Max))
        {
            return $"model '{Name}': input '{Input.Name}' has the value range [{Input.Min}, {Input.Max}]; Min must not exceed Max";
        }

        if (Outputs.Count == 0)
        {
            return $"model '{Name}' declares no outputs";
        }

        InferOutputs seen = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in Outputs)
        {
            if (output.Source is not (InferOutputs.Logits or InferOutputs.Label))
            {
                return $"model '{Name}': output '{output.Name}' must come from exactly one of {InferOutputs.Logits} or {InferOutputs.Label}";
            }

            if ((seen & output.Source) != 0 || !names.Add(output.Name))
            {
                return $"model '{Name}' declares output '{output.Name}' or its source {output.Source} twice";
            }

            seen |= output.Source;
        }

        return Classes < 1 ? $"model '{Name}' has Classes = {Classes}; it must be positive" : null;
    }
}

/// <summary>
/// A served model's input: FP32 (the cluster's <see cref="PredictionRequest.Input"/> carries float32), shape
/// [N, ..<see cref="ItemShape"/>], every value finite and in [<see cref="Min"/>, <see cref="Max"/>].
/// </summary>
public sealed record ServedInput(string Name, IReadOnlyList<int> ItemShape, float Min, float Max)
{
    public const string Datatype = "FP32";

    /// <summary>What the values are, for messages ("pixels must be finite numbers in [0, 1]").</summary>
    public string ValueNoun { get; init; } = "values";

    /// <summary>Values per batch row: the product of <see cref="ItemShape"/>.</summary>
    public int ItemLength
    {
        get
        {
            var length = 1;
            foreach (var dimension in ItemShape)
            {
                length *= dimension;
            }

            return length;
        }
    }

    /// <summary><see cref="ItemShape"/> as the cluster's <see cref="Tensor.Shape"/>.</summary>
    internal int[] TensorShape { get; } = [.. ItemShape];

    /// <summary>[-1, ..ItemShape], as metadata shows it.</summary>
    public IReadOnlyList<long> Shape => [-1, .. ItemShape.Select(d => (long)d)];

    /// <summary>"[N,1,28,28]", as messages show the expected shape.</summary>
    internal string ExpectedShape => $"[N,{string.Join(',', ItemShape)}]";

    internal string Range => Min == float.MinValue && Max == float.MaxValue
        ? "the float32 range"
        : string.Create(CultureInfo.InvariantCulture, $"[{Min}, {Max}]");
}

/// <summary>A served model's output, filled from each answer's <see cref="Prediction.Logits"/> (FP32
/// [N, classes]) or <see cref="Prediction.Label"/> (INT64 [N], the model's own prediction).</summary>
public sealed record ServedOutput(string Name, InferOutputs Source)
{
    public string Datatype => Source == InferOutputs.Logits ? "FP32" : "INT64";

    /// <summary>Bytes per value in the binary and raw encodings.</summary>
    internal int ElementSize => Source == InferOutputs.Logits ? sizeof(float) : sizeof(long);
}

/// <summary>The models this repository serves today.</summary>
public static class ServedModels
{
    /// <summary>The Fashion-MNIST classifier: input [N,1,28,28] pixels in [0, 1]; outputs logits [N,10] and label [N].</summary>
    public static ServedModel FashionMnist { get; } = new(
        PredictionRequest.DefaultModel,
        new ServedInput(InferRequestParser.InputName, [InferRequestParser.Channels, InferRequestParser.Height, InferRequestParser.Width], 0f, 1f) { ValueNoun = "pixels" },
        [new ServedOutput(InferRequestParser.LogitsOutput, InferOutputs.Logits), new ServedOutput(InferRequestParser.LabelOutput, InferOutputs.Label)])
    {
        Versions = [InferResponseWriter.ModelVersion],
        Classes = PredictionRequest.Classes,
        ItemNoun = "image",
    };
}
