using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AsymCdc.Hosting;

public static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    /// <summary>Health checks: readiness = models warm and silo joined; liveness = the process answers.</summary>
    public static IServiceCollection AddAsymCdcHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<SiloReadiness>("asymcdc", tags: [ReadyTag]);
        return services;
    }

    /// <summary>The same checks for a host that is not itself a silo (<c>asymcdc serve</c> in front of an in-process
    /// cluster): readiness is <paramref name="readiness"/>, the check of the silo that serves its queries.</summary>
    public static IServiceCollection AddAsymCdcHealthChecks(this IServiceCollection services, SiloReadiness readiness)
    {
        ArgumentNullException.ThrowIfNull(readiness);
        services.AddHealthChecks().AddCheck("asymcdc", readiness, tags: [ReadyTag]);
        return services;
    }

    /// <summary><c>/health/startup</c> and <c>/health/ready</c> (models loaded and warmed, silo joined),
    /// <c>/health/live</c> (no checks: restart only a process that no longer answers).</summary>
    public static IEndpointRouteBuilder MapAsymCdcHealth(this IEndpointRouteBuilder endpoints)
    {
        var ready = new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) };
        endpoints.MapHealthChecks("/health/startup", ready);
        endpoints.MapHealthChecks("/health/ready", ready);
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        return endpoints;
    }
}
