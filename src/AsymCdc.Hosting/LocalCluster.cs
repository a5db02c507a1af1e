using System.Net;
using System.Net.Sockets;
using AsymCdc.Grains;
using AsymCdc.Inference;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>What <see cref="LocalCluster"/> starts.</summary>
public sealed class LocalClusterOptions
{
    /// <summary>Worker silos (role gpu-worker), besides the one frontend silo. A coded group needs k+1 of them.</summary>
    public int Workers { get; set; } = 4;

    /// <summary>The model repository; null finds <c>models/</c> above the working directory.</summary>
    public string? ModelRepository { get; set; }

    /// <summary>Configuration for every silo, e.g. <c>AsymCdc:Stragglers:Rate</c> = <c>0.05</c>; its
    /// <c>AsymCdc:Inference</c> keys configure the one model repository the silos share.</summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    /// <summary>Extra configuration for one worker (index 0..Workers−1), e.g. a whole-silo slowdown; not
    /// <c>AsymCdc:Inference</c> keys, as the workers share one model repository.</summary>
    public IDictionary<int, IDictionary<string, string?>> WorkerSettings { get; } = new Dictionary<int, IDictionary<string, string?>>();

    /// <summary>Logs of every silo and the client; default: warnings and errors to nowhere but the returned factory.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; set; }

    /// <summary>How long start-up may take before it fails with a clear message.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// A whole AsymCDC cluster in one process: a frontend silo and N worker silos on free loopback ports (localhost
/// clustering), and a connected client. Used by the demo, the tests and the benchmark.
/// </summary>
/// <remarks>
/// The silos share ONE loaded <see cref="Inference.ModelRepository"/> (an explicit choice): loading and warming the
/// ONNX sessions once keeps start-up to about a second, and on one machine separate copies would compete for the
/// same cores anyway. Failure independence between workers is what the injected stragglers and silo kills model;
/// each silo still has its own grains, membership entry and straggler draw.
/// </remarks>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly List<IHost> _workers;

    private LocalCluster(ModelRepository models, IHost frontend, List<IHost> workers, IHost clientHost)
    {
        Models = models;
        Frontend = frontend;
        _workers = workers;
        ClientHost = clientHost;
        Client = clientHost.Services.GetRequiredService<IClusterClient>();
    }

    public ModelRepository Models { get; }

    public IHost Frontend { get; }

    public IReadOnlyList<IHost> Workers => _workers;

    public IHost ClientHost { get; }

    public IClusterClient Client { get; }

    /// <summary>Address of worker <paramref name="index"/>, as model-worker grain keys and <c>Prediction.Worker</c> name it.</summary>
    public string WorkerName(int index) => _workers[index].Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();

    public static async Task<LocalCluster> StartAsync(LocalClusterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Workers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Workers, "a local cluster needs at least one worker silo");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.StartTimeout);
        var repositoryPath = options.ModelRepository ?? ModelRepositoryLocator.Find();
        var models = ModelRepository.Open(InferenceOptionsFor(options, repositoryPath));
        await models.WarmUpAsync(timeout.Token);

        var clusterId = $"local-{Guid.NewGuid():N}"[..18];
        var ports = FreePorts.Take(2 * (options.Workers + 1));
        var primaryPort = ports[0];
        var frontend = BuildSilo(options, models, repositoryPath, clusterId, SiloRoles.Frontend, ports[0], ports[1], primaryPort, null);
        var workers = new List<IHost>();
        try
        {
            await frontend.StartAsync(timeout.Token);
            for (var i = 0; i < options.Workers; i++)
            {
                options.WorkerSettings.TryGetValue(i, out var extra);
                workers.Add(BuildSilo(options, models, repositoryPath, clusterId, SiloRoles.GpuWorker, ports[2 + (2 * i)], ports[3 + (2 * i)], primaryPort, extra));
            }

            await Task.WhenAll(workers.Select(w => w.StartAsync(timeout.Token)));
            var client = BuildClient(options, clusterId, ports[1]);
            await client.StartAsync(timeout.Token);
            var cluster = new LocalCluster(models, frontend, workers, client);
            await cluster.WaitForWorkersAsync(options.Workers, timeout.Token);
            return cluster;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the local cluster (1 frontend + {options.Workers} workers) did not start within {options.StartTimeout}");
        }
    }

    /// <summary>The <c>AsymCdc:Inference</c> settings every silo is given (<see cref="LocalClusterOptions.Settings"/>:
    /// runners, batch window, models), bound and validated as a silo binds its own, for the one repository they share;
    /// a bad one stops start-up naming its key.</summary>
    private static InferenceOptions InferenceOptionsFor(LocalClusterOptions options, string repositoryPath)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(options.Settings)
            .AddInMemoryCollection([new($"{InferenceOptions.SectionName}:{nameof(InferenceOptions.ModelRepository)}", repositoryPath)])
            .Build();
        using var services = new ServiceCollection().AddAsymCdcInference(configuration).BuildServiceProvider();
        return services.GetRequiredService<IOptions<InferenceOptions>>().Value;
    }

    /// <summary>Completes when the frontend sees <paramref name="count"/> live worker silos with their roles.</summary>
    public async Task WaitForWorkersAsync(int count, CancellationToken cancellationToken)
    {
        var directory = Frontend.Services.GetRequiredService<WorkerDirectory>();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (directory.Workers.Count != count)
        {
            await poll.WaitForNextTickAsync(cancellationToken);
        }
    }

    /// <summary>Stops worker <paramref name="index"/> gracefully (it leaves membership at once).</summary>
    public async Task StopWorkerAsync(int index, CancellationToken cancellationToken = default)
    {
        await _workers[index].StopAsync(cancellationToken);
        _workers[index].Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopQuietly(ClientHost);
        foreach (var worker in _workers)
        {
            await StopQuietly(worker);
        }

        await StopQuietly(Frontend);
        Models.Dispose();
    }

    private static async Task StopQuietly(IHost host)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await host.StopAsync(cts.Token);
        }
        catch (ObjectDisposedException)
        {
            // Already stopped by StopWorkerAsync.
        }
        finally
        {
            host.Dispose();
        }
    }

    private static IHost BuildSilo(LocalClusterOptions options, ModelRepository models, string repositoryPath, string clusterId,
        string role, int siloPort, int gatewayPort, int primaryPort, IDictionary<string, string?>? extra)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AsymCdc:Silo:Roles"] = role,
            ["AsymCdc:Silo:Clustering"] = SiloOptions.Localhost,
            ["AsymCdc:Silo:ClusterId"] = clusterId,
            ["AsymCdc:Silo:SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AsymCdc:Silo:GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AsymCdc:Silo:PrimarySiloPort"] = primaryPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AsymCdc:Inference:ModelRepository"] = repositoryPath,
        });
        builder.Configuration.AddInMemoryCollection(options.Settings);
        if (extra is not null)
        {
            builder.Configuration.AddInMemoryCollection(extra);
        }

        ConfigureLogging(builder.Logging, options);
        builder.Services.AddSingleton(models);
        builder.AddAsymCdcSilo();
        return builder.Build();
    }

    private static IHost BuildClient(LocalClusterOptions options, string clusterId, int gatewayPort)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        ConfigureLogging(builder.Logging, options);
        builder.UseOrleansClient(client => client.UseLocalhostClustering(gatewayPort, "asymcdc", clusterId).AddActivityPropagation());
        return builder.Build();
    }

    private static void ConfigureLogging(ILoggingBuilder logging, LocalClusterOptions options)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Warning);
        options.ConfigureLogging?.Invoke(logging);
    }
}
