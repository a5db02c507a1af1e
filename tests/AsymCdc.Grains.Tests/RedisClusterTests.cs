using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace AsymCdc.Grains.Tests;

/// <summary>A real redis-server on a free loopback port, two silos that form a cluster through it, and a client that
/// finds them through it.</summary>
public sealed class RedisClusterTests : IAsyncLifetime
{
    private Process? _redis;
    private int _redisPort;

    public async Task InitializeAsync()
    {
        _redisPort = FreePort();
        _redis = Process.Start(new ProcessStartInfo("redis-server", $"--port {_redisPort} --bind 127.0.0.1 --save \"\" --appendonly no")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("could not start redis-server; is it installed (apt-get install redis-server)?");
        _redis.OutputDataReceived += (_, _) => { };
        _redis.BeginOutputReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (!await AcceptsAsync(_redisPort))
        {
            await poll.WaitForNextTickAsync(timeout.Token);
        }
    }

    public Task DisposeAsync()
    {
        if (_redis is { HasExited: false })
        {
            _redis.Kill();
            _redis.WaitForExit();
        }

        _redis?.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Two_silos_form_a_cluster_through_redis_and_serve_predictions()
    {
        var models = await TestModels.OpenAsync();
        var clusterId = $"redis-test-{Guid.NewGuid():N}";
        using var frontend = BuildSilo(models, clusterId, "frontend,gpu-worker");
        using var worker = BuildSilo(models, clusterId, "gpu-worker");
        await frontend.StartAsync();
        await worker.StartAsync();

        var clientBuilder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        clientBuilder.UseOrleansClient(c => c.UseAsymCdcRedis($"127.0.0.1:{_redisPort}", clusterId: clusterId));
        using var clientHost = clientBuilder.Build();
        await clientHost.StartAsync();
        var client = new AsymCdcClient(clientHost.Services.GetRequiredService<IClusterClient>());

        var directory = frontend.Services.GetRequiredService<WorkerDirectory>();
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (directory.Workers.Count != 2)
        {
            await poll.WaitForNextTickAsync(timeout.Token);
        }

        var predictions = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            client.PredictAsync(TestModels.Data.Image(i).ToArray(), i % 2 == 0 ? ServingMode.None : ServingMode.Replication)));

        Assert.All(predictions, p => Assert.InRange(p.Label, 0, PredictionRequest.Classes - 1));
        Assert.Equal(2, predictions.Where(p => p.Worker is not null).Select(p => p.Worker).Distinct().Count());
        // Every answer names the frontend silo the call entered (a hedging client learns its keys' gateways from it).
        var entered = frontend.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();
        Assert.All(predictions, p => Assert.Equal(entered, p.Frontend));
        await clientHost.StopAsync();
        await worker.StopAsync();
        await frontend.StopAsync();
        models.Dispose();
    }

    [Fact]
    public async Task A_silo_whose_redis_is_unreachable_stops_naming_the_connection_string()
    {
        var closed = $"127.0.0.1:{FreePort()}";
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(SiloSettings("redis-down", "gpu-worker", closed));
        builder.Logging.ClearProviders();
        builder.AddAsymCdcSilo();
        using var host = builder.Build();

        var e = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync().WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Contains($"cannot reach Redis at '{closed}'", e.GetBaseException().Message + e.Message);
    }

    private IHost BuildSilo(AsymCdc.Inference.ModelRepository models, string clusterId, string roles)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(SiloSettings(clusterId, roles, $"127.0.0.1:{_redisPort}"));
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(models);
        builder.AddAsymCdcSilo();
        return builder.Build();
    }

    private static Dictionary<string, string?> SiloSettings(string clusterId, string roles, string redis) => new()
    {
        ["AsymCdc:Silo:Roles"] = roles,
        ["AsymCdc:Silo:Clustering"] = "redis",
        ["AsymCdc:Silo:RedisConnectionString"] = redis,
        ["AsymCdc:Silo:ClusterId"] = clusterId,
        ["AsymCdc:Silo:SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["AsymCdc:Silo:GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["AsymCdc:Inference:ModelRepository"] = TestModels.Directory,
    };

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
