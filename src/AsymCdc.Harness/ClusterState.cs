using System.Text.Json;
using System.Text.Json.Serialization;

namespace AsymCdc.Cli.Cluster;

/// <summary>One silo process of a <see cref="ProcessCluster"/>: its role, pid, ports and log.</summary>
public sealed record SiloProcessInfo(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("silo_port")] int SiloPort,
    [property: JsonPropertyName("gateway_port")] int GatewayPort,
    [property: JsonPropertyName("http_port")] int HttpPort,
    [property: JsonPropertyName("log")] string Log)
{
    public Uri ReadyUri => new($"http://127.0.0.1:{HttpPort}/health/ready");

    public Uri LiveUri => new($"http://127.0.0.1:{HttpPort}/health/live");

    public Uri MetricsUri => new($"http://127.0.0.1:{HttpPort}/metrics");

    /// <summary>The number in the name (<c>worker-3</c> → 3).</summary>
    [JsonIgnore]
    public int Index => int.TryParse(Name.AsSpan(Name.LastIndexOf('-') + 1), out var index) ? index : -1;
}

/// <summary>The Redis server holding the cluster's membership table.</summary>
public sealed record RedisProcessInfo(
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("port")] int Port,
    [property: JsonPropertyName("log")] string Log)
{
    [JsonIgnore]
    public string ConnectionString => $"127.0.0.1:{Port}";
}

/// <summary>
/// What <c>asymcdc cluster up</c> started, written to <c>{run-dir}/cluster.json</c> after every process it starts, so
/// that <c>cluster down</c> (or a later run) can stop everything even when <c>up</c> itself failed half-way.
/// </summary>
public sealed record ClusterState(
    [property: JsonPropertyName("service_id")] string ServiceId,
    [property: JsonPropertyName("cluster_id")] string ClusterId,
    [property: JsonPropertyName("silo_dll")] string SiloDll,
    [property: JsonPropertyName("model_repository")] string ModelRepository,
    [property: JsonPropertyName("started_utc")] DateTime StartedUtc,
    [property: JsonPropertyName("redis")] RedisProcessInfo? Redis,
    [property: JsonPropertyName("silos")] IReadOnlyList<SiloProcessInfo> Silos,
    [property: JsonPropertyName("environment")] IReadOnlyDictionary<string, string?>? Environment = null,
    [property: JsonPropertyName("drain_timeout_s")] double? DrainTimeoutSeconds = null,
    [property: JsonPropertyName("worker_cpu")] double? WorkerCpu = null,
    [property: JsonPropertyName("worker_cpu_scope")] WorkerCpuScope WorkerCpuScope = WorkerCpuScope.Process)
{
    /// <summary>The silos of <paramref name="role"/> whose names end in a number (<c>worker-3</c>), highest number last.</summary>
    public IReadOnlyList<SiloProcessInfo> WithRole(string role) =>
        [.. Silos.Where(s => s.Role == role).OrderBy(s => s.Index)];

    public const string FileName = "cluster.json";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public static string PathIn(string runDirectory) => System.IO.Path.Combine(runDirectory, FileName);

    /// <summary>Null when <paramref name="runDirectory"/> holds no state file.</summary>
    public static ClusterState? TryLoad(string runDirectory)
    {
        var path = PathIn(runDirectory);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ClusterState>(File.ReadAllText(path), s_json)
                ?? throw new InvalidDataException("the file holds 'null'");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the cluster state file '{path}' is not valid ({e.Message}); stop the processes it named by hand and delete it", e);
        }
    }

    /// <summary>Writes atomically (temp file + rename): a reader never sees half a file.</summary>
    public void Save(string runDirectory)
    {
        var path = PathIn(runDirectory);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, s_json));
        File.Move(temp, path, overwrite: true);
    }
}
