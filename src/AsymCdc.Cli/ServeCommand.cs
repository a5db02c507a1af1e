using System.ComponentModel;
using System.Globalization;
using AsymCdc.Abstractions;
using AsymCdc.Grains;
using AsymCdc.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary><c>asymcdc serve --http HOST:PORT [--grpc-port PORT]</c>: the in-process cluster of the demo behind the KServe v2
/// gateway, REST and gRPC, with Prometheus <c>/metrics</c>, until Ctrl-C (or SIGTERM); then the gateway stops taking
/// requests and the cluster shuts down gracefully.</summary>
public sealed class ServeCommand : AsyncCommand<ServeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--http <HOST:PORT>"), Description("Address of the HTTP gateway, /metrics and health, e.g. 127.0.0.1:8080 or 0.0.0.0:8080."), DefaultValue("127.0.0.1:8080")]
        public string Http { get; init; } = "127.0.0.1:8080";

        [CommandOption("--grpc-port <PORT>"), Description("Port of the KServe v2 gRPC service (HTTP/2 cleartext) on the --http host, as a frontend silo's AsymCdc:Silo:GrpcPort; 0 turns gRPC off."), DefaultValue(8081)]
        public int GrpcPort { get; init; } = 8081;

        [CommandOption("-w|--workers <N>"), Description("Worker silos (a group needs k+1)."), DefaultValue(4)]
        public int Workers { get; init; } = 4;

        [CommandOption("-m|--mode <MODE>"), Description("Mode of a request that names none: none, hedged, replication, parm, approxifer, asymcdc-exact, asymcdc-compact, auto."), DefaultValue("auto")]
        public string Mode { get; init; } = "auto";

        [CommandOption("-k <K>"), Description("Data queries per parity group, 2..4."), DefaultValue(2)]
        public int K { get; init; } = 2;

        [CommandOption("--deadline <KIND>"), Description("Straggler deadline: fixed or adaptive (p95 of recent worker service times)."), DefaultValue("fixed")]
        public string Deadline { get; init; } = "fixed";

        [CommandOption("-s|--straggler-rate <RATE>"), Description("Fraction of worker calls delayed (injected stragglers), 0..1."), DefaultValue(0.0)]
        public double StragglerRate { get; init; }

        [CommandOption("--models <DIR>"), Description("Model repository (default: models/ found above the working directory).")]
        public string? Models { get; init; }

        [CommandOption("-v|--verbose"), Description("Print the silos' and the gateway's warnings and errors.")]
        public bool Verbose { get; init; }

        /// <summary>HOST:PORT split; a clear error for anything else.</summary>
        public (string Host, int Port) Endpoint()
        {
            var colon = Http.LastIndexOf(':');
            return colon > 0 && int.TryParse(Http[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
                ? (Http[..colon], port)
                : throw new FormatException($"--http '{Http}' is not HOST:PORT with a port in 1..65535, e.g. 127.0.0.1:8080");
        }

        public override ValidationResult Validate()
        {
            try
            {
                _ = Endpoint();
            }
            catch (FormatException e)
            {
                return ValidationResult.Error(e.Message);
            }

            if (GrpcPort is < 0 or > 65535 || (GrpcPort != 0 && GrpcPort == Endpoint().Port))
            {
                return ValidationResult.Error($"--grpc-port {GrpcPort} must be a TCP port (1..65535) other than the --http port, or 0 to turn gRPC off");
            }

            if (!ServingModes.TryParse(Mode, out _))
            {
                return ValidationResult.Error($"--mode '{Mode}' is unknown; expected one of: {string.Join(", ", ServingModes.All.Select(m => m.ToName()))}");
            }

            if (K is < 2 or > 4)
            {
                return ValidationResult.Error($"-k {K} is outside 2..4");
            }

            if (Workers < K + 1)
            {
                return ValidationResult.Error($"--workers {Workers}: a parity group of k = {K} needs at least {K + 1} worker silos");
            }

            if (Deadline is not (ServingOptions.FixedDeadline or ServingOptions.AdaptiveDeadline))
            {
                return ValidationResult.Error($"--deadline '{Deadline}' is unknown; use fixed or adaptive");
            }

            return StragglerRate is < 0 or > 1 ? ValidationResult.Error($"--straggler-rate {StragglerRate} must be a fraction in [0, 1]") : ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var (host, port) = settings.Endpoint();
        var options = new LocalClusterOptions { Workers = settings.Workers, ModelRepository = settings.Models };
        options.Settings["AsymCdc:Serving:DefaultMode"] = settings.Mode;
        options.Settings["AsymCdc:Serving:K"] = settings.K.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Serving:Deadline"] = settings.Deadline;
        options.Settings["AsymCdc:Stragglers:Rate"] = settings.StragglerRate.ToString(CultureInfo.InvariantCulture);
        if (settings.Verbose)
        {
            options.ConfigureLogging = logging => logging.AddSimpleConsole(o => o.SingleLine = true);
        }

        await using var cluster = await AnsiConsole.Status().StartAsync("Starting the in-process cluster...",
            _ => LocalCluster.StartAsync(options, cancellationToken));

        var grpc = settings.GrpcPort == 0 ? null : $"http://{host}:{settings.GrpcPort}";
        await using var app = BuildGateway(cluster, $"http://{host}:{port}", settings.Verbose, grpc);
        await app.StartAsync(cancellationToken);
        AnsiConsole.MarkupLine($"[bold]asymcdc serve[/]: 1 frontend + {settings.Workers} worker silos, default mode {Markup.Escape(settings.Mode)}, "
            + $"k = {settings.K}, {settings.Deadline} straggler deadline; models from [grey]{Markup.Escape(cluster.Models.Directory)}[/]");
        var defaultMode = ServingModes.Parse(settings.Mode);
        foreach (var model in cluster.Models.Served)
        {
            // What each model can be served with follows from its companions in the repository.
            AnsiConsole.MarkupLine($"  model [bold]{Markup.Escape(model.PublicName)}[/] (input [[N,{string.Join(',', model.InputShape)}]], {model.Classes} classes): "
                + $"default {model.DefaultFor(defaultMode, settings.K).ToName()}; modes {string.Join(", ", model.Supported(settings.K).Select(m => m.ToName()))}");
        }

        AnsiConsole.MarkupLine($"KServe v2 on [bold]http://{Markup.Escape(host)}:{port}/v2[/] (POST /v2/models/{{name}}/infer, POST /v2/repository/index, GET /v2/health/ready), "
            + $"/health/startup|ready|live, Prometheus on /metrics. Ctrl-C stops.");
        AnsiConsole.MarkupLine(grpc is null
            ? "KServe v2 gRPC off (--grpc-port 0)."
            : $"KServe v2 gRPC (inference.GRPCInferenceService, HTTP/2 cleartext) on [bold]{Markup.Escape(grpc)}[/].");
        // Ctrl-C / SIGTERM end the web host (its console lifetime); then the cluster stops gracefully (await using).
        await app.WaitForShutdownAsync(cancellationToken);
        AnsiConsole.MarkupLine("Stopping: the gateway is closed; draining and stopping the silos...");
        return 0;
    }

    /// <summary>The web host of <c>serve</c> in front of <paramref name="cluster"/> (<see cref="LocalClusterGateway"/>).</summary>
    public static WebApplication BuildGateway(LocalCluster cluster, string url, bool verbose = false, string? grpcUrl = null) =>
        LocalClusterGateway.Build(cluster, url, verbose, grpcUrl);
}
