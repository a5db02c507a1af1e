using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary>The <c>asymcdc</c> command line: every command, shared by <c>Program</c> and the test that parses each
/// command line of the README and docs.</summary>
public static class AsymCdcCommandLine
{
    public static void Configure(IConfigurator config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.SetApplicationName("asymcdc");
        config.AddCommand<DemoCommand>("demo")
            .WithDescription("Start an in-process cluster, send Fashion-MNIST queries with injected stragglers, and compare modes (p50/p99/p99.9, lost, reconstructed, accuracy).")
            .WithExample("demo")
            .WithExample("demo", "--mode", "none,asymcdc-compact", "-k", "3", "--straggler-rate", "0.01", "--json", "demo.json");
        config.AddCommand<PredictCommand>("predict")
            .WithDescription("Send one test image through an in-process cluster; print its true label, the prediction and how it was served.")
            .WithExample("predict", "--image", "7", "--mode", "asymcdc-exact");
        config.AddCommand<ServeCommand>("serve")
            .WithDescription("Run the in-process cluster behind the KServe v2 HTTP and gRPC gateways (+ /metrics) until Ctrl-C.")
            .WithExample("serve", "--http", "127.0.0.1:8080", "--grpc-port", "8081", "--workers", "4", "--mode", "asymcdc-compact", "-k", "2");
        config.AddBranch("cluster", cluster =>
        {
            cluster.SetDescription("A real multi-process cluster on this machine: redis-server + frontend and worker asymcdc-silo processes.");
            cluster.AddCommand<ClusterUpCommand>("up").WithDescription("Start Redis and the silo processes; return when every silo is ready.")
                .WithExample("cluster", "up", "--workers", "4", "--frontends", "2");
            cluster.AddCommand<ClusterDownCommand>("down").WithDescription("Stop every process of the cluster (SIGTERM, SIGKILL after the drain timeout).");
            cluster.AddCommand<ClusterStatusCommand>("status").WithDescription("Show each silo process, its ports and whether it is ready.");
            cluster.AddCommand<ClusterScaleCommand>("scale").WithDescription("Add silos (they join warm) or take the highest-numbered out through the graceful path Kubernetes uses (SIGTERM, drain, exit).")
                .WithExample("cluster", "scale", "--workers", "6", "--frontends", "3");
        });
        config.AddCommand<EvalCommand>("eval")
            .WithDescription("Degraded-mode accuracy, offline: every test image missing in turn in groups of k, reconstructed by each decoder (exact, compact, parm, approxifer).")
            .WithExample("eval", "-k", "2,4", "--decoders", "exact,compact", "--limit", "1000", "--json", "eval.json");
        config.AddCommand<TrainDecodersCommand>("train-decoders")
            .WithDescription("Bring your own model: train compact decoders (and ParM parity models) for your ONNX classifier from its own outputs on your data, install them in the model repository and record their degraded accuracy in MODEL_CARD.md.")
            .WithExample("train-decoders", "--model", "fmnist-cnn", "--data", "fmnist", "--feature-output", "features", "-k", "2,3,4", "--parm", "--parm-k", "2");
        config.AddCommand<BenchCommand>("bench")
            .WithDescription("Latency under stragglers: every mode on one in-process cluster and one Poisson trace per straggler scenario; writes results.json, results.md, latency.png.")
            .WithExample("bench", "--preset", "quick", "--out", "bench-results");
        config.AddCommand<SimulateCommand>("simulate")
            .WithDescription("The serving policies in virtual time at any scale, deterministic: every mode against simulated workers, loads and faults; writes results.json, results.md, latency.png. --fidelity checks it against a real bench.")
            .WithExample("simulate", "--scenario", "gpu-100-stragglers-1pct", "--out", "sim");
        config.AddCommand<ChaosCommand>("chaos")
            .WithDescription("Chaos drill: a multi-process cluster under open-loop load, SIGKILL workers (and a frontend) mid-load, report lost/errors/p99.9/recovery.")
            .WithExample("chaos", "--workers", "4", "--queries", "1500", "--kill", "1", "--kill-frontend", "--json", "chaos.json");
        config.AddCommand<ElasticCommand>("elastic")
            .WithDescription("Elastic drill: a multi-process cluster under open-loop load scaled 4 -> 6 -> 3 -> 4 workers and 2 -> 3 -> 2 frontends, then overloaded and scaled out; per phase p50/p99/p99.9, the HPA's queue-delay signal and each worker's share.")
            .WithExample("elastic", "--json", "elastic.json");
    }

    /// <summary>
    /// Spectre.Console.Cli refuses one-letter long options ("Invalid long option name"), so <c>--k 2,3,4</c> is read as
    /// <c>-k 2,3,4</c>; everything else is passed on as given.
    /// </summary>
    public static string[] Normalize(IEnumerable<string> args) =>
        [.. args.Select(a => a.Length >= 3 && a.StartsWith("--", StringComparison.Ordinal) && char.IsAsciiLetter(a[2]) && (a.Length == 3 || a[3] == '=')
            ? a[1..]
            : a)];
}
