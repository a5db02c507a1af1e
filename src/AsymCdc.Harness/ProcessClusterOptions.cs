using System.Text.Json.Serialization;

namespace AsymCdc.Cli.Cluster;

/// <summary>What <see cref="ProcessCluster"/> starts.</summary>
public sealed class ProcessClusterOptions
{
    public const string DefaultRunDirectory = "runs/cluster";

    /// <summary>Silo processes with role gpu-worker.</summary>
    public int Workers { get; set; } = 4;

    /// <summary>Silo processes with role frontend (Orleans gateway, HTTP gateway).</summary>
    public int Frontends { get; set; } = 1;

    /// <summary>Where the state file, Redis's files and every log go.</summary>
    public string RunDirectory { get; set; } = DefaultRunDirectory;

    /// <summary>The model repository; null finds <c>models/</c> above the working directory.</summary>
    public string? ModelRepository { get; set; }

    /// <summary>The silo to run; null lets <see cref="SiloLocator"/> find the build output.</summary>
    public string? SiloDll { get; set; }

    public string ServiceId { get; set; } = "asymcdc";

    public string ClusterId { get; set; } = "dev";

    /// <summary>Configuration for every silo (<c>AsymCdc:Serving:K</c> = <c>3</c>), passed as environment variables.</summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    /// <summary>How long each silo may take to answer <c>/health/ready</c>.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>The silos' <c>AsymCdc:Silo:DrainTimeout</c>; <c>down</c> sends SIGKILL to a silo still running after it
    /// (plus the host's own shutdown margin).</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>CPU each worker silo may use, in cores, enforced by a cgroup quota on what <see cref="WorkerCpuScope"/>
    /// says; null: no limit. On one machine it gives each worker a capacity of its own, so that adding workers adds
    /// capacity as adding nodes or GPUs would (needs a writable cgroup v1 <c>cpu</c> controller, or cgroup v2 for the
    /// whole process). Applied <see cref="WorkerCpuLimitDelay"/> after a worker is ready: its start-up and first JIT
    /// have the machine.</summary>
    public double? WorkerCpu { get; set; }

    /// <summary>What <see cref="WorkerCpu"/> limits.</summary>
    public WorkerCpuScope WorkerCpuScope { get; set; } = WorkerCpuScope.Process;

    /// <summary>Whether a worker CPU limit holds the workers' runner threads alone.</summary>
    public bool LimitsRunnerThreads => WorkerCpu is not null && WorkerCpuScope == WorkerCpuScope.Runners;

    /// <summary>How long after a worker is ready its <see cref="WorkerCpu"/> limit applies.</summary>
    public static readonly TimeSpan WorkerCpuLimitDelay = TimeSpan.FromSeconds(10);

    public void Validate()
    {
        if (WorkerCpu is <= 0 or > 64)
        {
            throw new ArgumentException($"worker CPU limit {WorkerCpu} cores must be in (0, 64]");
        }

        if (Workers < 1)
        {
            throw new ArgumentException($"--workers {Workers}: a cluster needs at least one worker silo (a parity group of k needs k+1)");
        }

        if (Frontends < 1)
        {
            throw new ArgumentException($"--frontends {Frontends}: a cluster needs at least one frontend silo");
        }

        if (string.IsNullOrWhiteSpace(RunDirectory))
        {
            throw new ArgumentException("--run-dir is empty; give a folder for the state file and the logs");
        }
    }
}

/// <summary>What a worker CPU limit (<see cref="ProcessClusterOptions.WorkerCpu"/>) holds to its cores.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WorkerCpuScope>))]
public enum WorkerCpuScope
{
    /// <summary>The whole worker process, as Kubernetes enforces a pod's <c>limits.cpu</c>.</summary>
    [JsonStringEnumMemberName("process")]
    Process,

    /// <summary>The worker's runner threads (<see cref="AsymCdc.Inference.InferenceOptions.RunnerThreadName"/>; the
    /// cluster sets <c>AsymCdc:Inference:DedicatedThreads</c> for them), which run its models' batches: its accelerator, emulated.
    /// Messaging, serialization and the runtime keep the host's cores, as they do on a GPU node.</summary>
    [JsonStringEnumMemberName("runners")]
    Runners,
}
