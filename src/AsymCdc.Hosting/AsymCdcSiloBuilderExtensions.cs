using System.Net;
using AsymCdc.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace AsymCdc.Hosting;

public static class AsymCdcSiloBuilderExtensions
{
    /// <summary>Makes this silo a gpu-worker: it runs model-worker grains.</summary>
    public static ISiloBuilder AddAsymCdcWorker(this ISiloBuilder builder)
    {
        builder.Services.AddAsymCdcWorker(builder.Configuration);
        return builder.AddAsymCdcTracePropagation().AddAsymCdcRole(SiloRoles.GpuWorker);
    }

    /// <summary>Makes this silo a frontend: it runs the frontend and the parity groups.</summary>
    public static ISiloBuilder AddAsymCdcFrontend(this ISiloBuilder builder)
    {
        builder.Services.AddAsymCdcFrontend(builder.Configuration);
        return builder.AddAsymCdcTracePropagation().AddAsymCdcRole(SiloRoles.Frontend);
    }

    /// <summary>Carries the caller's trace through grain calls (Orleans' activity propagation, once per silo), so that a
    /// worker's <c>asymcdc.inference</c> span joins the query's trace. Orleans creates its client/server spans, and so
    /// propagates, only while something listens to <c>Microsoft.Orleans.Application</c> (the OTLP tracing does).</summary>
    private static ISiloBuilder AddAsymCdcTracePropagation(this ISiloBuilder builder)
    {
        if (!builder.Services.Any(d => d.ServiceType == typeof(TracePropagationMarker)))
        {
            builder.Services.AddSingleton<TracePropagationMarker>();
            builder.AddActivityPropagation();
        }

        return builder;
    }

    private sealed class TracePropagationMarker;

    /// <summary>The roles named by <see cref="SiloOptions.Roles"/>.</summary>
    public static ISiloBuilder AddAsymCdcRoles(this ISiloBuilder builder, SiloOptions options)
    {
        if (options.HasRole(SiloRoles.Frontend))
        {
            builder.AddAsymCdcFrontend();
        }

        if (options.HasRole(SiloRoles.GpuWorker))
        {
            builder.AddAsymCdcWorker();
        }

        return builder;
    }

    /// <summary>Clustering from <see cref="SiloOptions.Clustering"/>: localhost (development), Redis or Kubernetes.</summary>
    public static ISiloBuilder UseAsymCdcClustering(this ISiloBuilder builder, SiloOptions options)
    {
        switch (options.Clustering.ToLowerInvariant())
        {
            case SiloOptions.Redis:
                builder.Configure<Orleans.Configuration.ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (options.ServiceId, options.ClusterId));
                // Only frontends are gateways: a client that finds gateways in the membership table must not land on a
                // worker silo, where its calls would bypass the frontends' admission control (gateway port 0 = none).
                var gatewayPort = options.HasRole(SiloRoles.Frontend) ? options.GatewayPort : 0;
                if (options.AdvertisedAddress is { } advertised)
                {
                    builder.ConfigureEndpoints(IPAddress.Parse(advertised), options.SiloPort, gatewayPort, listenOnAnyHostAddress: true);
                }
                else
                {
                    builder.ConfigureEndpoints(options.SiloPort, gatewayPort, listenOnAnyHostAddress: true);
                }

                builder.UseAsymCdcRedisMembership(options);
                break;
            case SiloOptions.Kubernetes:
                // Pod identity, ports, ServiceId and ClusterId come from the pod (labels, POD_* variables);
                // membership lives in Redis, the same table a bare-metal cluster uses.
                builder.UseKubernetesHosting();
                builder.UseAsymCdcRedisMembership(options);
                break;
            default:
                var primary = new IPEndPoint(IPAddress.Loopback, options.PrimarySiloPort ?? options.SiloPort);
                builder.UseLocalhostClustering(options.SiloPort, options.GatewayPort, primary, options.ServiceId, options.ClusterId);
                break;
        }

        return builder;
    }

    private static void UseAsymCdcRedisMembership(this ISiloBuilder builder, SiloOptions options)
    {
        builder.UseRedisClustering(options.RedisConnectionString!);
        builder.Services.AddSingleton(new RedisReachability(options.RedisConnectionString!));
        builder.Services.AddSingleton<Orleans.ILifecycleParticipant<Orleans.Runtime.ISiloLifecycle>>(sp => sp.GetRequiredService<RedisReachability>());
    }

    /// <summary>Publishes this silo's role through Orleans silo metadata. Orleans takes one metadata dictionary per silo,
    /// so the roles share one dictionary, registered on first use and filled by each role (it is read when the options
    /// are first resolved, after the builder is done).</summary>
    public static ISiloBuilder AddAsymCdcRole(this ISiloBuilder builder, string role)
    {
        var existing = builder.Services.FirstOrDefault(d => d.ServiceType == typeof(SiloRoleMetadata))?.ImplementationInstance as SiloRoleMetadata;
        if (existing is null)
        {
            existing = new SiloRoleMetadata();
            builder.Services.AddSingleton(existing);
            builder.UseSiloMetadata(existing.Values);
        }

        existing.Values[SiloRoles.MetadataKey(role)] = "true";
        return builder;
    }

    private sealed class SiloRoleMetadata
    {
        public Dictionary<string, string> Values { get; } = [];
    }
}
