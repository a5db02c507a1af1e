using AsymCdc.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.GrainDirectory;

namespace AsymCdc.Grains;

/// <summary>
/// The entry grain: validates a request (the trust boundary for Orleans clients), applies admission control, turns its
/// timeout into the deadline the query carries, and routes it to a parity-group shard for its mode and k, which
/// enforces that deadline. A stateless worker: it runs on the gateway silo the client called, and so do its shards.
/// </summary>
[StatelessWorker]
[GrainDirectory(PlacementOnlyDirectory.Name)]
[Reentrant]
public sealed class FrontendGrain(
    IOptions<ServingOptions> options,
    AdmissionControl admission,
    SiloActivity activity,
    IModelCatalog models,
    ServingInstruments instruments,
    TimeProvider time,
    ILocalSiloDetails silo) : Grain, IFrontendGrain
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

        activity.Enter();
        try
        {
            var timeout = request.Timeout ?? _options.RequestTimeout;
            var deadline = time.GetUtcNow().UtcDateTime + timeout;
            var query = new GroupQuery(request.Input, request.Model, deadline);
            var shard = (int)((uint)Interlocked.Increment(ref s_shardCursor) % (uint)_options.GroupShards);
            var prediction = await Group(mode, shard).PredictAsync(query);
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
            activity.Exit();
            admission.Exit();
        }
    }

    private IParityGroupGrain Group(ServingMode mode, int shard)
    {
        if (!_groups.TryGetValue((mode, shard), out var group))
        {
            group = GrainFactory.GetGrain<IParityGroupGrain>(ParityGroupKey.Format(mode, _options.K, shard));
            _groups[(mode, shard)] = group;
        }

        return group;
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
}
