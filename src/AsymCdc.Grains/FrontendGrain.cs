using AsymCdc.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.GrainDirectory;

namespace AsymCdc.Grains;

/// <summary>
/// The entry grain: validates a request, applies admission control, routes it to a parity-group shard for its mode
/// and k, and enforces the overall deadline. When the silo hosting the shard dies mid-call it retries once on another
/// shard (predictions are idempotent). A stateless worker: it runs on the gateway silo the client called.
/// </summary>
[StatelessWorker]
[GrainDirectory(PlacementOnlyDirectory.Name)]
[Reentrant]
public sealed partial class FrontendGrain(
    IOptions<ServingOptions> options,
    AdmissionControl admission,
    IModelCatalog models,
    ServingInstruments instruments,
    TimeProvider time,
    ILocalSiloDetails silo,
    ILogger<FrontendGrain> logger) : Grain, IFrontendGrain
{
    private static int s_shardCursor;
    private readonly ServingOptions _options = options.Value;

    /// <summary>This silo, as every answer names it (<see cref="Prediction.Frontend"/>): a client that hedges learns from
    /// it which gateway each of its frontend keys enters, so that a hedge goes to another.</summary>
    private readonly string _frontend = silo.SiloAddress.ToParsableString();

    // Orleans resolves a grain interface by reflection on every GetGrain (custom attributes, type-name formatting):
    // measurable on a path taken by every query. References are immutable, so each shard's is made once.
    private readonly Dictionary<(ServingMode Mode, int Shard), IParityGroupGrain> _groups = [];

    public ValueTask PingAsync() => ValueTask.CompletedTask;

    public async ValueTask<Prediction> PredictAsync(PredictionRequest request)
    {
        var started = time.GetTimestamp();
        ServingMode mode;
        try
        {
            RequestValidator.Validate(request);
            mode = request.Mode ?? _options.ParsedDefaultMode;
            EnsureServable(mode);
        }
        catch (PredictionException e)
        {
            instruments.Rejected(e.Code);
            throw;
        }

        if (admission.TryEnter() is { } refused)
        {
            instruments.Rejected(refused.Code);
            throw refused;
        }

        try
        {
            var timeout = request.Timeout ?? _options.RequestTimeout;
            var deadline = time.GetUtcNow().UtcDateTime + timeout;
            var query = new GroupQuery(request.Input, request.Model, deadline);
            var shard = (int)((uint)Interlocked.Increment(ref s_shardCursor) % (uint)_options.GroupShards);
            Prediction prediction;
            try
            {
                prediction = await CallGroupAsync(mode, shard, query, timeout);
            }
            catch (Exception e) when (IsSiloLoss(e) && time.GetUtcNow().UtcDateTime < deadline)
            {
                var retryShard = (shard + 1) % _options.GroupShards;
                LogRetrying(logger, mode.ToName(), shard, retryShard, e.GetBaseException().Message);
                prediction = await CallGroupAsync(mode, retryShard, query, timeout);
            }

            return prediction with { LatencyMs = time.GetElapsedTime(started).TotalMilliseconds, Frontend = _frontend };
        }
        catch (PredictionException e) when (e.Code == PredictionErrorCode.DeadlineExceeded)
        {
            instruments.Lost(mode);
            throw;
        }
        catch (Exception e) when (e is not PredictionException)
        {
            // Never leak a runtime exception: name what happened and whether a retry may help.
            throw new PredictionException(PredictionErrorCode.Unavailable,
                $"the cluster could not serve this {mode.ToName()} query ({e.GetType().Name}: {e.GetBaseException().Message}); the query may be retried", e);
        }
        finally
        {
            admission.Exit();
        }
    }

    private async Task<Prediction> CallGroupAsync(ServingMode mode, int shard, GroupQuery query, TimeSpan timeout)
    {
        if (!_groups.TryGetValue((mode, shard), out var group))
        {
            group = GrainFactory.GetGrain<IParityGroupGrain>(ParityGroupKey.Format(mode, _options.K, shard));
            _groups[(mode, shard)] = group;
        }

        var remaining = query.DeadlineUtc - time.GetUtcNow().UtcDateTime;
        try
        {
            return await group.PredictAsync(query).AsTask().WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, time);
        }
        catch (TimeoutException)
        {
            throw new PredictionException(PredictionErrorCode.DeadlineExceeded,
                $"no answer within the request's deadline of {timeout.TotalMilliseconds:0} ms ({mode.ToName()}, k = {_options.K}); the query may be retried");
        }
    }

    /// <summary>A coded mode needs its parity model; ParM has none for k = 3.</summary>
    private void EnsureServable(ServingMode mode)
    {
        if (mode == ServingMode.Parm && !models.Contains(ServingModels.Parm(_options.K)))
        {
            throw new PredictionException(PredictionErrorCode.UnknownModel,
                $"mode 'parm' needs the parity model '{ServingModels.Parm(_options.K)}', which is not in the model repository; "
                + "ParM parity models exist for k = 2 and 4 (set AsymCdc:Serving:K) or choose another mode");
        }
    }

    private static bool IsSiloLoss(Exception e) => e is SiloUnavailableException or OrleansMessageRejectionException
        || e.GetBaseException() is SiloUnavailableException or OrleansMessageRejectionException;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Parity group {Mode} shard {Shard} lost its silo ({Reason}); retrying on shard {RetryShard}")]
    private static partial void LogRetrying(ILogger logger, string mode, int shard, int retryShard, string reason);
}
