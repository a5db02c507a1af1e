using AsymCdc.Client;
using AsymCdc.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace AsymCdc.Cli.Cluster;

/// <summary>An Orleans client connected to a <see cref="ProcessCluster"/> through its frontends' gateways
/// (the ports the state file records), failing over between them when one dies.</summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterConnection(IHost host, ClientHedging? hedging)
    {
        _host = host;
        Client = host.Services.GetRequiredService<IClusterClient>();
        Predictions = new AsymCdcClient(Client, hedging: hedging);
    }

    public IClusterClient Client { get; }

    public AsymCdcClient Predictions { get; }

    /// <summary>The client's default bound on one call: the cluster's default query deadline (5 s) plus a second.</summary>
    public static readonly TimeSpan DefaultResponseTimeout = TimeSpan.FromSeconds(6);

    /// <param name="responseTimeout">How long the client waits for any answer before failing a call with a
    /// <see cref="TimeoutException"/> (<see cref="DefaultResponseTimeout"/> when null). Keep it just above the queries'
    /// deadline: a call in flight through a frontend that dies is never answered, and the Orleans client fails it only
    /// by this timeout (30 s by default), so this is what turns such a hang into an error.</param>
    /// <param name="hedging">The <see cref="Predictions"/> client's hedging (<see cref="ClientHedging"/>); null: none.</param>
    /// <param name="followMembership">Find the gateways in the cluster's Redis membership table, as a deployed client does,
    /// and follow frontends as they join and leave (<c>cluster scale</c>); false: the frontends the state lists now.</param>
    public static Task<ClusterConnection> ConnectAsync(ClusterState state, TimeSpan? responseTimeout = null,
        Action<ILoggingBuilder>? logging = null, ClientHedging? hedging = null, bool followMembership = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (followMembership)
        {
            return ConnectAsync(state.Redis?.ConnectionString ?? throw new InvalidOperationException("this cluster has no Redis to follow"),
                state.ServiceId, state.ClusterId, responseTimeout, logging, hedging, cancellationToken);
        }

        // Only the frontends' gateways: a client call through a worker's gateway would activate the frontend grain on a
        // worker, outside the frontends' admission control.
        int[] gateways = [.. state.Silos.Where(s => s.Role == SiloRoles.Frontend).Select(s => s.GatewayPort)];
        return StartAsync(client =>
        {
            client.UseAsymCdcLocalhost(gateways, state.ServiceId, state.ClusterId);
            // A restarted frontend comes back on the same endpoint: try a dead gateway again after a second, not a minute.
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
        }, responseTimeout, logging, hedging, cancellationToken);
    }

    /// <summary>Connects to any cluster with Redis (or Kubernetes) clustering — a process cluster, a containerised one, a
    /// deployed one — through the gateways its membership table lists (with Redis clustering only frontends open one),
    /// following frontends as they join and leave.</summary>
    public static Task<ClusterConnection> ConnectAsync(string redis, string serviceId, string clusterId, TimeSpan? responseTimeout = null,
        Action<ILoggingBuilder>? logging = null, ClientHedging? hedging = null, CancellationToken cancellationToken = default) =>
        StartAsync(client => client.UseAsymCdcRedis(redis, serviceId, clusterId), responseTimeout, logging, hedging, cancellationToken);

    private static async Task<ClusterConnection> StartAsync(Action<IClientBuilder> clustering, TimeSpan? responseTimeout,
        Action<ILoggingBuilder>? logging, ClientHedging? hedging, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning);
        logging?.Invoke(builder.Logging);
        builder.UseOrleansClient(client =>
        {
            clustering(client);
            client.AddActivityPropagation();
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = responseTimeout ?? DefaultResponseTimeout);
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new ClusterConnection(host, hedging);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _host.StopAsync(timeout.Token);
        }
        finally
        {
            _host.Dispose();
        }
    }
}
