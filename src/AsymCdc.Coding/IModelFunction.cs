namespace AsymCdc.Coding;

/// <summary>
/// A batched model graph as the coding layer sees it: a pure function from <c>count</c> items of
/// <see cref="InputLength"/> floats to one array per declared output. The inference layer implements
/// it with ONNX Runtime; the coding layer never sees ONNX.
/// </summary>
public interface IModelFunction
{
    /// <summary>The model-repository name, e.g. <c>fmnist-inn</c>.</summary>
    string Name { get; }

    /// <summary>Floats per item of the (single) input.</summary>
    int InputLength { get; }

    /// <summary>Floats per item of each output, in the graph's declared order.</summary>
    IReadOnlyList<int> OutputLengths { get; }

    /// <summary>Runs <paramref name="count"/> items laid out back to back in <paramref name="inputs"/>;
    /// returns one array per output of length <c>count * OutputLengths[o]</c>.</summary>
    ValueTask<float[][]> RunAsync(ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken = default);

    /// <summary>Runs a parity query: the same function, but a runtime may queue it apart from data queries so that it
    /// never delays them (its answer matters only when a data answer is late).</summary>
    ValueTask<float[][]> RunParityAsync(ReadOnlyMemory<float> inputs, int count, CancellationToken cancellationToken = default)
        => RunAsync(inputs, count, cancellationToken);
}
