using AsymCdc.Inference;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

/// <summary>Ready = the models are loaded and warmed, and this silo is an active member of the cluster.</summary>
public sealed class SiloReadiness(ModelRepository models, IClusterMembershipService membership, ILocalSiloDetails silo) : IHealthCheck
{
    public bool ModelsWarm => models.IsWarm;

    public bool Joined => membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress) == SiloStatus.Active;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult((ModelsWarm, Joined) switch
        {
            (true, true) => HealthCheckResult.Healthy($"models warm, silo {silo.SiloAddress} active"),
            (false, _) => HealthCheckResult.Unhealthy("models are still loading or warming up"),
            _ => HealthCheckResult.Unhealthy($"silo {silo.SiloAddress} has not joined the cluster yet"),
        });
}
