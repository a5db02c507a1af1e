using System.Globalization;
using System.Diagnostics.Metrics;
using System.Diagnostics;
using AsymCdc.Coding;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AsymCdc.Inference;

/// <summary>
/// The loaded models of a Triton-style repository (<c>&lt;name&gt;/config.json</c>,
/// <c>&lt;name&gt;/&lt;version&gt;/model.onnx</c>), one ONNX Runtime session each. Every model's
/// config is checked against its graph on load, so a mismatch stops start-up rather than a query.
/// </summary>
public sealed partial class ModelRepository : IDisposable
{
    public const string ModelFileName = "model.onnx";

    /// <summary>The Microsoft.ML.OnnxRuntime.Gpu release we build against; its CUDA provider links CUDA 13.</summary>
    private const string OrtCudaVersion = "1.31";

    private readonly Dictionary<string, OnnxModelFunction> _functions;
    private readonly IReadOnlyList<string> _available;
    private readonly ILogger _logger;
    private readonly InferenceInstruments _instruments;
    private int _warm;

    private ModelRepository(string directory, string executionProvider, Dictionary<string, OnnxModelFunction> functions,
        IReadOnlyList<string> available, ILogger logger, InferenceInstruments instruments, IReadOnlyList<CodedModel> served)
    {
        Served = served;
        _instruments = instruments;
        Directory = directory;
        ExecutionProvider = executionProvider;
        _functions = functions;
        _available = available;
        _logger = logger;
        var models = new List<ModelConfig>(functions.Count);
        foreach (var function in functions.Values)
        {
            models.Add(function.Config);
        }

        Models = models;
    }

    /// <summary>The repository folder, absolute.</summary>
    public string Directory { get; }

    /// <summary><c>cpu</c> or <c>cuda</c>.</summary>
    public string ExecutionProvider { get; }

    /// <summary>The loaded models, in name order.</summary>
    public IReadOnlyList<ModelConfig> Models { get; }

    /// <summary>The classifiers it serves, each with its coding companions, in name order.</summary>
    public IReadOnlyList<CodedModel> Served { get; }

    /// <summary>The served classifier called <paramref name="name"/> (its repository name or an alias), or null.</summary>
    public CodedModel? FindServed(string name)
    {
        foreach (var model in Served)
        {
            if (model.IsCalled(name))
            {
                return model;
            }
        }

        return null;
    }

    /// <summary>True once <see cref="WarmUpAsync"/> has run every model.</summary>
    public bool IsWarm => Volatile.Read(ref _warm) == 1;

    /// <summary>
    /// Opens the repository named by <see cref="InferenceOptions.ModelRepository"/> and loads
    /// <see cref="InferenceOptions.Models"/> (all when empty). Throws <see cref="OptionsValidationException"/>
    /// for bad options and <see cref="ModelRepositoryException"/> for anything wrong with the models.
    /// </summary>
    /// <param name="meterFactory">Where the repository's metrics (<see cref="InferenceInstruments"/>) go: the host's
    /// factory, or null for a process-wide meter.</param>
    public static ModelRepository Open(InferenceOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var validation = new InferenceOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(InferenceOptions.SectionName, typeof(InferenceOptions), validation.Failures);
        }

        var logger = (ILogger?)loggerFactory?.CreateLogger<ModelRepository>() ?? NullLogger.Instance;
        var time = timeProvider ?? TimeProvider.System;
        var root = ResolveDirectory(options.ModelRepository);
        var available = ListModels(root);
        var requested = options.ModelNames();
        if (requested.Count == 0)
        {
            if (available.Count == 0)
            {
                throw new ModelRepositoryException(
                    $"Model repository '{root}' holds no models (no '<name>/{ModelConfig.FileName}'). Point {InferenceOptions.SectionName}:ModelRepository at the models folder.");
            }

            requested = available;
        }

        foreach (var name in requested)
        {
            if (!available.Contains(name))
            {
                throw new ModelRepositoryException(
                    $"Model '{name}' is not in the model repository '{root}' (it has: {Describe(available)}). Fix {InferenceOptions.SectionName}:Models or add the model.",
                    name);
            }
        }

        var provider = options.UseCuda ? InferenceOptions.Cuda : InferenceOptions.Cpu;
        var functions = new Dictionary<string, OnnxModelFunction>(StringComparer.Ordinal);
        var instruments = new InferenceInstruments(meterFactory);
        IReadOnlyList<CodedModel> served;
        try
        {
            foreach (var name in requested)
            {
                var started = Stopwatch.GetTimestamp();
                var function = Load(Path.Combine(root, name), options, time, loggerFactory, instruments);
                functions.Add(name, function);
                LogModelLoaded(logger, name, function.Config.Role, function.ModelPath, provider, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            served = CodedModels.From(functions.Values.Select(f => f.Config).ToList());
        }
        catch
        {
            foreach (var loaded in functions.Values)
            {
                loaded.Dispose();
            }

            instruments.Dispose();
            throw;
        }

        return new ModelRepository(root, provider, functions, available, logger, instruments, served);
    }

    /// <summary>The classifiers a repository serves, from its config.json files alone (no session is created): what a
    /// load generator needs to know of a model (its input, its dataset) before a cluster has opened it.</summary>
    public static IReadOnlyList<CodedModel> ReadServed(string? directory = null)
    {
        var root = ResolveDirectory(directory ?? ModelRepositoryLocator.Find());
        return CodedModels.From([.. ListModels(root).Select(name => ModelConfig.Load(Path.Combine(root, name)))]);
    }

    /// <summary>The model <paramref name="name"/>; throws <see cref="ModelRepositoryException"/> naming what is loaded.</summary>
    public IModelFunction Get(string name) => GetFunction(name);

    /// <summary>The session-backed model <paramref name="name"/>, with its config and counters.</summary>
    public OnnxModelFunction GetFunction(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_functions.TryGetValue(name, out var function))
        {
            return function;
        }

        var hint = _available.Contains(name)
            ? $"it is in '{Directory}' but not loaded; add it to {InferenceOptions.SectionName}:Models"
            : $"'{Directory}' has no such model";
        throw new ModelRepositoryException(
            $"Model '{name}' is not available ({hint}). Loaded models: {Describe(_functions.Keys)}.", name);
    }

    /// <summary>True when <paramref name="name"/> is loaded.</summary>
    public bool Contains(string name) => _functions.ContainsKey(name);

    /// <summary>Every loaded model's counters.</summary>
    public IReadOnlyList<ModelFunctionStats> GetStats()
    {
        var stats = new List<ModelFunctionStats>(_functions.Count);
        foreach (var function in _functions.Values)
        {
            stats.Add(function.Stats);
        }

        return stats;
    }

    /// <summary>Runs every model once on zeros, so that the first real query does not pay for
    /// ONNX Runtime's lazy initialisation (and, on CUDA, kernel selection).</summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        foreach (var function in _functions.Values)
        {
            await function.RunAsync(new float[function.InputLength], 1, cancellationToken).ConfigureAwait(false);
        }

        Volatile.Write(ref _warm, 1);
        LogWarmedUp(_logger, _functions.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    public void Dispose()
    {
        foreach (var function in _functions.Values)
        {
            function.Dispose();
        }

        _instruments.Dispose();
    }

    private static string ResolveDirectory(string configured)
    {
        if (Path.IsPathFullyQualified(configured))
        {
            return System.IO.Directory.Exists(configured)
                ? Path.TrimEndingDirectorySeparator(configured)
                : throw new ModelRepositoryException(
                    $"Model repository '{configured}' does not exist. Set {InferenceOptions.SectionName}:ModelRepository to the models folder.");
        }

        var tried = new List<string>();
        var found = ModelRepositoryLocator.Search(System.IO.Directory.Exists, configured, tried);
        return found ?? throw new ModelRepositoryException(
            $"Model repository '{configured}' not found; tried {string.Join(", ", tried)}. Set {InferenceOptions.SectionName}:ModelRepository to the models folder.");
    }

    private static List<string> ListModels(string root)
    {
        var names = new List<string>();
        foreach (var dir in System.IO.Directory.EnumerateDirectories(root))
        {
            if (File.Exists(Path.Combine(dir, ModelConfig.FileName)))
            {
                names.Add(Path.GetFileName(dir));
            }
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private static OnnxModelFunction Load(string modelDirectory, InferenceOptions options, TimeProvider time, ILoggerFactory? loggerFactory,
        InferenceInstruments instruments)
    {
        var config = ModelConfig.Load(modelDirectory);
        var path = LatestVersion(config.Name, modelDirectory);
        var sessionOptions = CreateSessionOptions(options);
        InferenceSession session;
        try
        {
            session = new InferenceSession(path, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            sessionOptions.Dispose();
            throw new ModelRepositoryException(
                $"Model '{config.Name}': '{path}' could not be loaded by ONNX Runtime ({e.Message.Trim()}). The file is corrupt or not an ONNX model; re-export it (models/train.sh).",
                config.Name, e);
        }

        try
        {
            CheckAgainstGraph(config, path, session);
        }
        catch
        {
            session.Dispose();
            sessionOptions.Dispose();
            throw;
        }

        var logger = (ILogger?)loggerFactory?.CreateLogger<OnnxModelFunction>() ?? NullLogger.Instance;
        return new OnnxModelFunction(config, path, session, sessionOptions, options, time, logger, instruments);
    }

    /// <summary>Triton's default version policy: the highest numbered version folder holding a model.onnx.</summary>
    private static string LatestVersion(string name, string modelDirectory)
    {
        string? best = null;
        var bestVersion = -1L;
        foreach (var dir in System.IO.Directory.EnumerateDirectories(modelDirectory))
        {
            if (long.TryParse(Path.GetFileName(dir), out var version) && version > bestVersion
                && File.Exists(Path.Combine(dir, ModelFileName)))
            {
                best = Path.Combine(dir, ModelFileName);
                bestVersion = version;
            }
        }

        return best ?? throw new ModelRepositoryException(
            $"Model '{name}' has no '<version>/{ModelFileName}' under '{modelDirectory}'.", name);
    }

    private static SessionOptions CreateSessionOptions(InferenceOptions options)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
        };
        if (options.UseCuda)
        {
            try
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(new Dictionary<string, string>
                {
                    ["device_id"] = options.DeviceId.ToString(CultureInfo.InvariantCulture),
                    // ONNX Runtime turns TF32 on by default; we keep float32 unless asked (InferenceOptions.CudaTf32).
                    ["use_tf32"] = options.CudaTf32 ? "1" : "0",
                });
                sessionOptions.AppendExecutionProvider_CUDA(cuda);
            }
            catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
            {
                sessionOptions.Dispose();
                throw new ModelRepositoryException(
                    $"CUDA was requested ({InferenceOptions.SectionName}:ExecutionProvider=cuda, DeviceId={options.DeviceId}) but is not available "
                    + $"({e.Message.Trim()}). ONNX Runtime {OrtCudaVersion} needs the NVIDIA driver, CUDA 13 (libcudart.so.13, libcublas.so.13) and cuDNN 9; "
                    + $"install them, or set {InferenceOptions.SectionName}:ExecutionProvider=cpu.",
                    innerException: e);
            }
        }

        return sessionOptions;
    }

    /// <summary>Checks config.json's inputs and outputs (names, element type, dims) against the graph.</summary>
    private static void CheckAgainstGraph(ModelConfig config, string path, InferenceSession session)
    {
        var problems = new List<string>();
        if (session.InputMetadata.Count != config.Inputs.Count)
        {
            problems.Add($"the graph has {session.InputMetadata.Count} inputs ({Describe(session.InputMetadata.Keys)}), config.json declares {config.Inputs.Count}");
        }

        CheckTensors(config.Inputs, session.InputMetadata, "input", problems);
        CheckTensors(config.Outputs, session.OutputMetadata, "output", problems);
        if (problems.Count > 0)
        {
            throw new ModelRepositoryException(
                $"Model '{config.Name}': config.json does not match '{path}': {string.Join("; ", problems)}. Fix config.json or re-export the model.",
                config.Name);
        }
    }

    private static void CheckTensors(IReadOnlyList<TensorConfig> declared, IReadOnlyDictionary<string, NodeMetadata> graph, string kind, List<string> problems)
    {
        foreach (var tensor in declared)
        {
            if (!graph.TryGetValue(tensor.Name, out var meta))
            {
                problems.Add($"{kind} '{tensor.Name}' is not in the graph (graph {kind}s: {Describe(graph.Keys)})");
                continue;
            }

            if (!meta.IsTensor || meta.ElementDataType != TensorElementType.Float)
            {
                problems.Add($"{kind} '{tensor.Name}' is {meta.ElementDataType} in the graph, config.json says {tensor.DataType}");
                continue;
            }

            if (!DimsMatch(tensor.Dims, meta.Dimensions))
            {
                problems.Add($"{kind} '{tensor.Name}' has dims [{string.Join(',', meta.Dimensions)}] in the graph, config.json says [{string.Join(',', tensor.Dims)}]");
            }
        }
    }

    /// <summary>The batch axis must be dynamic in the graph (-1) for micro-batching; every other axis
    /// must agree where the graph fixes it.</summary>
    private static bool DimsMatch(IReadOnlyList<long> declared, int[] graph)
    {
        if (graph.Length != declared.Count || graph[0] != -1)
        {
            return false;
        }

        for (var i = 1; i < graph.Length; i++)
        {
            if (graph[i] != -1 && graph[i] != declared[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string Describe(IEnumerable<string> names)
    {
        var list = string.Join(", ", names);
        return list.Length == 0 ? "none" : list;
    }
}
