using AsymCdc.Abstractions;

namespace AsymCdc.Gateway;

/// <summary>
/// The prediction path every protocol shares: one <see cref="IFrontendGrain.PredictAsync"/> per item of a validated
/// <see cref="InferRequest"/>, all at once (the frontend forms parity groups across callers, so a batch must not be
/// serialised here), the answers in request order. A batch fails as a whole with the failure that tells the caller
/// most (<see cref="GatewayError.MostTelling"/>); each protocol maps it to its own status.
/// </summary>
internal sealed class PredictionFanOut(IGrainFactory grains, GatewayInstruments instruments)
{
    public async Task<FanOutResult> PredictAsync(ServedModel model, InferRequest request)
    {
        // Any key works; the frontend is stateless.
        var frontend = grains.GetGrain<IFrontendGrain>(0);
        var calls = new Task<Prediction>[request.Images.Length];
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i] = PredictAsync(frontend, new PredictionRequest(new Tensor(request.Images[i], model.Input.TensorShape), model.ClusterModelName, request.Mode, request.Timeout));
        }

        try
        {
            await Task.WhenAll(calls);
        }
        catch
        {
            return new FanOutResult(null, DecisiveFailure(calls));
        }

        var predictions = new Prediction[calls.Length];
        for (var i = 0; i < calls.Length; i++)
        {
            predictions[i] = calls[i].Result;
            instruments.RecordPrediction(predictions[i].ServedBy);
            if (predictions[i].Logits.Length != model.Classes)
            {
                // The catalogue and the cluster disagree about the model: a server fault, never the caller's.
                return new FanOutResult(null, new InvalidOperationException(
                    $"model '{model.Name}' answered {predictions[i].Logits.Length} logits; its registration declares {model.Classes}"));
            }
        }

        return new FanOutResult(predictions, null);
    }

    /// <summary>Turns a call that throws before returning (e.g. a disconnected client) into a failed task,
    /// so one bad call cannot leave the others of the batch unobserved.</summary>
    private static async Task<Prediction> PredictAsync(IFrontendGrain frontend, PredictionRequest request) =>
        await frontend.PredictAsync(request);

    private static Exception DecisiveFailure(Task<Prediction>[] calls)
    {
        var failures = new List<Exception>();
        foreach (var call in calls)
        {
            if (call.IsFaulted)
            {
                failures.Add(call.Exception!.InnerException ?? call.Exception);
            }
            else if (call.IsCanceled)
            {
                failures.Add(new TimeoutException("the prediction was cancelled"));
            }
        }

        return GatewayError.MostTelling(failures);
    }
}

/// <summary>The answers in request order, or the one failure the whole batch reports.</summary>
internal readonly record struct FanOutResult(Prediction[]? Predictions, Exception? Failure);
