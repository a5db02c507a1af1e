using AsymCdc.Abstractions;
using AsymCdc.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AsymCdc.Grains.Tests;

/// <summary>A frontend (the primary) and three workers; a second frontend joins later, as a restarted one does. Every
/// frontend warms up its serving path once active.</summary>
public sealed class WarmupClusterFixture : ServingClusterFixture
{
    protected override int Workers => 3;

    protected override bool WarmUpFrontends => true;

    /// <summary>The primary, and any silo started after the first four.</summary>
    protected override bool IsFrontendInstance(int instance) => instance == 0 || instance > Workers;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["AsymCdc:Serving:K"] = "2",
        ["AsymCdc:Serving:GroupShards"] = "2",
    };
}

public sealed class FrontendWarmupTests(WarmupClusterFixture fixture) : IClassFixture<WarmupClusterFixture>
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_frontend_that_joins_a_serving_cluster_serves_its_warm_up_queries_before_it_reports_ready()
    {
        var joined = await fixture.Cluster.StartAdditionalSiloAsync();
        try
        {
            var warmup = joined.ServiceProvider.GetRequiredService<FrontendWarmup>();
            await warmup.Completion.WaitAsync(Limit);

            // Two rounds of k × shards queries of every served model, every one answered by the live workers.
            var served = joined.ServiceProvider.GetRequiredService<IModelCatalog>().Served;
            Assert.Equal(3, served.Count);
            Assert.True(warmup.Served == 2 * 2 * 2 * served.Count, $"{warmup.Served} of {8 * served.Count} warm-up queries served: {warmup.StoppedBecause}");
            // Each model's decoder of each coded mode it supports, for groups of k' = 1 and 2, with blank answers.
            Assert.Equal(served.Sum(model => ServingModes.All.Count(m => m.IsCoded() && model.Missing(m, 2) is null)) * 2, warmup.Decodes);
            Assert.Equal(18, warmup.Decodes); // fmnist: 4 coded modes; fmnist-cnn: all but exact; digits-mlp: compact, approxifer
            var readiness = joined.ServiceProvider.GetRequiredService<SiloReadiness>();
            Assert.True(readiness.ServingPathWarm);
            var health = await readiness.CheckHealthAsync(new HealthCheckContext());
            Assert.Equal(HealthStatus.Healthy, health.Status);

            // Probed again and again (every 10 s on Kubernetes, every 100 ms in the drills), it logs its answer once.
            var log = new ListLogger<SiloReadiness>();
            var logged = ActivatorUtilities.CreateInstance<SiloReadiness>(joined.ServiceProvider, log);
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(HealthStatus.Healthy, (await logged.CheckHealthAsync(new HealthCheckContext())).Status);
            }

            var line = Assert.Single(log.Lines);
            Assert.Contains("is ready: models warm", line);
        }
        finally
        {
            await fixture.Cluster.StopSiloAsync(joined);
        }
    }

    [Fact]
    public async Task A_frontend_whose_warm_up_could_not_be_served_still_becomes_ready_and_serves()
    {
        // The primary became active before (or while) the workers joined: its warm-up ends, served or not.
        var warmup = fixture.Primary.ServiceProvider.GetRequiredService<FrontendWarmup>();
        await warmup.Completion.WaitAsync(Limit);

        Assert.True(fixture.Primary.ServiceProvider.GetRequiredService<SiloReadiness>().ServingPathWarm);
        var prediction = await fixture.Client.PredictAsync(TestModels.Data.Image(42).ToArray(), ServingMode.AsymCdcCompact, TimeSpan.FromSeconds(10));
        Assert.InRange(prediction.Label, 0, PredictionRequest.Classes - 1);
    }

    [Fact]
    public void Without_the_frontend_role_or_with_warm_up_off_there_is_nothing_to_wait_for()
    {
        static FrontendWarmup Of(SiloOptions silo) =>
            new(null!, null!, Options.Create(new ServingOptions()), Options.Create(silo), null!, NullLogger<FrontendWarmup>.Instance);

        Assert.True(Of(new SiloOptions { Roles = SiloRoles.GpuWorker }).Done);
        Assert.True(Of(new SiloOptions { WarmUpServingPath = false }).Done);
        Assert.False(Of(new SiloOptions { Roles = SiloRoles.Frontend }).Done);
    }
}

/// <summary>An <see cref="Microsoft.Extensions.Logging.ILogger{T}"/> that keeps each formatted line.</summary>
internal sealed class ListLogger<T> : Microsoft.Extensions.Logging.ILogger<T>
{
    public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
        Exception? exception, Func<TState, Exception?, string> formatter) => Lines.Enqueue(formatter(state, exception));
}
