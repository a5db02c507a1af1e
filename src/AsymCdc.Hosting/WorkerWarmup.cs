using System.Diagnostics;
using AsymCdc.Abstractions;
using AsymCdc.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>
/// Once a worker silo is active, it calls its own model-worker grain with blank inputs, every model it serves, for
/// <see cref="Duration"/> (and at least <see cref="MinCalls"/> calls), before it reports ready. A new worker's first
/// data calls would otherwise run the grain and inference path cold: activation, then tier-0 code until the JIT has
/// recompiled the hot methods, which on a node whose CPU is taken by serving (or capped by its limit) takes seconds,
/// during which its answers are slow enough to be passed over as a slow worker. Scaling out is then a net gain at
/// once. Best effort, like <see cref="FrontendWarmup"/>: the silo serves regardless.
/// </summary>
public sealed partial class WorkerWarmup(
    IGrainFactory grains,
    IModelCatalog models,
    ILocalSiloDetails local,
    WorkerDirectory workers,
    IOptions<Orleans.Runtime.MembershipService.SiloMetadata.SiloMetadata> metadata,
    IOptions<SiloOptions> silo,
    ILogger<WorkerWarmup> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>How long the warm-up keeps calling: long enough for the runtime to recompile the hot path at tier 1
    /// (its call counting starts 100 ms after the last tier-0 compilation).</summary>
    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(1);

    public const int MinCalls = 256;

    private const int Wave = 8;

    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ViewLimit = TimeSpan.FromSeconds(5);

    /// <summary>The longest the warm-up goes on (a silo on a busy machine may not reach <see cref="MinCalls"/> sooner).</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>True once the warm-up has run (or was skipped, or gave up): the silo may be reported ready.</summary>
    public bool Done => _done.Task.IsCompleted || !Enabled;

    /// <summary>Warm-up calls answered.</summary>
    public int Calls { get; private set; }

    private bool Enabled => silo.Value.WarmUpServingPath && silo.Value.HasRole(SiloRoles.GpuWorker);

    public void Participate(ISiloLifecycle lifecycle)
    {
        if (Enabled)
        {
            lifecycle.Subscribe(nameof(WorkerWarmup), ServiceLifecycleStage.Active, cancellationToken =>
            {
                _ = Task.Run(WarmUpAsync, CancellationToken.None);
                return Task.CompletedTask;
            });
        }
    }

    private async Task WarmUpAsync()
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var self = local.SiloAddress;
            // The role this silo publishes (a host may add roles beyond its options, as the test hosts do).
            if (!metadata.Value.Metadata.ContainsKey(SiloRoles.MetadataKey(SiloRoles.GpuWorker)))
            {
                return;
            }

            // The keyed placement puts the grain here only once this silo's own view lists it as an active worker.
            while (!workers.IsActiveWorker(self) && Stopwatch.GetElapsedTime(started) < ViewLimit)
            {
                await Task.Delay(10);
            }

            // Every served classifier and its parity models: whatever a data or parity call may run here.
            var served = models.Served.SelectMany(m => m.Parity.Values.Prepend(m.Name))
                .Select(name => (Name: name, Input: new float[models.Get(name).InputLength])).ToArray();
            var worker = grains.GetGrain<IModelWorkerGrain>(self.ToParsableString());
            while (served.Length > 0 && (Stopwatch.GetElapsedTime(started) < Duration || Calls < MinCalls) && Stopwatch.GetElapsedTime(started) < Limit)
            {
                var wave = new Task[Wave];
                for (var i = 0; i < Wave; i++)
                {
                    var (name, input) = served[(Calls + i) % served.Length];
                    wave[i] = worker.RunAsync(new WorkerCall(name, input, ServingMode.None)).AsTask().WaitAsync(CallTimeout);
                }

                await Task.WhenAll(wave);
                Calls += Wave;
            }

            LogWarmedUp(logger, Calls, served.Length, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e)
        {
            LogWarmUpIncomplete(logger, Calls, e.GetBaseException().Message);
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed up the worker path with {Calls} calls of its own over {Models} model(s) in {ElapsedMs:F0} ms")]
    private static partial void LogWarmedUp(ILogger logger, int calls, int models, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker warm-up stopped after {Calls} calls ({Reason}); the silo serves anyway")]
    private static partial void LogWarmUpIncomplete(ILogger logger, int calls, string reason);
}
