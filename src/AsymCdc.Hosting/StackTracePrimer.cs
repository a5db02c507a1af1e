using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>
/// Renders one exception's stack trace while the silo starts. The first stack trace a .NET process renders with file
/// and line numbers loads the portable-PDB reader: about 30 ms of CPU (measured; each further module's symbols cost
/// about 3 ms). Without this, that cost falls on the moment a peer silo dies, when every surviving silo logs its first
/// connection exception at once: on a shared machine, a stall of the whole cluster exactly when it should be decoding
/// around the loss (seen in the chaos drill as a burst of 40–90 ms answers right after the kill).
/// </summary>
internal sealed partial class StackTracePrimer(ILogger<StackTracePrimer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            // Thrown inside Orleans.Core, whose frames the connection errors of a dead peer are made of.
            SiloAddress.FromParsableString("not a silo address");
        }
        catch (Exception e)
        {
            _ = e.ToString();
        }

        LogPrimed(logger, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Primed stack-trace rendering in {ElapsedMs:F1} ms")]
    private static partial void LogPrimed(ILogger logger, double elapsedMs);
}
