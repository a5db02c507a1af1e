using System.Diagnostics;
using AsymCdc.Abstractions;
using AsymCdc.Coding;
using Orleans.Concurrency;
using Orleans.GrainDirectory;

namespace AsymCdc.Grains;

/// <summary>
/// One model instance on one gpu-worker silo (its key names the silo). Stateless; reentrant so that concurrent calls
/// reach the inference layer's micro-batcher together. Runs a served classifier (logits, and the features its decoders
/// read) or, for ParM parity calls, its parity model. Injected stragglers are delayed here, where a real slow node would be slow.
/// </summary>
[Reentrant]
[KeyedSiloPlacement]
[GrainDirectory(PlacementOnlyDirectory.Name)]
public sealed class ModelWorkerGrain(IModelCatalog models, StragglerInjector stragglers, SiloActivity activity, TimeProvider time)
    : Grain, IModelWorkerGrain
{
    public async ValueTask<WorkerAnswer> RunAsync(WorkerCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (!models.Contains(call.Model))
        {
            // The caller's repository has it and this silo's does not: a rollout onto a new repository in progress.
            // NotStarted: nothing ran, and the caller's worker directory passes this silo over for the model from now on.
            throw new PredictionException(PredictionErrorCode.Unavailable,
                $"worker silo {this.GetPrimaryKeyString()} does not load model '{call.Model}' (its model repository differs from the caller's: "
                + "a rollout in progress?); another worker can serve it, so the query may be retried") { NotStarted = true };
        }

        var model = models.Get(call.Model);
        if (call.Input.Length != model.InputLength)
        {
            throw new PredictionException(PredictionErrorCode.InvalidInput,
                $"model '{call.Model}' takes {model.InputLength} floats per item but the call carried {call.Input.Length}");
        }

        activity.Enter();
        try
        {
            return await RunCoreAsync(call, model);
        }
        finally
        {
            activity.Exit();
        }
    }

    private async ValueTask<WorkerAnswer> RunCoreAsync(WorkerCall call, IModelFunction model)
    {
        using var span = ServingTelemetry.Source.StartActivity(ServingTelemetry.InferenceSpan, ActivityKind.Internal);
        span?.SetTag("asymcdc.model", call.Model);
        span?.SetTag("asymcdc.silo", this.GetPrimaryKeyString());
        var delay = stragglers.NextDelay();
        span?.SetTag("asymcdc.injected_delay_ms", delay.TotalMilliseconds);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, time);
        }

        var outputs = await (call.Parity ? model.RunParityAsync(call.Input, 1) : model.RunAsync(call.Input, 1));
        // A served classifier answers its logits, and the output its decoders read where the mode decodes from it
        // (the fmnist feature map is 784 floats against 10 logits); a parity model its only output.
        if (models.FindServed(call.Model) is { } served && served.Name == call.Model)
        {
            return new WorkerAnswer(outputs[served.LogitsOutput],
                served.FeaturesOutput is { } f && call.Mode.DecodesFromFeatures() ? outputs[f] : null,
                this.GetPrimaryKeyString(), delay > TimeSpan.Zero);
        }

        return new WorkerAnswer(outputs[0], null, this.GetPrimaryKeyString(), delay > TimeSpan.Zero);
    }
}
