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
    /// <summary>The values an input accepts (config.json <c>range: [min, max]</c>, an AsymCdc extension); null when
    /// the config declares none, and then only finiteness is checked.</summary>
    public (float Min, float Max)? Range { get; init; }

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
    /// <summary>The classifier a coding companion (inverse, compact decoder, parity model) belongs to (config.json
    /// <c>serves</c>); null for a classifier.</summary>
    public string? Serves { get; init; }

    /// <summary>The classifier output a compact decoder reads, one per member (<c>serves_output</c>).</summary>
    public string? ServesOutput { get; init; }

    /// <summary>A parity model's encoder (<c>encoder</c>: <c>sum</c>, ParM's; the only one).</summary>
    public string? Encoder { get; init; }

    /// <summary>A decoder's (compact decoder, parity model) agreement of its reconstructions with its classifier's own
    /// answers on the test set (<c>agreement</c>, 0..1, as training measured it); what <c>auto</c> weighs it by.</summary>
    public double? Agreement { get; init; }

    /// <summary>Other names a classifier is served under (<c>aliases</c>), e.g. the product name <c>fmnist</c>.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Where a classifier's test data is (<c>dataset</c>): <c>fmnist</c>, <c>digits</c> or a folder in the
    /// tensor-dataset format, relative to the repository; what <c>eval</c>, <c>bench</c> and <c>demo</c> send it.</summary>
    public string? Dataset { get; init; }

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

        if (role is ModelRole.CompactDecoder or ModelRole.ParityModel or ModelRole.Inverse && string.IsNullOrWhiteSpace(file.Serves))
        {
            problems.Add($"role '{file.Role}' needs 'serves': the classifier it belongs to");
        }

        if (role == ModelRole.Classifier && file.Serves is not null)
        {
            problems.Add("a classifier serves itself; remove 'serves'");
        }

        if (file.Encoder is not (null or "sum"))
        {
            problems.Add($"encoder '{file.Encoder}' is not 'sum' (the only parity encoder of a parity model)");
        }

        if (file.Agreement is { } agreement && (agreement is < 0 or > 1 || double.IsNaN(agreement) || role is not (ModelRole.CompactDecoder or ModelRole.ParityModel)))
        {
            problems.Add($"agreement {agreement} must be a fraction in [0, 1], and only a compact decoder or a parity model records one");
        }

        foreach (var alias in file.Aliases ?? [])
        {
            if (!IsModelName(alias))
            {
                problems.Add($"alias '{alias}' is not a model name (letters, digits, '.', '_' and '-')");
            }
        }

        if (!IsModelName(file.Name))
        {
            problems.Add($"name '{file.Name}' is not a model name (letters, digits, '.', '_' and '-')");
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

        return new ModelConfig(file.Name!, role!.Value, file.Platform!, file.MaxBatchSize, file.K, inputs, outputs)
        {
            Serves = file.Serves,
            ServesOutput = file.ServesOutput,
            Encoder = file.Encoder,
            Agreement = file.Agreement,
            Aliases = file.Aliases ?? [],
            Dataset = file.Dataset,
        };
    }

    /// <summary>A name that is safe in a grain key, a URL path segment and a folder name.</summary>
    public static bool IsModelName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || name[0] == '.')
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
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

            (float, float)? range = null;
            if (t.Range is { } r)
            {
                if (kind != "input" || r.Count != 2 || !float.IsFinite(r[0]) || !float.IsFinite(r[1]) || r[0] > r[1])
                {
                    problems.Add($"{kind} '{name}' range [{string.Join(',', r)}] must be [min, max] of finite numbers on an input");
                }
                else
                {
                    range = (r[0], r[1]);
                }
            }

            result.Add(new TensorConfig(name, t.DataType ?? "", dims) { Range = range });
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
        [JsonPropertyName("serves")] public string? Serves { get; set; }
        [JsonPropertyName("serves_output")] public string? ServesOutput { get; set; }
        [JsonPropertyName("encoder")] public string? Encoder { get; set; }
        [JsonPropertyName("agreement")] public double? Agreement { get; set; }
        [JsonPropertyName("aliases")] public List<string>? Aliases { get; set; }
        [JsonPropertyName("dataset")] public string? Dataset { get; set; }
    }

    internal sealed class TensorFile
    {
        [JsonPropertyName("name")] public string? Name { get; set; }
        [JsonPropertyName("data_type")] public string? DataType { get; set; }
        [JsonPropertyName("dims")] public List<long>? Dims { get; set; }
        [JsonPropertyName("range")] public List<float>? Range { get; set; }
    }
}

[JsonSerializable(typeof(ModelConfig.ConfigFile))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
