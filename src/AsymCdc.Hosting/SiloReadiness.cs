using AsymCdc.Inference;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>Ready = the models are loaded and warmed, this silo is an active member of the cluster, and (a frontend of a
/// silo process) it has served its warm-up queries or calls (<see cref="FrontendWarmup"/>, <see cref="WorkerWarmup"/>).
/// The check logs each change of its answer once (ASP.NET's health-check service would log every probe that finds the
/// silo still warming at error level; the shipped configuration leaves that to this log).</summary>
public sealed partial class SiloReadiness(ModelRepository models, IClusterMembershipService membership, ILocalSiloDetails silo,
    FrontendWarmup? warmup = null, WorkerWarmup? workerWarmup = null, ILogger<SiloReadiness>? logger = null) : IHealthCheck
{
    private int _last = (int)State.Unknown;

    public bool ModelsWarm => models.IsWarm;

    public bool Joined => membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress) == SiloStatus.Active;

    public bool ServingPathWarm => (warmup?.Done ?? true) && (workerWarmup?.Done ?? true);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var (state, result) = (ModelsWarm, Joined, ServingPathWarm) switch
        {
            (true, true, true) => (State.Ready, HealthCheckResult.Healthy($"models warm, silo {silo.SiloAddress} active")),
            (false, _, _) => (State.ModelsWarming, HealthCheckResult.Unhealthy("models are still loading or warming up")),
            (_, false, _) => (State.NotJoined, HealthCheckResult.Unhealthy($"silo {silo.SiloAddress} has not joined the cluster yet")),
            _ => (State.ServingPathWarming, HealthCheckResult.Unhealthy("the silo is serving its warm-up queries or calls")),
        };
        var last = (State)Interlocked.Exchange(ref _last, (int)state);
        if (last != state && logger is not null)
        {
            if (state == State.Ready)
            {
                LogReady(logger, silo.SiloAddress, result.Description!);
            }
            else if (last == State.Ready)
            {
                LogNoLongerReady(logger, silo.SiloAddress, result.Description!);
            }
            else
            {
                LogNotReady(logger, silo.SiloAddress, result.Description!);
            }
        }

        return Task.FromResult(result);
    }

    private enum State
    {
        Unknown,
        ModelsWarming,
        NotJoined,
        ServingPathWarming,
        Ready,
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} is ready: {Why}")]
    private static partial void LogReady(ILogger logger, SiloAddress silo, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} is not ready yet: {Why}")]
    private static partial void LogNotReady(ILogger logger, SiloAddress silo, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} is no longer ready: {Why}")]
    private static partial void LogNoLongerReady(ILogger logger, SiloAddress silo, string why);
}
