using System.Diagnostics;
using AsymCdc.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Messaging;

namespace AsymCdc.Client;

/// <summary>A typed client for the AsymCDC cluster: one call per prediction through the frontend grain.</summary>
/// <param name="client">A started Orleans client (see <see cref="AsymCdcClientBuilderExtensions"/>).</param>
/// <param name="defaultTimeout">The cluster's default deadline (<c>AsymCdc:Serving:RequestTimeout</c>, 5 s), used when a request names none.</param>
/// <param name="clientGrace">Time allowed beyond the deadline for the cluster's own answer or error to arrive (1 s).</param>
/// <param name="respreadPeriod">How often the client checks that its calls reach every gateway the cluster lists
/// (<see cref="RespreadPeriod"/>, 10 s).</param>
/// <param name="hedging">Hedged calls (<see cref="ClientHedging"/>); null, the default, sends each call once (and again
/// only when its gateway connection is lost).</param>
public sealed partial class AsymCdcClient(IClusterClient client, TimeSpan? defaultTimeout = null, TimeSpan? clientGrace = null,
    TimeSpan? respreadPeriod = null, ClientHedging? hedging = null)
{
    /// <summary>
    /// Frontend grain keys the calls rotate over. The Orleans client sends every call to one grain through the gateway
    /// it first picked for that grain (its messages are routed by grain id), so with a single key one frontend silo
    /// would take all of a client's load and the others would stay idle, and cold, until it died. Each key is routed on
    /// its own, so the calls spread over the live gateways. The frontend is a stateless worker: any key is served by
    /// whichever frontend silo the call enters. A key keeps its gateway while that connection lives, so the client moves
    /// to a fresh set of keys when its calls no longer reach every gateway (<see cref="RespreadPeriod"/>).
    /// </summary>
    public const int FrontendKeys = 64;

    private static readonly ClientHedging DefaultPolicy = new();

    /// <summary>The longest wait between two re-spreads that did not reach every gateway, in <see cref="RespreadPeriod"/>s.</summary>
    public const int MaxRespreadBackoff = 8;

    private readonly GatewayLossSignal? _gatewayLosses = client.ServiceProvider.GetService<GatewayLossSignal>();
    private readonly IGatewayListProvider? _gatewayList = client.ServiceProvider.GetService<IGatewayListProvider>();
    private readonly Hedge? _hedge = hedging is null ? null : new Hedge(hedging);

    /// <summary>Pays for every second copy of a call, hedge or resend: the hedging policy's budget, or the default
    /// policy's when the client does not hedge.</summary>
    private readonly HedgeBudget _budget = new((hedging ?? DefaultPolicy).Budget, (hedging ?? DefaultPolicy).Burst);
    private readonly ILogger _logger = client.ServiceProvider.GetService<ILoggerFactory>()?.CreateLogger<AsymCdcClient>()
        ?? NullLogger<AsymCdcClient>.Instance;
    private FrontendKeySet _keys = new(0);
    private long _resent;
    private long _respreads;
    private long _warmedKeys;
    private long _keptKeys;
    private long _hedged;
    private long _hedgeWins;
    private long _hedgesWithheld;
    private long _resentOnSuspicion;
    private long _resentOnRefusal;
    private uint _nextFrontend;
    private long _nextSpreadCheck = Stopwatch.GetTimestamp() + TicksOf(respreadPeriod ?? DefaultRespreadPeriod);
    private int _checkingSpread;
    private int _respreadBackoff = 1;
    private bool _spreadIncomplete;

    /// <summary>Calls sent a second time, within the budget, because a gateway connection was lost while they were out
    /// (see <see cref="GatewayLossSignal"/>).</summary>
    public long Resent => Interlocked.Read(ref _resent);

    /// <summary>
    /// How often the client compares the gateway connections it has open with the gateways the cluster lists (frontend
    /// silos; the Orleans gateway list provider's view). With fewer open, its calls no longer reach every frontend: one
    /// died and came back, or one was added, while each of the client's keys stayed on the gateway it had. The client
    /// then moves to <see cref="FrontendKeys"/> fresh keys, which the Orleans client spreads round-robin over the
    /// gateways it holds live. Each fresh key is pinged first (<see cref="IFrontendGrain.PingAsync"/>): the first call
    /// through a new gateway connects to it and activates its frontend, and the ping pays that instead of a query; a fresh key that does not answer within <see cref="KeyWarmupLimit"/> is not used, its slot
    /// keeps the key it had (see <see cref="KeptKeys"/>), and the next check re-spreads again. While that does not
    /// reach every gateway (a listed frontend stays down), it waits twice as long before the next, up to
    /// <see cref="MaxRespreadBackoff"/> periods.
    /// </summary>
    public TimeSpan RespreadPeriod { get; } = respreadPeriod ?? DefaultRespreadPeriod;

    /// <summary>The hedging policy, or null when the client does not hedge.</summary>
    public ClientHedging? Hedging => _hedge?.Policy;

    /// <summary>Calls sent a second time because they were slower than the hedge delay (<see cref="ClientHedging"/>).</summary>
    public long Hedged => Interlocked.Read(ref _hedged);

    /// <summary>Hedged calls whose second copy answered first.</summary>
    public long HedgeWins => Interlocked.Read(ref _hedgeWins);

    /// <summary>Second copies the budget refused when they were due (<see cref="ClientHedging.Budget"/>): hedges, and
    /// resends after a gateway loss or a frontend suspicion. Each then waited for the budget to refill; one sent then is
    /// counted again where it went out (<see cref="Hedged"/>, <see cref="Resent"/>, <see cref="ResentOnSuspicion"/>).</summary>
    public long HedgesWithheld => Interlocked.Read(ref _hedgesWithheld);

    /// <summary>Second copies the budget can pay for now (<see cref="ClientHedging.Budget"/>, at most
    /// <see cref="ClientHedging.Burst"/>): a client whose recent calls needed no more than the budget holds the full burst,
    /// the copies it can send at once for the calls in flight through a frontend that dies or freezes.</summary>
    public int HedgesAvailable => _budget.Available;

    /// <summary>Calls sent again, within the budget, because the frontend they entered became suspected while they were
    /// out (<see cref="FrontendSuspicion"/>).</summary>
    public long ResentOnSuspicion => Interlocked.Read(ref _resentOnSuspicion);

    /// <summary>Times a frontend silo was suspected after a hedge overtook a call it never answered
    /// (<see cref="FrontendSuspicion"/>).</summary>
    public long FrontendSuspicions => _hedge?.Suspicion.Suspicions ?? 0;

    /// <summary>Whether new calls avoid a frontend now (one it suspects; false when the client does not hedge).</summary>
    public bool SuspectsAFrontend => _hedge?.Suspicion.AnySuspected(Stopwatch.GetTimestamp()) ?? false;

    /// <summary>Calls sent again because a frontend leaving the cluster refused them before starting them
    /// (<see cref="PredictionException.NotStarted"/>).</summary>
    public long ResentOnRefusal => Interlocked.Read(ref _resentOnRefusal);

    /// <summary>A snapshot of every counter above, for reports over an interval (subtract two).</summary>
    public ClientCounters Counters => new(Resent, Respreads, KeptKeys, Hedged, HedgeWins, HedgesWithheld, FrontendSuspicions, ResentOnSuspicion, ResentOnRefusal);

    /// <summary>The hedge delay now (null when the client does not hedge).</summary>
    public TimeSpan? HedgeDelay => _hedge?.Delay.Current;

    /// <summary>Times the client moved to fresh frontend keys (see <see cref="RespreadPeriod"/>).</summary>
    public long Respreads => Interlocked.Read(ref _respreads);

    /// <summary>Fresh frontend keys that answered their ping before they carried queries (see <see cref="RespreadPeriod"/>).</summary>
    public long WarmedKeys => Interlocked.Read(ref _warmedKeys);

    /// <summary>Slots of a re-spread that kept their key because the fresh one did not answer its ping in time
    /// (<see cref="KeyWarmupLimit"/>).</summary>
    public long KeptKeys => Interlocked.Read(ref _keptKeys);

    /// <summary>How long a re-spread waits for the pings of its fresh keys; a key that has not answered by then is not used.</summary>
    public static readonly TimeSpan KeyWarmupLimit = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan DefaultRespreadPeriod = TimeSpan.FromSeconds(10);

    /// <summary>Fresh keys a re-spread pings at once, <see cref="PingWavePause"/> apart: each ping activates a frontend
    /// grain, and 64 at once would hold the queries sent in that instant.</summary>
    private const int PingWave = 8;

    private static readonly TimeSpan PingWavePause = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Predicts one Fashion-MNIST image (784 pixels in [0, 1]). Throws <see cref="PredictionException"/> with a code that
    /// says whether a retry may help; <paramref name="cancellationToken"/> stops waiting (the cluster still bounds the
    /// query by its deadline).
    /// </summary>
    public async Task<Prediction> PredictAsync(float[] pixels, ServingMode? mode = null, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        return await PredictAsync(new PredictionRequest(pixels, PredictionRequest.DefaultModel, mode, timeout), cancellationToken);
    }

    /// <summary>
    /// Predicts one item of <paramref name="model"/> (its repository name or an alias): <paramref name="input"/> has the
    /// model's item shape (or is flat of its length). <paramref name="mode"/> null serves it with the cluster's default
    /// where the model supports it, else hedged; a mode the model lacks a companion for is refused with
    /// <see cref="PredictionErrorCode.ModeNotSupported"/>, naming it.
    /// </summary>
    public async Task<Prediction> PredictAsync(string model, Tensor input, ServingMode? mode = null, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(input);
        return await PredictAsync(new PredictionRequest(input, model, mode, timeout), cancellationToken);
    }

    /// <summary>
    /// The Orleans client's own failures: the gateway died or refused the call before it reached a frontend grain
    /// (rejection, connection failure), or it died with the call in flight and the client's response timeout fired.
    /// Predictions are idempotent, so each is a retryable <see cref="PredictionErrorCode.Unavailable"/>.
    /// </summary>
    public static bool IsTransportFailure(Exception e) =>
        e is OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException or TimeoutException;

    private static PredictionException Unavailable(Exception e) => new(PredictionErrorCode.Unavailable,
        $"the frontend silo serving this call became unavailable ({e.GetType().Name}: {e.Message}); the query may be retried, another gateway will serve it", e);

    /// <summary>
    /// The raw request, for callers that set the model name themselves. The call is bounded on the client side too:
    /// if the frontend silo dies with the call in flight, the cluster can no longer answer, so the client gives up at
    /// the request's deadline plus <see cref="ClientGrace"/> with a retryable
    /// <see cref="PredictionErrorCode.DeadlineExceeded"/> instead of waiting for Orleans' response timeout. Before that,
    /// if a gateway connection is lost while the call is out and the budget allows, the call is sent again through a live
    /// gateway and the first answer wins (<see cref="GatewayLossSignal"/>; counted in <see cref="Resent"/>). The deadline
    /// travels in the request and the cluster enforces it; the client's own bound covers only a frontend that can no
    /// longer answer.
    /// </summary>
    public Task<Prediction> PredictAsync(PredictionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = Stopwatch.GetTimestamp();
        if (started >= Volatile.Read(ref _nextSpreadCheck))
        {
            _ = CheckSpreadAsync();
        }

        // Read before the slot is chosen: a frontend suspected from now on may be the one the call enters.
        var suspected = _hedge?.Suspicion.NextSuspicion;
        var keys = Volatile.Read(ref _keys);
        var slot = NextSlot(keys, started, out var trial);
        return trial is { } of
            ? TrialAsync(request, keys, slot, of, started, suspected, cancellationToken)
            : SendAsync(request, keys, slot, started, suspected, cancellationToken);
    }

    /// <summary>A call that is the trial of a suspected frontend (<see cref="FrontendSuspicion.TryTrial"/>): its end,
    /// however it ends, decides the suspicion.</summary>
    private async Task<Prediction> TrialAsync(PredictionRequest request, FrontendKeySet keys, int slot, Trial trial, long started,
        Task? suspected, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync(request, keys, slot, started, suspected, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _hedge!.Suspicion.TrialEnded(trial.Frontend, trial.Of, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>A suspected frontend's trial call: the frontend and the probation end it tries after.</summary>
    private readonly record struct Trial(string Frontend, long Of);

    private async Task<Prediction> SendAsync(PredictionRequest request, FrontendKeySet keys, int slot, long started, Task? suspected,
        CancellationToken cancellationToken)
    {
        var timeout = request.Timeout is { } t && t > TimeSpan.Zero ? t : DefaultTimeout;
        var budget = timeout + ClientGrace;
        // Read before the call goes out: a gateway lost from now on may have taken it.
        var gatewayLost = _gatewayLosses?.NextLoss;
        _budget.Earn();
        Task<Prediction> call;
        try
        {
            call = Reference(keys, slot).PredictAsync(request).AsTask();
        }
        catch (Exception e) when (IsTransportFailure(e))
        {
            throw Unavailable(e);
        }

        if (_hedge is not null || gatewayLost is not null)
        {
            call = RaceAsync(call, keys, slot, gatewayLost, suspected, request, timeout, started);
        }

        try
        {
            return await call.WaitAsync(budget, cancellationToken);
        }
        catch (PredictionException e) when (e.NotStarted)
        {
            return await ResendRefusedAsync(e, keys, slot, request, timeout, started, cancellationToken);
        }
        catch (TimeoutException) when (!call.IsCompleted)
        {
            throw new PredictionException(PredictionErrorCode.DeadlineExceeded,
                $"no answer from the cluster within the request's deadline + {ClientGrace.TotalSeconds:0.#} s ({budget.TotalSeconds:0.###} s); the frontend silo may have died; the query may be retried");
        }
        catch (Exception e) when (IsTransportFailure(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>
    /// A call a frontend refused before starting it (<see cref="PredictionException.NotStarted"/>: the silo is leaving the
    /// cluster) goes out again at once through other slots, up to <see cref="MaxRefusalResends"/> times; slots far apart
    /// are likely to enter other gateways, and while hedging the client knows which do. Nothing was computed, so the
    /// hedging budget does not pay for it. What is left of the deadline travels with each copy.
    /// </summary>
    private async Task<Prediction> ResendRefusedAsync(PredictionException refusal, FrontendKeySet keys, int slot, PredictionRequest request,
        TimeSpan timeout, long started, CancellationToken cancellationToken)
    {
        var refusedBy = _hedge is null ? null : Volatile.Read(ref keys.Frontends[slot]);
        for (var attempt = 1; attempt <= MaxRefusalResends; attempt++)
        {
            var left = timeout - Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            var other = _hedge is null || refusedBy is null
                ? (slot + (attempt * FrontendKeys / (MaxRefusalResends + 1))) % FrontendKeys
                : HedgeSlot(keys, slot, refusedBy, Stopwatch.GetTimestamp());
            Interlocked.Increment(ref _resentOnRefusal);
            ClientInstruments.Resends.Add(1, ClientInstruments.Refused);
            try
            {
                return await Reference(keys, other).PredictAsync(request with { Timeout = left }).AsTask()
                    .WaitAsync(left + ClientGrace, cancellationToken).ConfigureAwait(false);
            }
            catch (PredictionException again) when (again.NotStarted)
            {
                refusal = again;
                slot = other;
            }
            catch (TimeoutException)
            {
                throw new PredictionException(PredictionErrorCode.DeadlineExceeded,
                    $"no answer within the request's deadline after a leaving frontend refused the call ({timeout.TotalSeconds:0.###} s); the query may be retried");
            }
            catch (Exception e) when (IsTransportFailure(e))
            {
                throw Unavailable(e);
            }
        }

        throw refusal;
    }

    /// <summary>Re-sends of one call refused by leaving frontends (<see cref="ResendRefusedAsync"/>).</summary>
    public const int MaxRefusalResends = 3;

    /// <summary>The next of <see cref="FrontendKeys"/> slots, round-robin, passing over the slots whose frontend is
    /// suspected (<see cref="FrontendSuspicion"/>) unless this call is its trial (<paramref name="trial"/>, else null);
    /// all suspected: the next slot as it is.</summary>
    private int NextSlot(FrontendKeySet keys, long now, out Trial? trial)
    {
        trial = null;
        var slot = (int)(Interlocked.Increment(ref _nextFrontend) % FrontendKeys);
        if (_hedge is not { } hedge || !hedge.Suspicion.Any(now))
        {
            return slot;
        }

        for (var i = 0; i < FrontendKeys; i++)
        {
            var candidate = (slot + i) % FrontendKeys;
            var frontend = Volatile.Read(ref keys.Frontends[candidate]);
            if (!hedge.Suspicion.IsSuspected(frontend, now))
            {
                return candidate;
            }

            if (hedge.Suspicion.TryTrial(frontend, now, out var of))
            {
                trial = new Trial(frontend!, of);
                return candidate;
            }
        }

        return slot;
    }

    /// <summary>A slot's frontend reference, made once (Orleans' <c>GetGrain</c> reflects over the interface on every call).</summary>
    private IFrontendGrain Reference(FrontendKeySet keys, int slot) =>
        keys.References[slot] ??= client.GetGrain<IFrontendGrain>(keys.First + slot);

    /// <summary>
    /// Where a second copy of a call on <paramref name="slot"/> goes: the next slot known to enter another frontend silo
    /// than <paramref name="primaryFrontend"/> and not suspected; else another slot on the same one; else the slot
    /// half-way round (nothing is known yet).
    /// </summary>
    private int HedgeSlot(FrontendKeySet keys, int slot, string? primaryFrontend, long now)
    {
        var sameFrontend = -1;
        for (var i = 1; i < FrontendKeys; i++)
        {
            var candidate = (slot + i) % FrontendKeys;
            var frontend = Volatile.Read(ref keys.Frontends[candidate]);
            if (frontend is null || _hedge!.Suspicion.IsSuspected(frontend, now))
            {
                continue;
            }

            if (primaryFrontend is null || !string.Equals(frontend, primaryFrontend, StringComparison.Ordinal))
            {
                return candidate;
            }

            sameFrontend = sameFrontend < 0 ? candidate : sameFrontend;
        }

        return sameFrontend >= 0 ? sameFrontend : (slot + FrontendKeys / 2) % FrontendKeys;
    }

    /// <summary>Moves to fresh frontend keys when fewer gateway connections are open than the cluster lists gateways.</summary>
    private async Task CheckSpreadAsync()
    {
        if (Interlocked.Exchange(ref _checkingSpread, 1) == 1)
        {
            return;
        }

        var wait = RespreadPeriod;
        try
        {
            if (_gatewayList is null || _gatewayLosses is null)
            {
                wait = TimeSpan.MaxValue;
                return;
            }

            var listed = (await _gatewayList.GetGateways().ConfigureAwait(false)).Select(static g => (g.Host, g.Port)).Distinct().Count();
            // A re-spread that kept keys did not reach every gateway, whatever the connections say: the gateway that
            // held its pings may have opened a connection, and serve, by now.
            if (_gatewayLosses.Connected < listed || _spreadIncomplete)
            {
                var (fresh, kept) = await WarmAsync(Volatile.Read(ref _keys)).ConfigureAwait(false);
                Volatile.Write(ref _keys, fresh);
                _spreadIncomplete = kept > 0;
                Interlocked.Increment(ref _respreads);
                wait = RespreadPeriod * _respreadBackoff;
                _respreadBackoff = Math.Min(_respreadBackoff * 2, MaxRespreadBackoff);
            }
            else
            {
                _respreadBackoff = 1;
            }
        }
        catch (Exception)
        {
            // The gateway list is unreadable now (its store is down): the client keeps its keys and looks again later.
        }
        finally
        {
            Volatile.Write(ref _nextSpreadCheck, wait == TimeSpan.MaxValue ? long.MaxValue : Stopwatch.GetTimestamp() + TicksOf(wait));
            Volatile.Write(ref _checkingSpread, 0);
        }
    }

    /// <summary>
    /// The next key set: <see cref="FrontendKeys"/> fresh keys, each pinged (within <see cref="KeyWarmupLimit"/>); a slot
    /// whose fresh key did not answer keeps the key it had. Such a ping went to a gateway that failed, or that accepted
    /// the connection but does not serve yet: a restarted frontend on the same endpoint binds its gateway port while
    /// it is still joining the cluster, and holds every call until it is active, seconds later. The kept key stays on its live gateway, and
    /// the next check re-spreads again (that gateway's connection may be open by then, so the connection count alone
    /// would not tell that no key uses it).
    /// </summary>
    private async Task<(FrontendKeySet Keys, int Kept)> WarmAsync(FrontendKeySet current)
    {
        var kept = 0;
        var fresh = new FrontendKeySet(current.Generation + 1);
        var pings = new Task<bool>[FrontendKeys];
        for (var i = 0; i < FrontendKeys; i++)
        {
            if (i > 0 && i % PingWave == 0)
            {
                await Task.Delay(PingWavePause).ConfigureAwait(false);
            }

            fresh.References[i] = client.GetGrain<IFrontendGrain>(fresh.First + i);
            pings[i] = PingAsync(fresh.References[i]!);
        }

        try
        {
            await Task.WhenAll(pings).WaitAsync(KeyWarmupLimit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Some gateway does not answer yet: its keys are not used (below).
        }

        for (var i = 0; i < FrontendKeys; i++)
        {
            if (pings[i].IsCompletedSuccessfully && pings[i].Result)
            {
                continue;
            }

            fresh.References[i] = current.References[i] ?? client.GetGrain<IFrontendGrain>(current.First + i);
            fresh.Frontends[i] = Volatile.Read(ref current.Frontends[i]);
            kept++;
        }

        Interlocked.Add(ref _keptKeys, kept);
        return (fresh, kept);
    }

    private async Task<bool> PingAsync(IFrontendGrain frontend)
    {
        try
        {
            await frontend.PingAsync().ConfigureAwait(false);
            Interlocked.Increment(ref _warmedKeys);
            return true;
        }
        catch (Exception)
        {
            // A gateway that just died, or a frontend without the ping (an older version): the slot keeps its key.
            return false;
        }
    }

    private static long TicksOf(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>One generation of <see cref="FrontendKeys"/> frontend keys, from <c>Generation × FrontendKeys</c>.</summary>
    private sealed class FrontendKeySet(long generation)
    {
        public long Generation { get; } = generation;

        public long First => Generation * FrontendKeys;

        public IFrontendGrain?[] References { get; } = new IFrontendGrain?[FrontendKeys];

        /// <summary>The frontend silo each slot's calls entered, as its last answer named it (learned while hedging).</summary>
        public readonly string?[] Frontends = new string?[FrontendKeys];
    }

    /// <summary>
    /// Waits for the first answer among the copies of one call. A second copy goes out when the call is slower than the
    /// hedge delay (if the client hedges; through <see cref="HedgeSlot"/>); when the frontend it entered becomes
    /// suspected (a hedge elsewhere showed that frontend answers nothing); and when a gateway connection is lost while
    /// the call is out (the call may have gone through it and will then never be answered). Every second copy is paid
    /// from the budget (<see cref="ClientHedging.Budget"/>); one the budget refuses waits for it to refill
    /// (<see cref="HedgeBudget.Refilled"/>) rather than for the deadline: the calls stuck on a frozen frontend after a
    /// burst get their copies as the client's new calls earn them.
    /// Each copy carries what is left of the deadline. The first answer wins (a prediction is idempotent; at worst a
    /// query is served twice); an error ends the call only when no other copy is out.
    /// </summary>
    private async Task<Prediction> RaceAsync(Task<Prediction> primary, FrontendKeySet keys, int slot, Task? gatewayLost,
        Task? suspected, PredictionRequest request, TimeSpan timeout, long started)
    {
        var hedge = _hedge;
        var primaryFrontend = hedge is null ? null : Volatile.Read(ref keys.Frontends[slot]);
        if (primary.IsCompleted)
        {
            return Answered(primary, keys, slot, isHedge: false, primaryFrontend, started);
        }

        var hedgeAfter = hedge?.Delay.Current ?? TimeSpan.Zero;
        Task? hedgeDue = hedge is null ? null : AsymCdc.Client.HedgeDelay.Timer(hedgeAfter);
        // The common case costs one array and one WhenAny, as a call without a second copy always did: the primary
        // answers before any timer or signal.
        Task? done = await Task.WhenAny(Pending(null, primary, hedgeDue, gatewayLost, suspected, null)).ConfigureAwait(false);
        if (done == primary)
        {
            return Answered(primary, keys, slot, isHedge: false, primaryFrontend, started);
        }

        var copies = new List<(Task<Prediction> Task, int Slot, bool IsHedge)>(3) { (primary, slot, false) };
        // A second copy the budget refused, waiting for the budget to refill.
        var deferred = SecondCopy.None;
        Task? refilled = null;
        while (true)
        {
            var current = done ?? await Task.WhenAny(Pending(copies, primary, hedgeDue, gatewayLost, suspected, refilled)).ConfigureAwait(false);
            done = null;
            if (current == hedgeDue)
            {
                var early = hedgeAfter - Stopwatch.GetElapsedTime(started);
                if (early > TimeSpan.Zero)
                {
                    hedgeDue = AsymCdc.Client.HedgeDelay.Timer(early); // the timer fired before the delay (see HedgeDelay.Timer)
                    continue;
                }

                hedgeDue = null;
                if (copies.Count == 1)
                {
                    Second(SecondCopy.Hedge); // else another copy is already out, on another frontend
                }

                continue;
            }

            if (current == suspected)
            {
                // Some frontend became suspected. If it is this call's, and nothing else is out for it, send it elsewhere
                // now; otherwise wait for the next suspicion.
                suspected = hedge!.Suspicion.NextSuspicion;
                if (copies.Count == 1 && copies[0].Task == primary && hedge.Suspicion.IsSuspected(primaryFrontend, Stopwatch.GetTimestamp()))
                {
                    suspected = null;
                    Second(SecondCopy.OnSuspicion);
                }

                continue;
            }

            if (current == gatewayLost)
            {
                gatewayLost = null;
                Second(SecondCopy.OnGatewayLoss); // whichever copy went through the lost gateway
                continue;
            }

            if (current == refilled)
            {
                refilled = null;
                // Still wanted unless another copy went out meanwhile (a lost gateway's copy is wanted whatever else is out).
                if (deferred == SecondCopy.OnGatewayLoss || (copies.Count == 1 && copies[0].Task == primary))
                {
                    Second(deferred);
                }

                continue;
            }

            var index = 0;
            while (copies[index].Task != current)
            {
                index++;
            }

            var (task, copySlot, isHedge) = copies[index];
            copies.RemoveAt(index);
            if (task.IsCompletedSuccessfully || copies.Count == 0)
            {
                foreach (var other in copies)
                {
                    _ = other.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                        TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }

                return Answered(task, keys, copySlot, isHedge, primaryFrontend, started);
            }

            // This copy failed and another is still out: its answer, or its error, decides.
            _ = task.Exception;
        }

        // Sends the call's second copy if the budget pays for it; else the copy waits for the budget to refill (counted as
        // withheld once per reason). While hedging it goes through another frontend; without, a lost gateway's call goes
        // through its own slot, which the Orleans client now routes through a live gateway.
        void Second(SecondCopy kind)
        {
            if (Stopwatch.GetElapsedTime(started) >= timeout)
            {
                deferred = SecondCopy.None; // too late for any copy: the budget keeps its copies for calls that can use them
                refilled = null;
                return;
            }

            if (!_budget.TrySpend())
            {
                if (deferred != kind)
                {
                    Interlocked.Increment(ref _hedgesWithheld);
                    ClientInstruments.Hedges.Add(1, ClientInstruments.Withheld);
                }

                deferred = kind;
                refilled = _budget.Refilled;
                return;
            }

            deferred = SecondCopy.None;
            refilled = null;
            var target = hedge is null ? slot : HedgeSlot(keys, slot, primaryFrontend, Stopwatch.GetTimestamp());
            if (!SendCopy(copies, keys, target, isHedge: kind == SecondCopy.Hedge, request, timeout, started))
            {
                return;
            }

            switch (kind)
            {
                case SecondCopy.Hedge:
                    Interlocked.Increment(ref _hedged);
                    ClientInstruments.Hedges.Add(1, ClientInstruments.Sent);
                    break;
                case SecondCopy.OnSuspicion:
                    Interlocked.Increment(ref _resentOnSuspicion);
                    ClientInstruments.Resends.Add(1, ClientInstruments.FrontendSuspected);
                    break;
                default:
                    Interlocked.Increment(ref _resent);
                    ClientInstruments.Resends.Add(1, ClientInstruments.GatewayLost);
                    break;
            }
        }
    }

    /// <summary>Why a call gets a second copy.</summary>
    private enum SecondCopy
    {
        None,
        Hedge,
        OnSuspicion,
        OnGatewayLoss,
    }

    /// <summary>What a call waits on: its copies out (<paramref name="primary"/> alone before there is a list), then the
    /// hedge timer and the signals still armed.</summary>
    private static Task[] Pending(List<(Task<Prediction> Task, int Slot, bool IsHedge)>? copies, Task<Prediction> primary,
        Task? hedgeDue, Task? gatewayLost, Task? suspected, Task? refilled)
    {
        var tasks = new Task[(copies?.Count ?? 1) + (hedgeDue is null ? 0 : 1) + (gatewayLost is null ? 0 : 1) + (suspected is null ? 0 : 1)
            + (refilled is null ? 0 : 1)];
        var i = 0;
        if (copies is null)
        {
            tasks[i++] = primary;
        }
        else
        {
            foreach (var copy in copies)
            {
                tasks[i++] = copy.Task;
            }
        }

        foreach (var armed in (ReadOnlySpan<Task?>)[hedgeDue, gatewayLost, suspected, refilled])
        {
            if (armed is not null)
            {
                tasks[i++] = armed;
            }
        }

        return tasks;
    }

    /// <summary>Sends one more copy of a call through <paramref name="slot"/> with what is left of its deadline and adds
    /// it to <paramref name="copies"/>; false when nothing is left or the client cannot send now.</summary>
    private bool SendCopy(List<(Task<Prediction> Task, int Slot, bool IsHedge)> copies, FrontendKeySet keys, int slot, bool isHedge,
        PredictionRequest request, TimeSpan timeout, long started)
    {
        var left = timeout - Stopwatch.GetElapsedTime(started);
        if (left <= TimeSpan.Zero)
        {
            return false;
        }

        try
        {
            copies.Add((Reference(keys, slot).PredictAsync(request with { Timeout = left }).AsTask(), slot, isHedge));
            return true;
        }
        catch (Exception e) when (IsTransportFailure(e))
        {
            return false;
        }
    }

    /// <summary>The result of the copy that ended the call (its exception rethrown if it failed); while hedging, what the
    /// answer teaches: the slot's frontend, that frontend's liveness, the latency, and a suspicion when a hedge won.</summary>
    private Prediction Answered(Task<Prediction> copy, FrontendKeySet keys, int slot, bool isHedge, string? primaryFrontend, long started)
    {
        var prediction = copy.GetAwaiter().GetResult();
        if (_hedge is not { } hedge)
        {
            return prediction;
        }

        var now = Stopwatch.GetTimestamp();
        if (prediction.Frontend is { } frontend)
        {
            if (!string.Equals(Volatile.Read(ref keys.Frontends[slot]), frontend, StringComparison.Ordinal))
            {
                Volatile.Write(ref keys.Frontends[slot], frontend);
            }

            hedge.Suspicion.Answered(frontend, started, now);
        }

        hedge.Delay.Record(Stopwatch.GetElapsedTime(started, now));
        if (isHedge)
        {
            Interlocked.Increment(ref _hedgeWins);
            ClientInstruments.Hedges.Add(1, ClientInstruments.Won);
            // A hedge answered by the primary's own frontend shows that frontend alive (one frontend, or nothing known).
            if (!string.Equals(prediction.Frontend, primaryFrontend, StringComparison.Ordinal)
                && hedge.Suspicion.HedgeWon(primaryFrontend, started, now) == SuspicionChange.New)
            {
                ClientInstruments.FrontendSuspicions.Add(1);
                LogFrontendSuspected(_logger, primaryFrontend!, Stopwatch.GetElapsedTime(started, now).TotalMilliseconds,
                    prediction.Frontend ?? "?", hedge.Policy.SuspectProbation.TotalMilliseconds);
            }
        }

        return prediction;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Frontend {Frontend} answered nothing since a call sent {ElapsedMs:0.0} ms ago, which its hedge through {Other} answered; "
        + "new calls avoid it for {ProbationMs:0} ms and the calls out through it are sent again")]
    private static partial void LogFrontendSuspected(ILogger logger, string frontend, double elapsedMs, string other, double probationMs);

    /// <summary>A client's hedging state: the policy, the delay, the budget and the frontends it suspects.</summary>
    private sealed class Hedge
    {
        public Hedge(ClientHedging policy)
        {
            policy.Validate();
            Policy = policy;
            Delay = new HedgeDelay(policy);
            Suspicion = new FrontendSuspicion(policy.SuspectProbation);
        }

        public ClientHedging Policy { get; }

        public HedgeDelay Delay { get; }

        public FrontendSuspicion Suspicion { get; }
    }

    public TimeSpan DefaultTimeout { get; } = defaultTimeout ?? TimeSpan.FromSeconds(5);

    public TimeSpan ClientGrace { get; } = clientGrace ?? TimeSpan.FromSeconds(1);
}
