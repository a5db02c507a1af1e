using Microsoft.Extensions.Logging;

namespace AsymCdc.Inference;

public sealed partial class OnnxModelFunction
{
    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Model {Model} failed to run a batch of {Calls} call(s), {Rows} item(s)")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string model, int calls, int rows);
}
