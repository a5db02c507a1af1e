using System.Net;
using System.Net.Sockets;
using AsymCdc.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace AsymCdc.Hosting;

/// <summary>
/// A private two-silo Orleans cluster, in this process, that loses one silo the way a killed process is lost: its
/// connections are reset, new ones refused, and the survivor's membership declares it dead. Every silo then runs its
/// reaction to a death (the membership snapshot, ring, grain directory, cluster manifest, health monitors, connection
/// maintenance) once before it serves, instead of compiling it in every process of the real cluster at the moment a
/// real peer dies. JIT-compiled code and loaded types belong to the process, so the real silo inherits them.
/// The private cluster has its own cluster id, loopback ports and in-memory membership (development clustering): the
/// real cluster, its membership table and its clients never see it. Its silos' log messages are rendered, as the real
/// silos' are, and dropped.
/// </summary>
public static class MembershipLossRehearsal
{
    /// <summary>Runs the rehearsal; throws if the survivor does not declare the lost silo dead within <paramref name="limit"/>.</summary>
    public static async Task RunAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        // Ephemeral: the ports a cluster launcher handed to silos that have not bound them yet are below that range.
        var ports = FreePorts.TakeEphemeral(4);
        var clusterId = $"peer-loss-rehearsal-{Guid.NewGuid():N}";
        // Each silo is reached only through a link of its own (it advertises the link's port; Orleans sends both ways
        // over whichever connection is open), so cutting both links is, for the survivor, the lost silo's death.
        using var survivorLink = new CuttableLink(ports[1], new IPEndPoint(IPAddress.Loopback, ports[0]));
        using var lostLink = new CuttableLink(ports[3], new IPEndPoint(IPAddress.Loopback, ports[2]));
        var primary = new IPEndPoint(IPAddress.Loopback, ports[1]);
        using var survivor = BuildSilo(clusterId, primary, advertisedPort: ports[1], listeningPort: ports[0]);
        using var lost = BuildSilo(clusterId, primary, advertisedPort: ports[3], listeningPort: ports[2]);
        try
        {
            await survivor.StartAsync(deadline.Token);
            await lost.StartAsync(deadline.Token);
            var membership = survivor.Services.GetRequiredService<IClusterMembershipService>();
            var lostAddress = lost.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
            await UntilAsync(membership, lostAddress, SiloStatus.Active, deadline.Token);
            // A call from the survivor to the lost silo: connections are open and in use when they are cut.
            var management = survivor.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
            await management.GetRuntimeStatistics([lostAddress]).WaitAsync(deadline.Token);
            // Then one written to the lost silo and never answered, as calls in flight at a kill are: Orleans keeps it
            // pending until the death is declared, then fails it (and logs that), which the real silos do for theirs.
            lostLink.Hold();
            survivorLink.Hold();
            var unanswered = management.GetRuntimeStatistics([lostAddress]);
            await Task.WhenAny(lostLink.Held, survivorLink.Held).WaitAsync(deadline.Token);
            lostLink.Cut();
            survivorLink.Cut();
            await UntilAsync(membership, lostAddress, SiloStatus.Dead, deadline.Token);
            await ObserveFailureAsync(unanswered, deadline.Token);
        }
        finally
        {
            // The lost silo has been told it is dead (or never will be): stopping it is not graceful, and need not be.
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await StopQuietlyAsync(lost, stopping.Token);
            await StopQuietlyAsync(survivor, stopping.Token);
        }
    }

    /// <summary>The unanswered call ends when the death is declared, with an error (or, at worst, at the deadline).</summary>
    private static async Task ObserveFailureAsync(Task call, CancellationToken cancellationToken)
    {
        try
        {
            await call.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Expected (SiloUnavailableException): the lost silo never answers.
        }
    }

    private static IHost BuildSilo(string clusterId, IPEndPoint primary, int advertisedPort, int listeningPort)
    {
        // No default configuration sources: this process's environment (Orleans__*, AsymCdc__*) must not reach it.
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // Every message is rendered, at the levels a silo logs (appsettings.json), and dropped: rendering a death's
        // warnings (messages, exceptions and their stack traces) is part of what every real silo does at that moment.
        builder.Logging.ClearProviders().AddProvider(new RenderingLoggerProvider())
            .SetMinimumLevel(LogLevel.Information).AddFilter("Orleans", LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.UseDevelopmentClustering(primary);
            silo.Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = ("asymcdc-rehearsal", clusterId));
            silo.Configure<EndpointOptions>(o =>
            {
                o.AdvertisedIPAddress = IPAddress.Loopback;
                o.SiloPort = advertisedPort;
                o.SiloListeningEndpoint = new IPEndPoint(IPAddress.Loopback, listeningPort);
                o.GatewayPort = 0;
            });
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                // One missed probe and one vote: the death is declared within about a second of the cut.
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 1;
                o.NumVotesForDeathDeclaration = 1;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
            });
            // Directory caches as small as a real AsymCDC silo's (PlacementOnlyDirectory.OrleansCacheSize): at Orleans'
            // default the first walk at a membership change faults in 8 MB of buckets, tens of ms of the start-up.
            silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = PlacementOnlyDirectory.OrleansCacheSize);
            silo.UseSiloMetadata(new Dictionary<string, string> { ["asymcdc.rehearsal"] = "true" });
            // A silo that learns it was declared dead ends its process by default; here it only stops.
            silo.Services.AddSingleton<IFatalErrorHandler, StopOnlyFatalErrorHandler>();
        });
        return builder.Build();
    }

    private static async Task UntilAsync(IClusterMembershipService membership, SiloAddress silo, SiloStatus status,
        CancellationToken cancellationToken)
    {
        if (membership.CurrentSnapshot.GetSiloStatus(silo) == status)
        {
            return;
        }

        await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken))
        {
            if (snapshot.GetSiloStatus(silo) == status)
            {
                return;
            }
        }
    }

    private static async Task StopQuietlyAsync(IHost host, CancellationToken cancellationToken)
    {
        try
        {
            await host.StopAsync(cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or OrleansException or InvalidOperationException or SiloUnavailableException)
        {
            // A silo that was declared dead cannot leave the cluster in order; the process keeps nothing of it.
        }
    }

    /// <summary>Renders every message and its exception, and keeps nothing.</summary>
    private sealed class RenderingLoggerProvider : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            _ = formatter(state, exception);
            _ = exception?.ToString();
        }

        public void Dispose()
        {
        }
    }

    private sealed class StopOnlyFatalErrorHandler : IFatalErrorHandler
    {
        public bool IsUnexpected(Exception exception) => true;

        public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
        {
        }
    }

    /// <summary>A loopback TCP relay that can be cut as a killed process is: open connections reset, new ones refused.</summary>
    private sealed class CuttableLink : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly IPEndPoint _target;
        private readonly List<Socket> _sockets = [];
        private readonly CancellationTokenSource _cut = new();
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _holding;

        public CuttableLink(int port, IPEndPoint target)
        {
            _target = target;
            _listener = new TcpListener(IPAddress.Loopback, port);
            _listener.Start();
            _ = AcceptAsync();
        }

        /// <summary>Completes when the link has dropped data since <see cref="Hold"/>.</summary>
        public Task Held => _held.Task;

        /// <summary>From now on the link reads and drops what either side sends, as a hung peer would: nothing is
        /// answered, and nothing is refused.</summary>
        public void Hold() => _holding = true;

        public void Cut()
        {
            _cut.Cancel();
            _listener.Stop();
            lock (_sockets)
            {
                foreach (var socket in _sockets)
                {
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Dispose();
                }

                _sockets.Clear();
            }
        }

        public void Dispose()
        {
            Cut();
            _cut.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_cut.IsCancellationRequested)
            {
                Socket inbound;
                try
                {
                    inbound = await _listener.AcceptSocketAsync(_cut.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = RelayAsync(inbound);
            }
        }

        private async Task RelayAsync(Socket inbound)
        {
            var outbound = new Socket(_target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (!Track(inbound))
            {
                outbound.Dispose();
                return;
            }

            if (!Track(outbound))
            {
                return;
            }

            try
            {
                await outbound.ConnectAsync(_target, _cut.Token);
                await Task.WhenAny(PumpAsync(inbound, outbound), PumpAsync(outbound, inbound));
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Cut, or one side went away.
            }
        }

        private bool Track(Socket socket)
        {
            lock (_sockets)
            {
                if (_cut.IsCancellationRequested)
                {
                    socket.Dispose();
                    return false;
                }

                _sockets.Add(socket);
                return true;
            }
        }

        private async Task PumpAsync(Socket from, Socket to)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (!_cut.IsCancellationRequested)
                {
                    var read = await from.ReceiveAsync(buffer, SocketFlags.None, _cut.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    if (_holding)
                    {
                        _held.TrySetResult();
                        continue;
                    }

                    await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _cut.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Cut, or one side went away.
            }
        }
    }
}
