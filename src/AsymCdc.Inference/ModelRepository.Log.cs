using Microsoft.Extensions.Logging;

namespace AsymCdc.Inference;

public sealed partial class ModelRepository
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Loaded model {Model} ({Role}) from {Path} on {Provider} in {ElapsedMs:F0} ms")]
    private static partial void LogModelLoaded(ILogger logger, string model, ModelRole role, string path, string provider, double elapsedMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Warmed up {Count} model(s) in {ElapsedMs:F0} ms")]
    private static partial void LogWarmedUp(ILogger logger, int count, double elapsedMs);
}
