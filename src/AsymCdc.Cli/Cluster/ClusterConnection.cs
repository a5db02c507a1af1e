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

    private ClusterConnection(IHost host)
    {
        _host = host;
        Client = host.Services.GetRequiredService<IClusterClient>();
        Predictions = new AsymCdcClient(Client);
    }

    public IClusterClient Client { get; }

    public AsymCdcClient Predictions { get; }

    public static async Task<ClusterConnection> ConnectAsync(ClusterState state, Action<ILoggingBuilder>? logging = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning);
        logging?.Invoke(builder.Logging);
        // Only the frontends' gateways: worker silos open an Orleans gateway too (the membership table lists them), and a
        // client call through one would activate the frontend grain on a worker, outside the frontends' admission control.
        int[] gateways = [.. state.Silos.Where(s => s.Role == SiloRoles.Frontend).Select(s => s.GatewayPort)];
        builder.UseOrleansClient(client =>
        {
            client.UseAsymCdcLocalhost(gateways, state.ServiceId, state.ClusterId);
            // A restarted frontend comes back on the same endpoint: try a dead gateway again after a second, not a minute.
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
        });
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return new ClusterConnection(host);
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
