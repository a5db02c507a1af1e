using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AsymCdc.Abstractions;
using AsymCdc.Cli.Cluster;
using AsymCdc.Client;
using AsymCdc.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Messaging;
using Orleans.Runtime;

namespace AsymCdc.Reliability.Tests;

/// <summary>The client's re-spread over the gateways, against the real multi-process cluster.</summary>
[Collection(ProcessClusterCollection.Name)]
public sealed class ClientRespreadTests(ProcessClusterFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_fresh_key_whose_gateway_accepted_the_connection_but_does_not_serve_yet_carries_no_query()
    {
        // A restarted frontend binds its gateway port while it is still joining the cluster, and Orleans serves the
        // connections it accepted there only once the silo is active: on 16 cores a join that waited for a dead
        // worker's declaration held the calls of the keys a re-spread had moved there for 1.7 to 2.5 s. Here that
        // gateway is a socket that listens and never serves; the client's calls get no connection timeout to end them.
        using var joining = new TcpListener(IPAddress.Loopback, 0);
        joining.Start();
        var gateways = new GatewayList(fixture.Cluster.State.Silos.Where(s => s.Role == SiloRoles.Frontend).Select(s => s.GatewayPort));
        using var host = await StartClientAsync(gateways, fixture.Cluster.State);
        var client = new AsymCdcClient(host.Services.GetRequiredService<IClusterClient>(), respreadPeriod: TimeSpan.FromMilliseconds(100));
        await SendAsync(client, AsymCdcClient.FrontendKeys);

        // The cluster now lists the joining frontend's gateway: the client re-spreads to reach it.
        gateways.Add(((IPEndPoint)joining.LocalEndpoint).Port);
        var giveUp = Stopwatch.GetTimestamp() + (long)(60 * Stopwatch.Frequency);
        while (client.KeptKeys == 0 && Stopwatch.GetTimestamp() < giveUp)
        {
            await SendAsync(client, 16);
        }

        // Some fresh keys went to the joining gateway, did not answer their ping, and were not used; every query, then
        // and after, was answered within its deadline (a key moved there would hold its queries past it).
        Assert.True(client.KeptKeys > 0, $"no fresh key was routed to the joining gateway in 60 s ({client.Respreads} re-spreads)");
        Assert.True(client.Respreads > 0);
        await SendAsync(client, 2 * AsymCdcClient.FrontendKeys);
    }

    /// <summary>Sends <paramref name="queries"/> at once; each must be answered (no retry).</summary>
    private static async Task SendAsync(AsymCdcClient client, int queries)
    {
        var predictions = await Task.WhenAll(Enumerable.Range(0, queries).Select(i =>
            client.PredictAsync(TestEnvironment.Image(i), ServingMode.AsymCdcCompact, Deadline)));
        Assert.All(predictions, p => Assert.InRange(p.Label, 0, PredictionRequest.Classes - 1));
    }

    private static async Task<IHost> StartClientAsync(GatewayList gateways, ClusterState state)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client =>
        {
            client.Services.AddSingleton<IGatewayListProvider>(gateways);
            client.Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (state.ServiceId, state.ClusterId))
                .AddAsymCdcGatewayLossSignal();
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromMilliseconds(100));
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(2));
            client.Configure<ConnectionOptions>(o => o.OpenConnectionTimeout = TimeSpan.FromMinutes(2));
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>The cluster's gateways as the membership would list them, one more once a frontend joins.</summary>
    private sealed class GatewayList(IEnumerable<int> ports) : IGatewayListProvider
    {
        private readonly List<int> _ports = [.. ports];

        public void Add(int port)
        {
            lock (_ports)
            {
                _ports.Add(port);
            }
        }

        public TimeSpan MaxStaleness => TimeSpan.FromMilliseconds(100);

        public bool IsUpdatable => true;

        public Task InitializeGatewayListProvider() => Task.CompletedTask;

        public Task<IList<Uri>> GetGateways()
        {
            lock (_ports)
            {
                return Task.FromResult<IList<Uri>>([.. _ports.Select(p => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, p), 0).ToGatewayUri())]);
            }
        }
    }
}
