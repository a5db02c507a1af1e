using AsymCdc.Client;
using AsymCdc.Hosting;
using AsymCdc.Inference;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace AsymCdc.Grains.Tests;

/// <summary>
/// A TestingHost cluster of <see cref="Frontends"/> frontend silos (the first is the primary and the only gateway) and
/// <see cref="Workers"/> gpu-worker silos, all sharing one loaded model repository. One per test collection: start-up
/// is the slow part.
/// </summary>
public abstract class ServingClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public ModelRepository Models { get; private set; } = null!;

    public AsymCdcClient Client { get; private set; } = null!;

    protected virtual int Frontends => 1;

    protected virtual int Workers => 4;

    /// <summary>Configuration of every silo (AsymCdc:* keys).</summary>
    protected abstract IReadOnlyDictionary<string, string?> Settings { get; }

    /// <summary>Configuration of one silo (by instance number, frontends first), over <see cref="Settings"/>: by default
    /// the first worker's <see cref="FirstWorkerSlowdown"/>, if any.</summary>
    protected virtual IReadOnlyDictionary<string, string?>? SettingsOf(int instance) =>
        instance == Frontends && FirstWorkerSlowdown is { } slowdown
            ? new Dictionary<string, string?> { ["AsymCdc:Stragglers:SiloSlowdown"] = slowdown.ToString() }
            : null;

    /// <summary>A delay added to every call on the first worker silo (a slow node); null: none.</summary>
    protected virtual TimeSpan? FirstWorkerSlowdown => null;

    /// <summary>The model repository one silo loads (by instance number): the shared <see cref="Models"/> unless a fixture
    /// gives a silo another, as a silo not yet restarted onto a new repository has.</summary>
    protected virtual ModelRepository RepositoryOf(int instance) => Models;

    /// <summary>Frontend silos serve warm-up queries of their own once active (<see cref="FrontendWarmup"/>, as silo
    /// processes do); off by default, so that tests see only their own queries.</summary>
    protected virtual bool WarmUpFrontends => false;

    /// <summary>Which instance numbers are frontends: the first <see cref="Frontends"/>, the primary (instance 0) among
    /// them; silos started later are workers unless a fixture says otherwise.</summary>
    protected virtual bool IsFrontendInstance(int instance) => instance < Frontends;

    /// <summary>The TestingHost names silos by instance number (Silo_0, Silo_1... or Primary, Secondary_1...).</summary>
    public bool IsFrontend(SiloHandle silo) => IsFrontendInstance(InstanceOf(silo.Name));

    public InProcessSiloHandle Primary => Cluster.Silos.Single(s => InstanceOf(s.Name) == 0);

    private static int InstanceOf(string name) => name == "Primary"
        ? 0
        : int.Parse(name[(name.LastIndexOf('_') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    public IReadOnlyList<InProcessSiloHandle> WorkerSilos => [.. Cluster.Silos.Where(s => !IsFrontend(s))];

    public IReadOnlyList<InProcessSiloHandle> FrontendSilos => [.. Cluster.Silos.Where(IsFrontend)];

    public async Task InitializeAsync()
    {
        Models = await TestModels.OpenAsync();
        var builder = new InProcessTestClusterBuilder((short)(Frontends + Workers));
        builder.Options.GatewayPerSilo = false;
        builder.ConfigureSiloHost((options, host) =>
        {
            host.Configuration.AddInMemoryCollection(Settings);
            if (SettingsOf(InstanceOf(options.SiloName)) is { } own)
            {
                host.Configuration.AddInMemoryCollection(own);
            }
            host.Services.AddSingleton(RepositoryOf(InstanceOf(options.SiloName)));
            if (WarmUpFrontends && IsFrontendInstance(InstanceOf(options.SiloName)))
            {
                host.Services.AddAsymCdcFrontendWarmup();
            }
        });
        builder.ConfigureSilo((options, silo) =>
        {
            if (IsFrontendInstance(InstanceOf(options.SiloName)))
            {
                silo.AddAsymCdcFrontend();
            }
            else
            {
                silo.AddAsymCdcWorker();
            }
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Client = new AsymCdcClient(Cluster.Client);
        await WaitForWorkersAsync(Workers);
    }

    /// <summary>Completes when the primary frontend sees exactly <paramref name="count"/> live worker silos.</summary>
    public async Task WaitForWorkersAsync(int count)
    {
        var directory = Primary.ServiceProvider.GetRequiredService<WorkerDirectory>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (directory.Workers.Count != count)
        {
            await poll.WaitForNextTickAsync(timeout.Token);
        }
    }

    public string NameOf(SiloAddress silo) => silo.ToParsableString();

    public virtual async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Models.Dispose();
    }
}

/// <summary>Ten percent of worker calls straggle by 3 s: far beyond the 200 ms straggler deadline, so every straggler is
/// decoded (or answered late) inside the 10 s request deadline. With 1 s, a clean clone's first run (cold, every test
/// assembly at once on two cores) once had all 120 answers of a burst arrive together, the stragglers' among them, and
/// nothing to decode.</summary>
public sealed class StragglerClusterFixture : ServingClusterFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["AsymCdc:Serving:K"] = "2",
        ["AsymCdc:Serving:StragglerDeadline"] = "00:00:00.200",
        ["AsymCdc:Serving:RequestTimeout"] = "00:00:10",
        ["AsymCdc:Serving:GroupWindow"] = "00:00:00.020",
        // The suspicion test marks a silo by hand and clears it itself: a probation that could run out while a cold,
        // loaded machine serves its queries would let the suspect back in mid-test.
        ["AsymCdc:Serving:SuspectProbation"] = "00:00:30",
        // Nor may a worker whose first, cold calls were slow be passed over as a slow silo while that test expects
        // only its suspicion to decide (the slow-worker rule has its own tests, pure and simulated).
        ["AsymCdc:Serving:SlowWorkerFactor"] = "0",
        ["AsymCdc:Stragglers:Rate"] = "0.1",
        ["AsymCdc:Stragglers:Delay"] = "00:00:03",
    };
}

[CollectionDefinition(Name)]
public sealed class StragglerClusterCollection : ICollectionFixture<StragglerClusterFixture>
{
    public const string Name = "straggler cluster";
}
