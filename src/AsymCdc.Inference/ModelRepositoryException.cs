namespace AsymCdc.Inference;

/// <summary>The model repository or one of its models cannot be used: a missing folder or model, a
/// corrupt ONNX file, a config.json that disagrees with the graph, an unavailable execution provider.
/// The message names the model (where there is one) and what to do.</summary>
public sealed class ModelRepositoryException : Exception
{
    public ModelRepositoryException(string message, string? modelName = null, Exception? innerException = null)
        : base(message, innerException) => ModelName = modelName;

    /// <summary>The model concerned, or null for a repository-wide problem.</summary>
    public string? ModelName { get; }
}

/// <summary>A call to a model carried input it cannot run: wrong length, a non-finite value, a batch
/// above the model's <c>max_batch_size</c>. The message names the model and the problem.</summary>
public sealed class InvalidModelInputException : ArgumentException
{
    public InvalidModelInputException(string modelName, string message)
        : base(message) => ModelName = modelName;

    /// <summary>The model that refused the input.</summary>
    public string ModelName { get; }
}
