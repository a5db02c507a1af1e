using Orleans.Runtime;

namespace AsymCdc.Grains;

public sealed partial class ParityGroupGrain
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Group {GroupId}: member {Index} on {Silo} {How}; decoding when the others are in")]
    private static partial void LogMemberMissed(ILogger logger, long groupId, int index, SiloAddress silo, string how);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {GroupId}: member {Index} lost, neither its answer nor a reconstruction is possible: {Reason}")]
    private static partial void LogMemberLost(ILogger logger, long groupId, int index, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {GroupId}: decoding member {Index} failed; waiting for its own answer")]
    private static partial void LogDecodeFailed(ILogger logger, Exception exception, long groupId, int index);

    [LoggerMessage(Level = LogLevel.Error, Message = "The {Mode} serving policy failed on a callback")]
    private static partial void LogPolicyFailed(ILogger logger, Exception exception, string mode);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Group}: auto {Why}")]
    private static partial void LogAutoCoder(ILogger logger, string group, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Group}: auto now serves new queries with {Mode}: {Why}")]
    private static partial void LogAutoChose(ILogger logger, string group, string mode, string why);
}
