using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;

namespace AsymCdc.Client;

public static class AsymCdcClientBuilderExtensions
{
    /// <summary>Connects to silos on this machine through their gateway ports (localhost clustering).</summary>
    public static IClientBuilder UseAsymCdcLocalhost(this IClientBuilder builder, int[] gatewayPorts,
        string serviceId = "asymcdc", string clusterId = "dev")
    {
        ArgumentNullException.ThrowIfNull(gatewayPorts);
        if (gatewayPorts.Length == 0)
        {
            throw new ArgumentException("give at least one gateway port (AsymCdc:Silo:GatewayPort of a frontend silo, default 30000)", nameof(gatewayPorts));
        }

        return builder.UseStaticClustering(gatewayPorts.Select(p => new IPEndPoint(IPAddress.Loopback, p)).ToArray())
            .Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (serviceId, clusterId))
            .AddAsymCdcGatewayLossSignal();
    }

    /// <summary>How often a client reads the gateway list (<see cref="UseAsymCdcRedis"/>).</summary>
    public static readonly TimeSpan GatewayListRefreshPeriod = TimeSpan.FromSeconds(1);

    /// <summary>Finds the gateways through the Redis membership table the silos use, and follows it as frontends join and
    /// leave (every <see cref="GatewayListRefreshPeriod"/>).</summary>
    public static IClientBuilder UseAsymCdcRedis(this IClientBuilder builder, string connectionString,
        string serviceId = "asymcdc", string clusterId = "dev")
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ArgumentException("give the Redis connection string the silos use (AsymCdc:Silo:RedisConnectionString), e.g. 'localhost:6379'", nameof(connectionString));
        }

        return builder.UseRedisClustering(connectionString)
            .Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (serviceId, clusterId))
            // Orleans looks once a minute; a frontend that is scaled in serves on only until its clients have moved away
            // (AsymCdc:Silo:LeaveQuietPeriod), and a new one should take load within seconds. One Redis read a second.
            .Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = GatewayListRefreshPeriod)
            .AddAsymCdcGatewayLossSignal();
    }

    /// <summary>
    /// Lets <see cref="AsymCdcClient"/> re-send a call through a live gateway when the gateway it went through is lost
    /// (<see cref="GatewayLossSignal"/>). Part of <see cref="UseAsymCdcLocalhost"/> and <see cref="UseAsymCdcRedis"/>;
    /// call it yourself with other clustering.
    /// </summary>
    public static IClientBuilder AddAsymCdcGatewayLossSignal(this IClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<GatewayLossSignal>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IClusterConnectionStatusObserver, GatewayLossSignal>(
            services => services.GetRequiredService<GatewayLossSignal>()));
        return builder;
    }
}
