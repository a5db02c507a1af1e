using AsymCdc.Inference;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>Ready = the models are loaded and warmed, this silo is an active member of the cluster, and (a frontend of a
/// silo process) it has served its warm-up queries or calls (<see cref="FrontendWarmup"/>, <see cref="WorkerWarmup"/>).</summary>
public sealed class SiloReadiness(ModelRepository models, IClusterMembershipService membership, ILocalSiloDetails silo,
    FrontendWarmup? warmup = null, WorkerWarmup? workerWarmup = null) : IHealthCheck
{
    public bool ModelsWarm => models.IsWarm;

    public bool Joined => membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress) == SiloStatus.Active;

    public bool ServingPathWarm => (warmup?.Done ?? true) && (workerWarmup?.Done ?? true);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult((ModelsWarm, Joined, ServingPathWarm) switch
        {
            (true, true, true) => HealthCheckResult.Healthy($"models warm, silo {silo.SiloAddress} active"),
            (false, _, _) => HealthCheckResult.Unhealthy("models are still loading or warming up"),
            (_, false, _) => HealthCheckResult.Unhealthy($"silo {silo.SiloAddress} has not joined the cluster yet"),
            _ => HealthCheckResult.Unhealthy("the silo is serving its warm-up queries or calls"),
        });
}
