using AsymCdc.Grains;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AsymCdc.Hosting;

/// <summary>Graceful shutdown of a frontend silo: stop admitting, then wait up to <see cref="SiloOptions.DrainTimeout"/>
/// for the queries in flight before the silo stops. It drains in <see cref="IHostedLifecycleService.StoppingAsync"/>, which the
/// host runs before any service's StopAsync, so the silo is still fully up while the drain lasts.</summary>
internal sealed partial class FrontendDrain(
    AdmissionControl admission,
    IOptions<SiloOptions> options,
    TimeProvider time,
    ILogger<FrontendDrain> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var inFlight = admission.InFlight;
        LogDraining(logger, inFlight, options.Value.DrainTimeout.TotalSeconds);
        var drained = await admission.DrainAsync(options.Value.DrainTimeout, time);
        if (!drained)
        {
            LogDrainTimedOut(logger, admission.InFlight);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining {InFlight} queries in flight (up to {Seconds} s) before the silo stops")]
    private static partial void LogDraining(ILogger logger, int inFlight, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain timed out with {InFlight} queries still in flight")]
    private static partial void LogDrainTimedOut(ILogger logger, int inFlight);
}
