using System.Globalization;
using AsymCdc.Grains;

namespace AsymCdc.Cli.Cluster;

/// <summary>
/// The running cluster an earlier <c>asymcdc cluster up</c> recorded in a run folder, for <c>asymcdc demo --connect</c>:
/// an Orleans client to its frontends, and its worker-call counts read from every silo's Prometheus <c>/metrics</c>
/// (the in-process demo reads them from its own meters instead).
/// </summary>
public sealed class ConnectedCluster : IAsyncDisposable
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private readonly ClusterConnection _connection;

    private ConnectedCluster(ProcessCluster cluster, ClusterConnection connection)
    {
        Cluster = cluster;
        _connection = connection;
    }

    public ProcessCluster Cluster { get; }

    public IClusterClient Client => _connection.Client;

    public string ModelRepository => Cluster.State.ModelRepository;

    public static async Task<ConnectedCluster> ConnectAsync(string runDirectory, TimeSpan requestTimeout, CancellationToken cancellationToken)
    {
        var cluster = ProcessCluster.Attach(runDirectory) ?? throw new InvalidOperationException(
            $"no cluster is recorded in '{Path.GetFullPath(runDirectory)}'; start one with 'asymcdc cluster up --run-dir {runDirectory}'");
        var status = await cluster.StatusAsync(cancellationToken);
        if (status.FirstOrDefault(s => !s.Ready) is { Silo: { } notReady })
        {
            throw new InvalidOperationException($"silo {notReady.Name} of the cluster in '{cluster.RunDirectory}' is not ready; see 'asymcdc cluster status' and {notReady.Log}");
        }

        var connection = await ClusterConnection.ConnectAsync(cluster.State, requestTimeout + TimeSpan.FromSeconds(1), cancellationToken: cancellationToken);
        return new ConnectedCluster(cluster, connection);
    }

    /// <summary>Worker calls of <paramref name="mode"/> so far, summed over the silos' <c>asymcdc_worker_calls_total</c>.</summary>
    public async Task<long> WorkerCallsAsync(string mode)
    {
        var metric = ServingInstruments.WorkerCallsName.Replace('.', '_') + "_total{";
        var total = 0L;
        foreach (var silo in Cluster.State.Silos)
        {
            var text = await s_http.GetStringAsync(new Uri($"http://127.0.0.1:{silo.HttpPort}/metrics"));
            foreach (var line in text.Split('\n'))
            {
                // asymcdc_worker_calls_total{mode="asymcdc-compact",role="data",...} 1234 [timestamp]
                if (line.StartsWith(metric, StringComparison.Ordinal) && line.Contains($"mode=\"{mode}\"", StringComparison.Ordinal))
                {
                    var value = line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0];
                    total += (long)double.Parse(value, CultureInfo.InvariantCulture);
                }
            }
        }

        return total;
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
