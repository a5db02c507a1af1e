using System.Text.Json;
using System.Text.Json.Serialization;

namespace AsymCdc.Inference;

/// <summary>What a model is for (config.json <c>role</c>).</summary>
public enum ModelRole
{
    Classifier,
    Inverse,
    CompactDecoder,
    ParityModel,
}

/// <summary>One declared input or output (config.json <c>inputs[]</c>/<c>outputs[]</c>): name, element
/// type and dims with <c>-1</c> for the dynamic batch axis.</summary>
public sealed record TensorConfig(string Name, string DataType, IReadOnlyList<long> Dims)
{
    /// <summary>The only element type the repository uses.</summary>
    public const string Float32 = "TYPE_FP32";

    /// <summary>Floats per batch item: the product of the dims after the batch axis.</summary>
    public int ItemLength
    {
        get
        {
            long length = 1;
            for (var i = 1; i < Dims.Count; i++)
            {
                length *= Dims[i];
            }

            return checked((int)length);
        }
    }

    /// <summary>The tensor shape for a batch of <paramref name="batch"/> items.</summary>
    public long[] ShapeFor(int batch)
    {
        var shape = new long[Dims.Count];
        shape[0] = batch;
        for (var i = 1; i < shape.Length; i++)
        {
            shape[i] = Dims[i];
        }

        return shape;
    }

    public override string ToString() => $"{Name} {DataType} [{string.Join(',', Dims)}]";
}

/// <summary>
/// A model's declarative config (Triton-style <c>models/&lt;name&gt;/config.json</c>), validated on load
/// so that a bad file is reported by name before any session is created.
/// </summary>
public sealed record ModelConfig(
    string Name,
    ModelRole Role,
    string Platform,
    int MaxBatchSize,
    int? K,
    IReadOnlyList<TensorConfig> Inputs,
    IReadOnlyList<TensorConfig> Outputs)
{
    public const string FileName = "config.json";
    public const string OnnxPlatform = "onnxruntime_onnx";

    /// <summary>The single input (the coding layer's <c>IModelFunction</c> has exactly one).</summary>
    public TensorConfig Input => Inputs[0];

    /// <summary>Reads and validates <c>&lt;modelDirectory&gt;/config.json</c>; the folder name must equal
    /// the config's <c>name</c>.</summary>
    public static ModelConfig Load(string modelDirectory)
    {
        var folderName = Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDirectory));
        var path = Path.Combine(modelDirectory, FileName);
        if (!File.Exists(path))
        {
            throw new ModelRepositoryException($"Model '{folderName}': '{path}' does not exist.", folderName);
        }

        ConfigFile? file;
        try
        {
            file = JsonSerializer.Deserialize(File.ReadAllText(path), ConfigJsonContext.Default.ConfigFile);
        }
        catch (JsonException e)
        {
            throw new ModelRepositoryException($"Model '{folderName}': '{path}' is not valid JSON: {e.Message}", folderName, e);
        }

        if (file is null)
        {
            throw new ModelRepositoryException($"Model '{folderName}': '{path}' is empty.", folderName);
        }

        return Validate(file, folderName, path);
    }

    private static ModelConfig Validate(ConfigFile file, string folderName, string path)
    {
        var problems = new List<string>();
        if (file.Name != folderName)
        {
            problems.Add($"name is '{file.Name}' but the folder is '{folderName}'");
        }

        var role = ParseRole(file.Role);
        if (role is null)
        {
            problems.Add($"role '{file.Role}' is not one of classifier, inverse, compact-decoder, parity-model");
        }

        if (file.Platform != OnnxPlatform)
        {
            problems.Add($"platform '{file.Platform}' is not '{OnnxPlatform}'");
        }

        if (file.MaxBatchSize < 1)
        {
            problems.Add($"max_batch_size is {file.MaxBatchSize}; it must be at least 1");
        }

        if (role is ModelRole.CompactDecoder or ModelRole.ParityModel && file.K is not (>= 2 and <= 16))
        {
            problems.Add($"role '{file.Role}' needs k between 2 and 16 (got {file.K?.ToString() ?? "none"})");
        }

        if (file.Inputs is not { Count: 1 })
        {
            problems.Add($"declares {file.Inputs?.Count ?? 0} inputs; exactly one is supported");
        }

        if (file.Outputs is not { Count: > 0 })
        {
            problems.Add("declares no outputs");
        }

        var inputs = ValidateTensors(file.Inputs, "input", problems);
        var outputs = ValidateTensors(file.Outputs, "output", problems);
        if (problems.Count > 0)
        {
            throw new ModelRepositoryException(
                $"Model '{folderName}': '{path}' is invalid: {string.Join("; ", problems)}.", folderName);
        }

        return new ModelConfig(file.Name!, role!.Value, file.Platform!, file.MaxBatchSize, file.K, inputs, outputs);
    }

    private static List<TensorConfig> ValidateTensors(List<TensorFile>? tensors, string kind, List<string> problems)
    {
        var result = new List<TensorConfig>();
        foreach (var t in tensors ?? [])
        {
            var name = t.Name;
            if (string.IsNullOrWhiteSpace(name))
            {
                problems.Add($"an {kind} has no name");
                continue;
            }

            if (t.DataType != TensorConfig.Float32)
            {
                problems.Add($"{kind} '{name}' has data_type '{t.DataType}'; only {TensorConfig.Float32} is supported");
            }

            var dims = t.Dims ?? [];
            if (dims.Count < 2 || dims[0] != -1)
            {
                problems.Add($"{kind} '{name}' dims [{string.Join(',', dims)}] must start with -1 (the batch axis) and have at least one more axis");
            }
            else
            {
                for (var i = 1; i < dims.Count; i++)
                {
                    if (dims[i] < 1)
                    {
                        problems.Add($"{kind} '{name}' dims [{string.Join(',', dims)}] have a non-positive size after the batch axis");
                        break;
                    }
                }
            }

            result.Add(new TensorConfig(name, t.DataType ?? "", dims));
        }

        return result;
    }

    private static ModelRole? ParseRole(string? role) => role switch
    {
        "classifier" => ModelRole.Classifier,
        "inverse" => ModelRole.Inverse,
        "compact-decoder" => ModelRole.CompactDecoder,
        "parity-model" => ModelRole.ParityModel,
        _ => null,
    };

    internal sealed class ConfigFile
    {
        [JsonPropertyName("name")] public string? Name { get; set; }
        [JsonPropertyName("role")] public string? Role { get; set; }
        [JsonPropertyName("platform")] public string? Platform { get; set; }
        [JsonPropertyName("max_batch_size")] public int MaxBatchSize { get; set; }
        [JsonPropertyName("k")] public int? K { get; set; }
        [JsonPropertyName("inputs")] public List<TensorFile>? Inputs { get; set; }
        [JsonPropertyName("outputs")] public List<TensorFile>? Outputs { get; set; }
    }

    internal sealed class TensorFile
    {
        [JsonPropertyName("name")] public string? Name { get; set; }
        [JsonPropertyName("data_type")] public string? DataType { get; set; }
        [JsonPropertyName("dims")] public List<long>? Dims { get; set; }
    }
}

[JsonSerializable(typeof(ModelConfig.ConfigFile))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
