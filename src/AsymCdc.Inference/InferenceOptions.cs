using Microsoft.Extensions.Options;

namespace AsymCdc.Inference;

/// <summary>Settings of the inference layer, bound from <c>AsymCdc:Inference</c>.</summary>
public sealed class InferenceOptions
{
    public const string SectionName = "AsymCdc:Inference";
    public const string Cpu = "cpu";
    public const string Cuda = "cuda";

    /// <summary>The OS name of every runner thread, the threads that run a session's batches (Linux keeps 15
    /// characters): what <c>top -H</c> and <c>perf</c> show, and what the process cluster limits to emulate an accelerator.</summary>
    public const string RunnerThreadName = "asymcdc-runner";

    /// <summary>The model repository folder; a relative path is looked for in the current directory,
    /// the application directory and their parents.</summary>
    public string ModelRepository { get; set; } = ModelRepositoryLocator.FolderName;

    /// <summary><c>cpu</c> or <c>cuda</c>.</summary>
    public string ExecutionProvider { get; set; } = Cpu;

    /// <summary>The CUDA device ordinal, for <c>cuda</c>.</summary>
    public int DeviceId { get; set; }

    /// <summary>For <c>cuda</c>: let cuBLAS/cuDNN compute float32 matrix products and convolutions in TF32 (10-bit
    /// mantissa) on Ampere and newer GPUs. Off by default: measured on an H100, TF32 moved the outputs of the shipped
    /// models by up to 8e-3 from their golden files (tolerance 1e-4), and the exact decoder inverts the network, so it
    /// wants the same float32 arithmetic the model was checked with. Turn it on for throughput when approximate is fine.</summary>
    public bool CudaTf32 { get; set; }

    /// <summary>ONNX Runtime intra-op threads per session. One keeps a session on one core, so that
    /// several models (and the silo) share the machine predictably; throughput comes from batching.</summary>
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>Runners per session (Triton's instance_group count): each takes its own batches off the model's queue,
    /// so that one model is served on that many cores at once. Unset: 2 on <c>cpu</c> (the cores the chart requests
    /// per silo; with one, a parity call queues behind data calls while the second core idles — on the 2-core
    /// development machine two raised the in-process cluster's capacity in mode none from about 2,700 to 3,900 q/s),
    /// 1 on <c>cuda</c>, where one device runs one batch at a time and the queue delay (the autoscaling signal) then
    /// counts every wait for it.</summary>
    public int? Instances { get; set; }

    /// <summary><see cref="Instances"/>, or the execution provider's default.</summary>
    public int Runners => Instances ?? (UseCuda ? 1 : 2);

    /// <summary>Runners of a classifier's session that run only its parity queries, beside <see cref="Instances"/>:
    /// a parity query then never joins a data batch nor queues ahead of a data query. Unset: 1 on <c>cpu</c>, where
    /// a batch costs in proportion to its rows and a parity run beside the data batch uses another core; 0 on
    /// <c>cuda</c>, where parity queries queue with data queries and ride in their batches for almost nothing.</summary>
    public int? ParityInstances { get; set; }

    /// <summary><see cref="ParityInstances"/>, or the execution provider's default.</summary>
    public int ParityRunners => ParityInstances ?? (UseCuda ? 0 : 1);

    /// <summary>Run each runner on a thread of its own (<see cref="RunnerThreadName"/>, as Triton runs a model instance)
    /// instead of on the thread pool. Unset: on for <c>cuda</c>, where a run blocks its thread while the device computes
    /// and a runner on the pool would hold a pool thread that Orleans messaging needs (not measured on a GPU yet); off
    /// on <c>cpu</c>, where a pool thread that is spinning for work picks a batch up sooner than a parked thread wakes:
    /// measured on the 2-core development machine (in-process demo, 300 queries/s, three alternating pairs), dedicated
    /// threads raised the p50 from 1.77 to 2.19 ms (<c>none</c>) and from 1.76 to 2.00 ms (<c>asymcdc-compact</c>).</summary>
    public bool? DedicatedThreads { get; set; }

    /// <summary><see cref="DedicatedThreads"/>, or the execution provider's default.</summary>
    public bool UseDedicatedThreads => DedicatedThreads ?? UseCuda;

    /// <summary>Most items coalesced into one session run (further capped by each model's max_batch_size).</summary>
    public int MaxBatchSize { get; set; } = 64;

    /// <summary>How long the first queued call of a batch waits for company; 0 runs whatever is queued at once. Worker
    /// models only (classifiers, parity models): a decoder (inverse, compact decoder) runs each call at once on the
    /// caller's thread, as it is called once per late answer and waiting for company would only make that answer later.</summary>
    public int BatchWindowMicroseconds { get; set; } = 200;

    /// <summary>Models to load; empty loads every model in the repository. Entries may also be
    /// comma-separated lists (handy in one environment variable).</summary>
    public IList<string> Models { get; set; } = new List<string>();

    /// <summary><see cref="Models"/> with comma-separated entries split and blanks dropped.</summary>
    public IReadOnlyList<string> ModelNames()
    {
        var names = new List<string>();
        foreach (var entry in Models)
        {
            foreach (var name in (entry ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                names.Add(name);
            }
        }

        return names;
    }

    internal bool UseCuda => string.Equals(ExecutionProvider, Cuda, StringComparison.OrdinalIgnoreCase);

    internal TimeSpan BatchWindow => TimeSpan.FromMicroseconds(BatchWindowMicroseconds);
}

/// <summary>Checks <see cref="InferenceOptions"/> at start-up: one line per problem, each naming the key.</summary>
public sealed class InferenceOptionsValidator : IValidateOptions<InferenceOptions>
{
    private const string Prefix = InferenceOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, InferenceOptions options)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ModelRepository))
        {
            problems.Add($"{Prefix}ModelRepository is empty; set it to the models folder (default 'models').");
        }

        if (!string.Equals(options.ExecutionProvider, InferenceOptions.Cpu, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(options.ExecutionProvider, InferenceOptions.Cuda, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"{Prefix}ExecutionProvider is '{options.ExecutionProvider}'; use 'cpu' or 'cuda'.");
        }

        if (options.DeviceId < 0)
        {
            problems.Add($"{Prefix}DeviceId is {options.DeviceId}; it must be 0 or more.");
        }

        if (options.IntraOpThreads is < 1 or > 256)
        {
            problems.Add($"{Prefix}IntraOpThreads is {options.IntraOpThreads}; it must be between 1 and 256.");
        }

        if (options.Instances is { } instances && instances is < 1 or > 64)
        {
            problems.Add($"{Prefix}Instances is {options.Instances}; it must be between 1 and 64.");
        }

        if (options.ParityInstances is { } parity && parity is < 0 or > 64)
        {
            problems.Add($"{Prefix}ParityInstances is {options.ParityInstances}; it must be between 0 and 64.");
        }

        if (options.MaxBatchSize is < 1 or > 4096)
        {
            problems.Add($"{Prefix}MaxBatchSize is {options.MaxBatchSize}; it must be between 1 and 4096.");
        }

        if (options.BatchWindowMicroseconds is < 0 or > 1_000_000)
        {
            problems.Add($"{Prefix}BatchWindowMicroseconds is {options.BatchWindowMicroseconds}; it must be between 0 and 1000000 (1 s).");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var model in options.ModelNames())
        {
            if (!seen.Add(model))
            {
                problems.Add($"{Prefix}Models names '{model}' twice.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
