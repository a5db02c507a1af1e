using System.Text.Json;
using AsymCdc.Abstractions;
using AsymCdc.Cli.Cluster;
using AsymCdc.Inference.Data;
using AsymCdc.Simulation;

namespace AsymCdc.Cli;

/// <summary>
/// <c>asymcdc demo --redis HOST:PORT</c>: the demo's open-loop load against a cluster found through its Redis membership
/// table (a containerised one, <c>deploy/containers.sh</c>, or any other with Redis or Kubernetes clustering). The Orleans
/// client reads the frontends' gateways from that table (workers open none) and fails over between them. The cluster's
/// own settings (k, stragglers) apply; worker calls are not counted, so the demo's "extra work" column reads 0 here.
/// </summary>
public sealed class RedisClusterDemo : IAsyncDisposable
{
    private readonly ClusterConnection _connection;
    private readonly OpenLoopRunner _runner;

    private RedisClusterDemo(ClusterConnection connection, FashionMnistSet data)
    {
        _connection = connection;
        Data = data;
        _runner = new OpenLoopRunner(connection.Predictions, data);
    }

    public FashionMnistSet Data { get; }

    /// <summary>Connects through the membership table at <paramref name="redis"/> (ServiceId/ClusterId as the silos').</summary>
    public static async Task<RedisClusterDemo> ConnectAsync(string redis, string serviceId, string clusterId, TimeSpan queryTimeout,
        CancellationToken cancellationToken)
    {
        var data = FashionMnist.LoadTestSet();
        // A call in flight through a frontend that dies is failed by the response timeout only; keep it just above the deadline.
        var connection = await ClusterConnection.ConnectAsync(redis, serviceId, clusterId, queryTimeout + TimeSpan.FromSeconds(1),
            cancellationToken: cancellationToken);
        return new RedisClusterDemo(connection, data);
    }

    /// <summary>Warms <paramref name="mode"/> up (not measured), then measures <paramref name="queries"/> queries.</summary>
    public async Task<ScenarioResult> RunModeAsync(ServingMode mode, int queries, double rate, TimeSpan timeout, int k, int workers,
        Action? onCompleted, CancellationToken cancellationToken)
    {
        await _runner.RunAsync(mode, 4 * (k + 1) * workers, rate, timeout, Data.Count / 2, null, cancellationToken);
        var (records, elapsed) = await _runner.RunAsync(mode, queries, rate, timeout, 0, onCompleted, cancellationToken);
        // Worker calls unknown: pass one per query, so the extra-work ratio reads 0 rather than a made-up number.
        return ScenarioResults.Summarise("redis", 0, mode.ToName(), k, workers, records, elapsed, records.Length);
    }

    /// <summary>The JSON report: where it connected and the results.</summary>
    public static string ToJson(string redis, string serviceId, string clusterId, int queries, double rate, IReadOnlyList<ScenarioResult> results) =>
        JsonSerializer.Serialize(new { config = new { redis, service_id = serviceId, cluster_id = clusterId, queries, rate_qps = rate }, results },
            new JsonSerializerOptions { WriteIndented = true });

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
