namespace AsymCdc.Abstractions;

/// <summary>One model instance. Keyed by the silo it must run on (<c>SiloAddress.ToParsableString()</c>), so the
/// k+1 members of a parity group land on k+1 distinct silos. Stateless and reentrant: concurrent calls reach the
/// inference layer's micro-batcher.</summary>
[Alias("asymcdc.IModelWorkerGrain")]
public interface IModelWorkerGrain : IGrainWithStringKey
{
    [Alias("Run")]
    ValueTask<WorkerAnswer> RunAsync(WorkerCall call);
}

/// <summary>Forms parity groups of k queries of one model in arrival order and answers each caller. Key:
/// <c>{model}/{mode}/{k}/{shard}</c>
/// (see <see cref="ParityGroupKey"/>).</summary>
[Alias("asymcdc.IParityGroupGrain")]
public interface IParityGroupGrain : IGrainWithStringKey
{
    [Alias("Predict")]
    ValueTask<Prediction> PredictAsync(GroupQuery query);
}

/// <summary>Runs the configured decoder when a member of a group is late; invoked only on a miss.</summary>
[Alias("asymcdc.IDecoderGrain")]
public interface IDecoderGrain : IGrainWithIntegerKey
{
    [Alias("Decode")]
    ValueTask<float[]> DecodeAsync(DecodeCall call);
}

/// <summary>One call of one model on one worker: one item in <see cref="Input"/>. <see cref="Parity"/> marks a parity
/// query, which the worker keeps out of its data queries' way.</summary>
[GenerateSerializer, Immutable, Alias("asymcdc.WorkerCall")]
public sealed record WorkerCall(
    [property: Id(0)] string Model,
    [property: Id(1)] float[] Input,
    [property: Id(2)] ServingMode Mode,
    [property: Id(3)] bool Parity = false);

/// <summary>A worker's answer: the logits, the invertible feature map z where the model has one, and which silo
/// answered.</summary>
[GenerateSerializer, Immutable, Alias("asymcdc.WorkerAnswer")]
public sealed record WorkerAnswer(
    [property: Id(0)] float[] Logits,
    [property: Id(1)] float[]? Features,
    [property: Id(2)] string Worker,
    [property: Id(3)] bool Straggled);

/// <summary>A validated query on its way to a parity group; <see cref="DeadlineUtc"/> bounds every await.</summary>
[GenerateSerializer, Immutable, Alias("asymcdc.GroupQuery")]
public sealed record GroupQuery(
    [property: Id(0)] float[] Input,
    [property: Id(1)] string Model,
    [property: Id(2)] DateTime DeadlineUtc);

/// <summary>A decode of a group of <see cref="Model"/> (its repository name): K data members (entry
/// <see cref="MissingIndex"/> null), and the parity's answer.</summary>
[GenerateSerializer, Immutable, Alias("asymcdc.DecodeCall")]
public sealed record DecodeCall(
    [property: Id(0)] ServingMode Mode,
    [property: Id(1)] int K,
    [property: Id(2)] int MissingIndex,
    [property: Id(3)] WorkerAnswer?[] Data,
    [property: Id(4)] WorkerAnswer Parity,
    [property: Id(5)] string Model);

/// <summary>Parity-group grain keys: one group grain per (model, mode, k, shard); a group holds queries of one model.</summary>
public static class ParityGroupKey
{
    public static string Format(string model, ServingMode mode, int k, int shard) => $"{model}/{mode.ToName()}/{k}/{shard}";

    public static (string Model, ServingMode Mode, int K, int Shard) Parse(string key)
    {
        var parts = key.Split('/');
        if (parts.Length != 4 || parts[0].Length == 0 || !ServingModes.TryParse(parts[1], out var mode)
            || !int.TryParse(parts[2], out var k) || !int.TryParse(parts[3], out var shard))
        {
            throw new ArgumentException($"parity-group key '{key}' is not of the form '{{model}}/{{mode}}/{{k}}/{{shard}}'", nameof(key));
        }

        return (parts[0], mode, k, shard);
    }
}
