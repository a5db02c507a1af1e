using AsymCdc.Hosting;

namespace AsymCdc.Gateway.Tests;

/// <summary>A real <see cref="LocalCluster"/> with the gateway in front of it; subclasses say how the cluster and the
/// gateway are configured.</summary>
public abstract class ClusterWithGatewayFixture : IAsyncLifetime
{
    private LocalCluster? _cluster;
    private GatewayServer? _gateway;

    internal HttpClient Http => _gateway!.Http;

    internal GatewayServer Gateway => _gateway!;

    internal AsymCdc.Gateway.KServe.GRPCInferenceService.GRPCInferenceServiceClient Grpc => _gateway!.Grpc;

    public async Task InitializeAsync()
    {
        _cluster = await LocalCluster.StartAsync(CreateCluster());
        _gateway = await GatewayServer.StartAsync(_cluster.Client, ConfigureGateway);
    }

    public async Task DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    protected abstract LocalClusterOptions CreateCluster();

    protected virtual void ConfigureGateway(GatewayOptions gateway) => gateway.ReadinessProbeTimeout = TimeSpan.FromSeconds(30);
}

/// <summary>A real cluster (frontend + 3 workers, enough for k = 2 groups on distinct silos, with the
/// repository's models) and the gateway in front of it, shared by the end-to-end tests.</summary>
public sealed class GatewayClusterFixture : ClusterWithGatewayFixture
{
    protected override LocalClusterOptions CreateCluster()
    {
        // These tests check what the gateway returns for each answer; generous deadlines keep a busy machine from
        // turning direct answers into reconstructions (StragglingClusterFixture covers those on purpose).
        var options = ClusterOptions.Create(workers: 3);
        options.Settings["AsymCdc:Serving:StragglerDeadline"] = "00:00:02";
        options.Settings["AsymCdc:Serving:RequestTimeout"] = "00:00:30";
        return options;
    }
}

/// <summary>
/// A real cluster that cannot keep up: one worker silo slowed by 5 s on every call and admission control
/// letting one query in flight, so a batch overloads the frontend. The gateway's readiness probe has a
/// deadline shorter than the slowdown, so the cluster also counts as not answering.
/// </summary>
public sealed class OverloadedClusterFixture : ClusterWithGatewayFixture
{
    public static readonly TimeSpan Slowdown = TimeSpan.FromSeconds(5);

    protected override LocalClusterOptions CreateCluster()
    {
        var options = ClusterOptions.Create(workers: 1);
        options.Settings["AsymCdc:Serving:MaxInFlight"] = "1";
        options.Settings["AsymCdc:Stragglers:SiloSlowdown"] = Slowdown.ToString();
        return options;
    }

    protected override void ConfigureGateway(GatewayOptions gateway)
    {
        gateway.RetryAfter = TimeSpan.FromSeconds(3);
        gateway.ReadinessProbeTimeout = Slowdown / 4;
    }
}

/// <summary>
/// A real cluster with one straggling silo: worker 0 answers every call <see cref="Slowdown"/> late, far past
/// the straggler deadline, so coded modes must answer its queries with reconstructions.
/// </summary>
public sealed class StragglingClusterFixture : ClusterWithGatewayFixture
{
    public static readonly TimeSpan Slowdown = TimeSpan.FromSeconds(6);

    protected override LocalClusterOptions CreateCluster()
    {
        var options = ClusterOptions.Create(workers: 3);
        options.Settings["AsymCdc:Serving:StragglerDeadline"] = "00:00:01";
        options.Settings["AsymCdc:Serving:RequestTimeout"] = "00:00:30";
        options.WorkerSettings[0] = new Dictionary<string, string?> { ["AsymCdc:Stragglers:SiloSlowdown"] = Slowdown.ToString() };
        return options;
    }
}

internal static class ClusterOptions
{
    /// <summary>The repository's <c>models/</c> (found from the working directory) unless
    /// <c>ASYMCDC_MODEL_REPOSITORY</c> names another, e.g. a smoke-test repository.</summary>
    public static LocalClusterOptions Create(int workers) => new()
    {
        Workers = workers,
        ModelRepository = Environment.GetEnvironmentVariable("ASYMCDC_MODEL_REPOSITORY"),
    };
}

[CollectionDefinition(Name)]
public sealed class GatewayClusterCollection : ICollectionFixture<GatewayClusterFixture>
{
    public const string Name = "gateway over a real cluster";
}

[CollectionDefinition(Name)]
public sealed class OverloadedClusterCollection : ICollectionFixture<OverloadedClusterFixture>
{
    public const string Name = "gateway over an overloaded cluster";
}

[CollectionDefinition(Name)]
public sealed class StragglingClusterCollection : ICollectionFixture<StragglingClusterFixture>
{
    public const string Name = "gateway over a cluster with a straggling silo";
}
