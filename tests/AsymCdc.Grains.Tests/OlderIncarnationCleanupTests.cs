using System.Collections.Immutable;
using System.Net;
using AsymCdc.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace AsymCdc.Grains.Tests;

public sealed class OlderIncarnationCleanupTests
{
    private static readonly IPEndPoint Endpoint = new(IPAddress.Loopback, 11111);

    [Fact]
    public void Only_earlier_generations_on_this_silos_endpoint_that_are_not_dead_are_listed()
    {
        var self = SiloAddress.New(Endpoint, 300);
        var olderAlive = SiloAddress.New(Endpoint, 200);
        var olderDead = SiloAddress.New(Endpoint, 100);
        var olderJoining = SiloAddress.New(Endpoint, 250);
        var otherEndpoint = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11112), 200);
        var newer = SiloAddress.New(Endpoint, 400);
        var members = new[]
        {
            (self, SiloStatus.Active), (olderAlive, SiloStatus.Active), (olderDead, SiloStatus.Dead),
            (olderJoining, SiloStatus.Joining), (otherEndpoint, SiloStatus.Active), (newer, SiloStatus.Active),
        }.ToImmutableDictionary(m => m.Item1, m => new ClusterMember(m.Item1, m.Item2, m.Item1.ToString()));

        var older = OlderIncarnationCleanup.LiveOlderIncarnations(new ClusterMembershipSnapshot(members, new MembershipVersion(7)), self);

        Assert.Equal([olderAlive, olderJoining], older.OrderBy(a => a.Generation));
    }

    /// <summary>
    /// An older incarnation that is still listed as active when this silo joins (its declaration lost to another write,
    /// as when two replacements start at once) is declared dead within seconds, not at the next full table refresh
    /// (60 s). The row is written between Orleans' own start-up declaration and the join.
    /// </summary>
    [Fact]
    public async Task An_older_incarnation_still_listed_as_active_after_the_join_is_declared_dead_within_seconds()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton<StaleIncarnationWriter>();
            host.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<StaleIncarnationWriter>());
            host.Services.AddSingleton(TimeProvider.System);
            host.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, OlderIncarnationCleanup>();
            // Orleans' own ways to a declaration slower than the limit below: many missed probes, and the periodic
            // table refresh (which repeats the start-up declaration) at its default, 60 s.
            host.Services.Configure<Orleans.Configuration.ClusterMembershipOptions>(o =>
            {
                o.NumMissedProbesLimit = 20;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(60);
            });
        });
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        var silo = cluster.Silos.Single();
        var stale = silo.ServiceProvider.GetRequiredService<StaleIncarnationWriter>().Written;
        Assert.NotNull(stale);
        var table = silo.ServiceProvider.GetRequiredService<IMembershipTable>();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while ((await table.ReadRowAsync(stale)).Members.Single().Item1.Status != SiloStatus.Dead)
        {
            await poll.WaitForNextTickAsync(limit.Token);
        }
    }

    /// <summary>Lists an earlier generation of this silo as active in the membership table, after Orleans' start-up
    /// declared the older incarnations dead and before the silo joins.</summary>
    private sealed class StaleIncarnationWriter(ILocalSiloDetails silo, IMembershipTable table) : ILifecycleParticipant<ISiloLifecycle>
    {
        public SiloAddress? Written { get; private set; }

        public void Participate(ISiloLifecycle lifecycle) =>
            lifecycle.Subscribe(nameof(StaleIncarnationWriter), ServiceLifecycleStage.ApplicationServices, WriteAsync);

        private async Task WriteAsync(CancellationToken cancellationToken)
        {
            var data = await table.ReadAllAsync();
            var older = SiloAddress.New(silo.SiloAddress.Endpoint, silo.SiloAddress.Generation - 10);
            var now = DateTime.UtcNow;
            var entry = new MembershipEntry
            {
                SiloAddress = older, Status = SiloStatus.Active, HostName = silo.DnsHostName, SiloName = silo.Name + "-older",
                StartTime = now.AddMinutes(-1), IAmAliveTime = now,
            };
            Assert.True(await table.InsertRowAsync(entry, data.Version.Next()));
            Written = older;
        }
    }
}
