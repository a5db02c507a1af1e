using AsymCdc.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.GrainDirectory;

namespace AsymCdc.Grains;

/// <summary>
/// The entry grain: validates a request (the trust boundary for Orleans clients), applies admission control, turns its
/// timeout into the deadline the query carries, and routes it to a parity-group shard for its model, mode and k,
/// which enforces that deadline. A request that names no mode gets the cluster's default where its model supports it,
/// else hedged (<see cref="ServedModelModes.DefaultFor"/>). A stateless worker: it runs on the gateway silo the client
/// called, and so do its shards.
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
    private readonly Dictionary<(string Model, ServingMode Mode, int Shard), IParityGroupGrain> _groups = [];

    public ValueTask PingAsync() => ValueTask.CompletedTask;

    public async ValueTask<Prediction> PredictAsync(PredictionRequest request)
    {
        var started = time.GetTimestamp();
        ServingMode mode;
        Coding.CodedModel model;
        try
        {
            model = RequestValidator.Validate(request, models.Served);
            mode = request.Mode ?? model.DefaultFor(_options.ParsedDefaultMode, _options.K);
            model.EnsureSupports(mode, _options.K);
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
            var query = new GroupQuery(request.Input.Data, model.Name, deadline);
            var shard = (int)((uint)Interlocked.Increment(ref s_shardCursor) % (uint)_options.GroupShards);
            var prediction = await Group(model.Name, mode, shard).PredictAsync(query);
            return prediction with { LatencyMs = time.GetElapsedTime(started).TotalMilliseconds, Frontend = _frontend };
        }
        catch (PredictionException e) when (e.Code == PredictionErrorCode.DeadlineExceeded)
        {
            instruments.Lost(model.Name, mode);
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

    private IParityGroupGrain Group(string model, ServingMode mode, int shard)
    {
        if (!_groups.TryGetValue((model, mode, shard), out var group))
        {
            group = GrainFactory.GetGrain<IParityGroupGrain>(ParityGroupKey.Format(model, mode, _options.K, shard));
            _groups[(model, mode, shard)] = group;
        }

        return group;
    }
}
