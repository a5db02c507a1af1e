using AsymCdc.Cli.Cluster;

namespace AsymCdc.Reliability.Tests;

/// <summary>
/// One real multi-process cluster shared by the fault drills: redis-server, two frontend and three worker
/// <c>asymcdc-silo</c> processes (k = 2 needs three workers). Each drill leaves it whole again (restarts what it killed),
/// so the drills do not depend on their order.
/// </summary>
public sealed class ProcessClusterFixture : IAsyncLifetime
{
    public ProcessCluster Cluster { get; private set; } = null!;

    public ClusterConnection Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var options = new ProcessClusterOptions
        {
            Frontends = 2,
            Workers = 3,
            RunDirectory = Path.Combine(Path.GetTempPath(), $"asymcdc-reliability-{Environment.ProcessId}"),
            ModelRepository = TestEnvironment.ModelRepository,
            DrainTimeout = TimeSpan.FromSeconds(2),
        };
        options.Settings["AsymCdc:Serving:K"] = "2";
        Cluster = await ProcessCluster.StartAsync(options);
        Connection = await ClusterConnection.ConnectAsync(Cluster.State, ClusterConnection.DefaultResponseTimeout);
        // Warm-up: activates the parity groups, decoders and model workers on every silo, so a drill measures faults,
        // not first activations on a cold cluster.
        var warmUp = Enumerable.Range(0, 60).Select(i => Connection.Predictions.PredictAsync(
            TestEnvironment.Image(i), AsymCdc.Abstractions.ServingMode.AsymCdcCompact, TimeSpan.FromSeconds(60)));
        await Task.WhenAll(warmUp);
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }

        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ProcessClusterCollection : ICollectionFixture<ProcessClusterFixture>
{
    public const string Name = "a multi-process cluster on redis";
}
