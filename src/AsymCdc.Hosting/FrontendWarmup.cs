using System.Diagnostics;
using AsymCdc.Abstractions;
using AsymCdc.Grains;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>
/// Once a frontend silo is active, it serves a few queries of its own (a blank image, in the default mode) through
/// its own frontend grain, parity groups and the live workers, before clients are sent to it. A restarted frontend's
/// first client calls would otherwise pay for everything its serving path does once: compiling it, activating the
/// frontend and parity-group grains, building the worker view, opening a connection to each worker silo, and (at the
/// first miss) activating the decoder and building its decoders, which it rehearses with blank answers for every coded
/// mode and group size (about 110 ms together on 16 cores without it). Readiness (<see cref="SiloReadiness"/>) waits
/// for it.
/// </summary>
/// <remarks>
/// It runs at <see cref="ServiceLifecycleStage.Active"/>, the stage at which Orleans' gateway starts accepting clients,
/// because worker silos take calls only from an active silo; a client that connects within these milliseconds waits
/// for the same cold path it would have taken anyway. Best effort: a cluster with no live worker yet (the first
/// frontend of a new cluster) answers <see cref="PredictionErrorCode.Unavailable"/>, which ends the warm-up, and the
/// silo serves regardless. The queries are ordinary ones and appear in the serving metrics.
/// </remarks>
public sealed partial class FrontendWarmup(
    IGrainFactory grains,
    IModelCatalog models,
    IOptions<ServingOptions> serving,
    IOptions<SiloOptions> silo,
    WorkerDirectory workers,
    ILogger<FrontendWarmup> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Frontend grain keys of the warm-up: far from the 0-based keys clients rotate over.</summary>
    public const long FirstKey = long.MaxValue - 1024;

    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long the warm-up waits for this silo to learn which of its peers are workers
    /// (<see cref="WorkerDirectory.WhenWorkersKnownAsync"/>).</summary>
    private static readonly TimeSpan ViewLimit = TimeSpan.FromSeconds(5);

    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>True once the warm-up has run (or was skipped, or gave up): the silo may be reported ready.</summary>
    public bool Done => _done.Task.IsCompleted || !Enabled;

    /// <summary>Completes when <see cref="Done"/> turns true (never faults).</summary>
    public Task Completion => Done ? Task.CompletedTask : _done.Task;

    /// <summary>A frontend silo with <see cref="SiloOptions.WarmUpServingPath"/> on.</summary>
    private bool Enabled => silo.Value.WarmUpServingPath && silo.Value.HasRole(SiloRoles.Frontend);

    /// <summary>Warm-up queries answered (each round counts once all of its queries are answered).</summary>
    public int Served { get; private set; }

    /// <summary>Why the warm-up stopped before it served every round (null when it did, or has not stopped).</summary>
    public string? StoppedBecause { get; private set; }

    /// <summary>Blank decodes run by the warm-up (<see cref="RehearseDecodesAsync"/>).</summary>
    public int Decodes { get; private set; }

    public void Participate(ISiloLifecycle lifecycle)
    {
        if (Enabled)
        {
            lifecycle.Subscribe(nameof(FrontendWarmup), ServiceLifecycleStage.Active, Start);
        }
    }

    /// <summary>Not awaited: the silo's start completes at once; readiness follows the warm-up.</summary>
    private Task Start(CancellationToken cancellationToken)
    {
        _ = Task.Run(WarmUpAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Two rounds of k × shards concurrent queries: every shard seals a full group per round, and the groups'
    /// round-robin picks (2 × shards × (k+1) of them) reach every live worker of a small cluster.</summary>
    private async Task WarmUpAsync()
    {
        var options = serving.Value;
        var perRound = Math.Max(1, options.K * options.GroupShards);
        var started = Stopwatch.GetTimestamp();
        var first = TimeSpan.Zero;
        try
        {
            // Active, this silo may not know yet which of its peers are workers (their roles and manifest entries
            // arrive some milliseconds later): a query then would find no worker and end the warm-up unserved.
            var known = await workers.WhenWorkersKnownAsync(ViewLimit, TimeSpan.FromMilliseconds(10));
            LogViewKnown(logger, known.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            for (var round = 0; round < 2; round++)
            {
                // Each served model in its default mode: its groups, and its path through the workers.
                var calls = new List<Task<Prediction>>(perRound * models.Served.Count);
                foreach (var model in models.Served)
                {
                    var blank = Tensor.Flat(Blank(model));
                    for (var i = 0; i < perRound; i++)
                    {
                        var request = new PredictionRequest(blank, model.Name, Timeout: QueryTimeout);
                        calls.Add(grains.GetGrain<IFrontendGrain>(FirstKey + i).PredictAsync(request).AsTask());
                    }
                }

                await Task.WhenAll(calls);
                Served += calls.Count;
                if (round == 0)
                {
                    first = Stopwatch.GetElapsedTime(started);
                }
            }

            Decodes = await RehearseDecodesAsync();
            LogWarmedUp(logger, Served, Decodes, Stopwatch.GetElapsedTime(started).TotalMilliseconds, first.TotalMilliseconds);
        }
        catch (Exception e)
        {
            StoppedBecause = e.GetBaseException().Message;
            LogWarmUpIncomplete(logger, Served, StoppedBecause);
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>
    /// A decode of blank answers (zero logits and feature maps of the classifier's lengths) for each coded mode and
    /// each group size k' = 1..k: the decoder grain's activation, its decoders and their models' paths, which a real
    /// frontend otherwise first runs at its first miss (27 to 41 ms for that query on 16 cores). A mode whose models
    /// are not deployed is skipped.
    /// </summary>
    private async Task<int> RehearseDecodesAsync()
    {
        var decoder = grains.GetGrain<IDecoderGrain>(0);
        var decodes = 0;
        foreach (var model in models.Served)
        {
            var logits = model.OutputLengths[model.LogitsOutput];
            var features = model.FeaturesOutput is { } f ? model.OutputLengths[f] : 0;
            WorkerAnswer Blank() => new(new float[logits], features == 0 ? null : new float[features], "warm-up", Straggled: false);
            foreach (var mode in ServingModes.All.Where(m => m.IsCoded() && model.Missing(m, serving.Value.K) is null))
            {
                for (var k = 1; k <= serving.Value.K; k++)
                {
                    var data = new WorkerAnswer?[k];
                    for (var j = 1; j < k; j++)
                    {
                        data[j] = Blank();
                    }

                    try
                    {
                        await decoder.DecodeAsync(new DecodeCall(mode, k, 0, data, Blank(), model.Name)).AsTask().WaitAsync(QueryTimeout);
                        decodes++;
                    }
                    catch (Exception e) when (e is PredictionException or ArgumentException or InvalidOperationException or KeyNotFoundException)
                    {
                        // This group size cannot be decoded here: it would not serve either.
                    }
                }
            }
        }

        return decodes;
    }

    /// <summary>An input of the model's length, each value 0 clamped into its declared range.</summary>
    private static float[] Blank(Coding.CodedModel model)
    {
        var input = new float[model.InputLength];
        if (model.InputRange is { } range && (range.Min > 0 || range.Max < 0))
        {
            Array.Fill(input, Math.Clamp(0f, range.Min, range.Max));
        }

        return input;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed up the serving path with {Queries} queries and {Decodes} decodes of its own in {ElapsedMs:F0} ms (first round {FirstRoundMs:F0} ms)")]
    private static partial void LogWarmedUp(ILogger logger, int queries, int decodes, double elapsedMs, double firstRoundMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Warm-up: {Workers} live worker silos known after {ElapsedMs:F0} ms")]
    private static partial void LogViewKnown(ILogger logger, int workers, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving-path warm-up stopped after {Queries} queries ({Reason}); the silo serves anyway")]
    private static partial void LogWarmUpIncomplete(ILogger logger, int queries, string reason);
}
