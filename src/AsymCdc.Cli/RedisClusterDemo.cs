using System.Text.Json;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Inference.Data;
using AsymCdc.Simulation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace AsymCdc.Cli;

/// <summary>
/// <c>asymcdc demo --redis HOST:PORT</c>: the demo's open-loop load against a cluster found through its Redis membership
/// table (a containerised one, <c>deploy/containers.sh</c>, or any other with Redis or Kubernetes clustering). The Orleans
/// client reads the frontends' gateways from that table (workers open none) and fails over between them. The cluster's
/// own settings (k, stragglers) apply; worker calls are not counted, so the demo's "extra work" column reads 0 here.
/// </summary>
public sealed class RedisClusterDemo : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly OpenLoopRunner _runner;

    private RedisClusterDemo(IHost host, FashionMnistSet data)
    {
        _host = host;
        Data = data;
        _runner = new OpenLoopRunner(new AsymCdcClient(host.Services.GetRequiredService<IClusterClient>()), data);
    }

    public FashionMnistSet Data { get; }

    /// <summary>Connects through the membership table at <paramref name="redis"/> (ServiceId/ClusterId as the silos').</summary>
    public static async Task<RedisClusterDemo> ConnectAsync(string redis, string serviceId, string clusterId, TimeSpan queryTimeout,
        CancellationToken cancellationToken)
    {
        var data = FashionMnist.LoadTestSet();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.UseAsymCdcRedis(redis, serviceId, clusterId);
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
            // A call in flight through a frontend that dies is failed by this timeout only; keep it just above the deadline.
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = queryTimeout + TimeSpan.FromSeconds(1));
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new RedisClusterDemo(host, data);
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

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _host.StopAsync(timeout.Token);
        }
        finally
        {
            _host.Dispose();
        }
    }
}
