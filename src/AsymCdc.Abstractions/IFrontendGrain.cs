namespace AsymCdc.Abstractions;

/// <summary>The entry point services call through the Orleans client. Stateless; any key works.</summary>
[Alias("asymcdc.IFrontendGrain")]
public interface IFrontendGrain : IGrainWithIntegerKey
{
    /// <summary>Answers one query with its own answer, a reconstruction, or a <see cref="PredictionException"/>
    /// before the request's deadline; never hangs.</summary>
    [Alias("Predict")]
    ValueTask<Prediction> PredictAsync(PredictionRequest request);
}
