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
    public async Task A_gateway_that_holds_its_calls_gets_no_query_until_a_later_re_spread_finds_it_serving()
    {
        // A restarted frontend binds its gateway port while it is still joining the cluster, and Orleans serves the
        // connections it accepted there only once the silo is active: on 16 cores a join that waited for a dead
        // worker's declaration held the calls of the keys a re-spread had moved there for 1.7 to 2.5 s. Here that
        // gateway is a relay to frontend-0 that accepts connections and holds them until Serve().
        var frontends = fixture.Cluster.State.Silos.Where(s => s.Role == SiloRoles.Frontend).ToList();
        await using var joining = new JoiningGateway(frontends[0].GatewayPort);
        var gateways = new GatewayList(frontends.Select(s => s.GatewayPort));
        using var host = await StartClientAsync(gateways, fixture.Cluster.State);
        var client = new AsymCdcClient(host.Services.GetRequiredService<IClusterClient>(), respreadPeriod: TimeSpan.FromMilliseconds(100));
        await SendAsync(client, AsymCdcClient.FrontendKeys);

        // The cluster now lists the joining frontend's gateway: the client re-spreads to reach it. Fresh keys routed
        // there do not answer their ping and are not used; every query is answered within its deadline (the client gets
        // no connection timeout: a key moved there would hold its queries past it).
        gateways.Add(joining.Port);
        var giveUp = Stopwatch.GetTimestamp() + (long)(60 * Stopwatch.Frequency);
        while (client.KeptKeys == 0 && Stopwatch.GetTimestamp() < giveUp)
        {
            await SendAsync(client, 16);
        }

        Assert.True(client.KeptKeys > 0, $"no fresh key was routed to the joining gateway in 60 s ({client.Respreads} re-spreads)");
        await SendAsync(client, 2 * AsymCdcClient.FrontendKeys);

        // The frontend becomes active: the pings it held are answered, so the client holds a connection to every listed
        // gateway, yet none of its keys uses that one. A later re-spread must find it serving and move keys onto it.
        joining.Serve();
        var relayedBefore = joining.BytesFromClient;
        giveUp = Stopwatch.GetTimestamp() + (long)(60 * Stopwatch.Frequency);
        while (joining.BytesFromClient - relayedBefore < QueriesBytes && Stopwatch.GetTimestamp() < giveUp)
        {
            await SendAsync(client, 16);
        }

        Assert.True(joining.BytesFromClient - relayedBefore >= QueriesBytes,
            $"the gateway that became active relayed {joining.BytesFromClient - relayedBefore} bytes of the client's calls in 60 s ({client.Respreads} re-spreads)");
    }

    /// <summary>What 16 queries' images alone weigh (784 floats each); a ping carries no argument.</summary>
    private const long QueriesBytes = 16 * PredictionRequest.InputLength * sizeof(float);

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

    /// <summary>
    /// A gateway endpoint that accepts connections and holds them, as a frontend silo that is still joining does, until
    /// <see cref="Serve"/>; then it relays them to a real frontend's gateway and counts the bytes clients send.
    /// </summary>
    private sealed class JoiningGateway : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly TaskCompletionSource _serving = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _relays = [];
        private readonly int _frontendPort;
        private readonly Task _accepting;
        private long _bytesFromClients;

        public JoiningGateway(int frontendPort)
        {
            _frontendPort = frontendPort;
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public long BytesFromClient => Interlocked.Read(ref _bytesFromClients);

        public void Serve() => _serving.TrySetResult();

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket connection;
                try
                {
                    connection = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }

                lock (_relays)
                {
                    _relays.Add(RelayAsync(connection));
                }
            }
        }

        private async Task RelayAsync(Socket client)
        {
            using var _ = client;
            try
            {
                await _serving.Task.WaitAsync(_stop.Token);
                using var frontend = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await frontend.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _frontendPort), _stop.Token);
                await Task.WhenAny(CopyAsync(client, frontend, count: true), CopyAsync(frontend, client, count: false));
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped, or one side closed.
            }
        }

        private async Task CopyAsync(Socket from, Socket to, bool count)
        {
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                if (count)
                {
                    Interlocked.Add(ref _bytesFromClients, read);
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            Task[] relays;
            lock (_relays)
            {
                relays = [.. _relays];
            }

            await Task.WhenAll(relays);
            _stop.Dispose();
        }
    }
}
