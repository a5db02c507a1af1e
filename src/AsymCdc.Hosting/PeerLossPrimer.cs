using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AsymCdc.Abstractions;
using AsymCdc.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Newtonsoft.Json;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>
/// Runs, once while the silo starts, the code a silo runs when a peer dies, so that the first real death does not load
/// types and JIT-compile it in every surviving silo at that very moment. Here: an inbound connection reset once open,
/// this silo's own failure detector, the first stack trace rendered with file and line numbers (it loads the
/// portable-PDB reader: about 30 ms of CPU, then ~3 ms per further module) and, with Redis membership, a membership row
/// that carries suspicion votes. Then, unless <see cref="SiloOptions.RehearsePeerLoss"/> is off, the rest of a death,
/// for real: a private cluster in this process loses a silo (<see cref="MembershipLossRehearsal"/>: open connections
/// reset, reconnections refused, a call pending, the death declared and reacted to). Compiled code is the process's,
/// so this runs once per process, however many silos it hosts.
/// </summary>
/// <remarks>
/// All of it runs before the silo joins the membership table: as a hosted service registered ahead of Orleans (so
/// before the silo starts at all), and the inbound reset, which needs the silo's own listener, in Orleans' start-up at
/// the stage before <see cref="ServiceLifecycleStage.AfterRuntimeGrainServices"/> (where Orleans writes the silo as
/// <c>Joining</c>). A replacement on the endpoint of a crashed silo declares that incarnation dead as its membership
/// starts, and every silo in the cluster reacts at that moment; primed after the join, this (1.5 to 5 s of CPU) ran at
/// that same moment and the drills' slowest answers doubled, and the silo was already picked for calls it then
/// answered late. Not in Orleans' start-up itself: a silo's gateway port is bound from the start but accepts clients
/// only once the silo is active, so a client that connected meanwhile (a restarted frontend's endpoint is in a static
/// gateway list) waited out the whole priming.
/// </remarks>
public sealed partial class PeerLossPrimer(ILocalSiloDetails silo, IClusterMembershipService membership,
    IOptions<SiloOptions> options, ILogger<PeerLossPrimer> logger) : IHostedService, ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RehearsalLimit = TimeSpan.FromSeconds(30);
    private static int _primed;
    private static int _primedInbound;

    /// <summary>Before Orleans starts (registered ahead of it): everything that needs no silo of this process.</summary>
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
            await PrimeProcessAsync();
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

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Once this silo listens, before it joins: a connection to its own silo port, reset once open.</summary>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PeerLossPrimer), ServiceLifecycleStage.AfterRuntimeGrainServices - 1, PrimeInboundAsync);

    private async Task PrimeInboundAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _primedInbound, 1) == 1)
        {
            return;
        }

        try
        {
            await ResetAnInboundConnectionAsync(silo.SiloAddress.Endpoint, cancellationToken).WaitAsync(CallLimit, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogPrimingFailed(logger, e);
        }
    }

    private async Task PrimeProcessAsync()
    {
        // The socket error table (a dictionary keyed by an enum: compiled on first use, ~25 ms on 2 busy cores).
        _ = new SocketException((int)SocketError.ConnectionReset).Message;
        // A peer no membership table lists: only this process's own objects ever name it.
        var peer = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 1), SiloAddress.AllocateNewGeneration());
        try
        {
            // Thrown inside Orleans.Core, whose frames the connection errors of a dead peer are made of.
            SiloAddress.FromParsableString("not a silo address");
        }
        catch (Exception e)
        {
            // As a log renders an error: with its stack trace, file and line numbers.
            _ = e.ToString();
        }

        await PrimeSuspicionAsync(peer);
        if (!string.Equals(options.Value.Clustering, SiloOptions.Localhost, StringComparison.OrdinalIgnoreCase))
        {
            // Redis and Kubernetes clustering keep membership rows as JSON.
            PrimeMembershipRowOfADeath(peer);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Primed the peer-loss code paths in {ElapsedMs:F0} ms (this silo's membership status: {Status})")]
    private static partial void LogPrimed(ILogger logger, double elapsedMs, SiloStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rehearsed a silo's death in a private in-process cluster in {ElapsedMs:F0} ms")]
    private static partial void LogRehearsed(ILogger logger, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "The peer-loss code paths were already primed in this process")]
    private static partial void LogAlreadyPrimed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Priming the peer-loss code paths failed; the silo serves anyway")]
    private static partial void LogPrimingFailed(ILogger logger, Exception exception);
}
