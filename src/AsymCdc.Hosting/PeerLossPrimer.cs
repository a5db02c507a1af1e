using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AsymCdc.Abstractions;
using AsymCdc.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Newtonsoft.Json;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>
/// Runs, once while the silo starts, the code a silo runs when a peer dies: an Orleans call to a silo whose connection
/// is reset once it is open, one to a silo that refuses connections, an inbound connection reset once open, and this
/// silo's own failure detector. The first time a .NET process takes these paths it loads types and JIT-compiles them,
/// in every surviving silo at the very moment a peer is lost.
/// That includes the first stack trace rendered with file and line numbers (the rejection below, as a log renders it),
/// which loads the portable-PDB reader: about 30 ms of CPU, then ~3 ms per further module.
/// The peers are throwaway loopback endpoints that no membership table lists; nothing in the cluster sees them.
/// Then, unless <see cref="SiloOptions.RehearsePeerLoss"/> is off, the membership side of a death: a private cluster
/// in this process loses a silo (<see cref="MembershipLossRehearsal"/>). Compiled code is the process's, so this runs
/// once per process, however many silos it hosts.
/// </summary>
/// <remarks>
/// It runs in the silo's start-up, just before the silo joins the membership table (the stage before
/// <see cref="ServiceLifecycleStage.AfterRuntimeGrainServices"/>, where Orleans writes it as <c>Joining</c>): its
/// messaging and grains work, but no other silo knows it yet. A replacement on the endpoint of a crashed silo declares
/// that incarnation dead when it joins, and every silo in the cluster reacts at that moment; done after the join, this
/// (1.5 to 5 s of CPU) ran at that same moment, and the drills' slowest answers doubled. Done after start-up, as
/// first, the silo was also already picked for calls it then answered late.
/// </remarks>
/// </remarks>
public sealed partial class PeerLossPrimer(IGrainFactory grains, ILocalSiloDetails silo, IClusterMembershipService membership,
    IOptions<SiloOptions> options, ILogger<PeerLossPrimer> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RehearsalLimit = TimeSpan.FromSeconds(30);
    private static int _primed;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PeerLossPrimer), ServiceLifecycleStage.AfterRuntimeGrainServices - 1, StartAsync);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _primed, 1) == 1)
        {
            LogAlreadyPrimed(logger);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            await PrimeAsync(cancellationToken);
            LogPrimed(logger, Stopwatch.GetElapsedTime(started).TotalMilliseconds, membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress));
            if (options.Value.RehearsePeerLoss)
            {
                started = Stopwatch.GetTimestamp();
                await MembershipLossRehearsal.RunAsync(RehearsalLimit, cancellationToken);
                LogRehearsed(logger, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Best effort: a silo that could not prime still serves.
            LogPrimingFailed(logger, e);
        }
    }

    private async Task PrimeAsync(CancellationToken cancellationToken)
    {
        // The socket error table (a dictionary keyed by an enum: compiled on first use, ~25 ms on 2 busy cores).
        _ = new SocketException((int)SocketError.ConnectionReset).Message;
        using var resetting = new TcpListener(IPAddress.Loopback, 0);
        resetting.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var resetter = ResetEveryConnectionAsync(resetting, stop.Token);
        var resetPeer = Peer(((IPEndPoint)resetting.LocalEndpoint).Port);
        // A loopback port nobody listens on: taken, then released.
        var refusingPeer = Peer(FreePorts.TakeEphemeral(1)[0]);
        LogPriming(logger, resetPeer, refusingPeer);
        try
        {
            var management = grains.GetGrain<IManagementGrain>(0);
            foreach (var peer in new[] { resetPeer, refusingPeer })
            {
                try
                {
                    await management.GetRuntimeStatistics([peer]).WaitAsync(CallLimit, cancellationToken);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    // Expected: the rejection a call to a dead peer ends with, rendered as a log would render it.
                    _ = e.ToString();
                }
            }

            await ResetAnInboundConnectionAsync(silo.SiloAddress.Endpoint, cancellationToken).WaitAsync(CallLimit, cancellationToken);
            await PrimeSuspicionAsync(resetPeer);
            if (string.Equals(options.Value.Clustering, SiloOptions.Redis, StringComparison.OrdinalIgnoreCase)
                || string.Equals(options.Value.Clustering, SiloOptions.Kubernetes, StringComparison.OrdinalIgnoreCase))
            {
                PrimeMembershipRowOfADeath(resetPeer);
            }
        }
        finally
        {
            await stop.CancelAsync();
            resetting.Stop();
            await resetter;
        }
    }

    /// <summary>
    /// Orleans' Redis membership table stores each row as JSON (Newtonsoft.Json). A row carries suspicion votes only
    /// once a silo is suspected, so every silo first reads one, and builds the JSON contract of the votes, when a peer
    /// dies (5 ms on an idle core). This round-trips such a row with settings like the table's: the contracts it builds
    /// are cached per type, so the table's own first read of such a row then takes 0.25 ms. (The table's converters are
    /// internal; a silo address is written here as its parsable string, as theirs does.)
    /// </summary>
    private static void PrimeMembershipRowOfADeath(SiloAddress peer)
    {
        var settings = new JsonSerializerSettings
        {
            DateTimeZoneHandling = DateTimeZoneHandling.Utc,
            DateParseHandling = DateParseHandling.DateTimeOffset,
            Culture = System.Globalization.CultureInfo.InvariantCulture,
            MissingMemberHandling = MissingMemberHandling.Ignore,
            MaxDepth = 10,
            Converters = { new SiloAddressJsonConverter() },
        };
        var row = new MembershipEntry
        {
            SiloAddress = peer,
            Status = SiloStatus.Dead,
            SuspectTimes = [Tuple.Create(peer, DateTime.UtcNow)],
            StartTime = DateTime.UtcNow,
            IAmAliveTime = DateTime.UtcNow,
        };
        _ = JsonConvert.DeserializeObject<MembershipEntry>(JsonConvert.SerializeObject(row, settings), settings);
    }

    private sealed class SiloAddressJsonConverter : JsonConverter
    {
        public override bool CanConvert(Type objectType) => objectType == typeof(SiloAddress);

        public override void WriteJson(JsonWriter writer, object? value, JsonSerializer serializer) =>
            writer.WriteValue(((SiloAddress)value!).ToParsableString());

        public override object ReadJson(JsonReader reader, Type objectType, object? existingValue, JsonSerializer serializer) =>
            SiloAddress.FromParsableString((string)reader.Value!);
    }

    /// <summary>A detector of its own: the silo's detector and its log stay untouched.</summary>
    private static async Task PrimeSuspicionAsync(SiloAddress peer)
    {
        var detector = new WorkerSuspicion(TimeProvider.System, TimeSpan.FromSeconds(1));
        var waiting = new TaskCompletionSource<WorkerAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        var watched = detector.Watch(peer, waiting.Task);
        detector.ReportUnreachable(peer, new SiloUnavailableException($"primer: {peer} is gone"));
        try
        {
            await watched;
        }
        catch (PredictionException)
        {
            // Expected: released as unreachable.
        }

        waiting.SetException(new SiloUnavailableException($"primer: {peer} is gone"));
        detector.Forget(peer);
    }

    /// <summary>
    /// Accepts connections and resets each (linger 0), as the kernel does for a killed process, once the silo has sent
    /// its handshake on it: the silo's side of the connection is then open, and closing it takes the established path.
    /// </summary>
    private static async Task ResetEveryConnectionAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        var handshake = new byte[1];
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var socket = await listener.AcceptSocketAsync(cancellationToken);
                await socket.ReceiveAsync(handshake, SocketFlags.None, cancellationToken);
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// A peer connects to this silo's own silo endpoint and is reset once the silo has sent its handshake: the path an
    /// inbound connection from a killed silo takes. The silo drops the half-open connection; no membership is involved.
    /// </summary>
    private static async Task ResetAnInboundConnectionAsync(IPEndPoint siloEndpoint, CancellationToken cancellationToken)
    {
        using var socket = new Socket(siloEndpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(siloEndpoint, cancellationToken);
        await socket.ReceiveAsync(new byte[1], SocketFlags.None, cancellationToken);
        socket.LingerState = new LingerOption(true, 0);
    }

    private static SiloAddress Peer(int port) => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), SiloAddress.AllocateNewGeneration());

    [LoggerMessage(Level = LogLevel.Information, Message = "Priming the peer-loss code paths against throwaway endpoints {ResetPeer} (resets) and {RefusingPeer} (refuses); connection warnings naming them are expected")]
    private static partial void LogPriming(ILogger logger, SiloAddress resetPeer, SiloAddress refusingPeer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Primed the peer-loss code paths in {ElapsedMs:F0} ms (this silo's membership status: {Status})")]
    private static partial void LogPrimed(ILogger logger, double elapsedMs, SiloStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rehearsed a silo's death in a private in-process cluster in {ElapsedMs:F0} ms")]
    private static partial void LogRehearsed(ILogger logger, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "The peer-loss code paths were already primed in this process")]
    private static partial void LogAlreadyPrimed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Priming the peer-loss code paths failed; the silo serves anyway")]
    private static partial void LogPrimingFailed(ILogger logger, Exception exception);
}
