namespace AsymCdc.Abstractions;

/// <summary>The entry point services call through the Orleans client. Stateless; any key works.</summary>
[Alias("asymcdc.IFrontendGrain")]
public interface IFrontendGrain : IGrainWithIntegerKey
{
    /// <summary>Answers one query with its own answer, a reconstruction, or a <see cref="PredictionException"/>
    /// before the request's deadline; never hangs.</summary>
    [Alias("Predict")]
    ValueTask<Prediction> PredictAsync(PredictionRequest request);

    /// <summary>Answers at once. A client sends it on a fresh frontend key before the key carries queries, so that the
    /// gateway connection and the frontend activation it routes to are set up by the ping, not by a query.</summary>
    [Alias("Ping")]
    ValueTask PingAsync();
}
