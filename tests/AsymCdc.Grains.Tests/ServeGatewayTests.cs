using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using AsymCdc.Hosting;

namespace AsymCdc.Grains.Tests;

/// <summary><c>asymcdc serve</c>'s web host (<see cref="LocalClusterGateway"/>) in front of a real in-process cluster: KServe v2 inference, readiness, the
/// silo health endpoints, and the Prometheus text with the asymcdc instruments.</summary>
[Collection(ObservabilityClusterCollection.Name)]
public sealed class ServeGatewayTests
{
    [Fact]
    public async Task Serve_answers_a_real_image_and_exports_the_asymcdc_metrics()
    {
        await using var cluster = await LocalCluster.StartAsync(new LocalClusterOptions { Workers = 3, ModelRepository = TestModels.Directory });
        await using var app = LocalClusterGateway.Build(cluster, "http://127.0.0.1:0");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        // Ready once the gateway's probe prediction goes through (bounded; a load balancer polls the same way).
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while ((await http.GetAsync("/v2/health/ready", timeout.Token)).StatusCode != HttpStatusCode.OK)
        {
            await poll.WaitForNextTickAsync(timeout.Token);
        }

        // The silo health endpoints answer too, for the in-process frontend (models warm, silo joined).
        foreach (var path in (string[])["/health/startup", "/health/ready", "/health/live"])
        {
            using var health = await http.GetAsync(path, timeout.Token);
            Assert.True(health.StatusCode == HttpStatusCode.OK, $"{path}: {(int)health.StatusCode} {await health.Content.ReadAsStringAsync()}");
        }

        var data = TestModels.Data;
        var pixels = string.Join(",", data.Image(0).ToArray().Select(p => p.ToString("R", CultureInfo.InvariantCulture)));
        var body = $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,28,28],"data":[{{{pixels}}}]}],"parameters":{"mode":"asymcdc-exact"}}""";
        using var infer = await http.PostAsync("/v2/models/fmnist/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        var answer = await infer.Content.ReadAsStringAsync();
        Assert.True(infer.StatusCode == HttpStatusCode.OK, answer);
        using (var json = JsonDocument.Parse(answer))
        {
            Assert.Equal("fmnist", json.RootElement.GetProperty("model_name").GetString());
        }

        // A lone query's group is sealed (and counted) when its window ends, which may be after its own answer came back.
        var metrics = await http.GetStringAsync("/metrics", timeout.Token);
        while (!metrics.Contains("asymcdc_groups_total", StringComparison.Ordinal))
        {
            await poll.WaitForNextTickAsync(timeout.Token);
            metrics = await http.GetStringAsync("/metrics", timeout.Token);
        }

        foreach (var series in (string[])["asymcdc_queries_total", "asymcdc_query_duration_milliseconds_bucket", "asymcdc_worker_calls_total",
            "asymcdc_groups_total", "asymcdc_worker_queue_delay_seconds_bucket", "asymcdc_gateway_requests_total"])
        {
            Assert.Contains(series, metrics, StringComparison.Ordinal);
        }

        Assert.Contains("mode=\"asymcdc-exact\"", metrics, StringComparison.Ordinal);

        // auto pays a parity from what its queries earned (1/k each): a lone query's group of one cannot pay for one, and
        // is sealed without it, unless an earlier group of one left its half unspent — then that group went without.
        using var lone = await http.PostAsync("/v2/models/fmnist/infer", new StringContent(body.Replace("asymcdc-exact", "auto", StringComparison.Ordinal),
            Encoding.UTF8, "application/json"));
        Assert.True(lone.StatusCode == HttpStatusCode.OK, await lone.Content.ReadAsStringAsync());
        static bool Withheld(string text) => text.Split('\n').Any(static line => line.StartsWith("asymcdc_groups_total{", StringComparison.Ordinal)
            && line.Contains("mode=\"auto\"", StringComparison.Ordinal) && line.Contains("parity=\"false\"", StringComparison.Ordinal));
        for (var i = 0; i < 50 && !Withheld(metrics); i++)
        {
            await poll.WaitForNextTickAsync(timeout.Token);
            metrics = await http.GetStringAsync("/metrics", timeout.Token);
        }

        Assert.True(Withheld(metrics), string.Join('\n', metrics.Split('\n').Where(static l => l.StartsWith("asymcdc_groups_total", StringComparison.Ordinal))));
    }
}
