// asymcdc-devicecheck: runs the inference layer on an execution provider and reports what a GPU machine needs to know:
// whether CUDA loads, whether every model still reproduces its golden outputs there, and the latency of each model
// against the CPU provider in the same run. Usage:
//   asymcdc-devicecheck [--models DIR] [--providers cuda,cpu] [--device 0] [--iterations 300] [--tf32 true] [--json FILE]
// Exit code 0 when every requested provider loaded and every golden check passed; 2 when a provider could not load.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AsymCdc.Coding.Evaluation;
using AsymCdc.Inference;

var arguments = Arguments.Parse(args);
var models = arguments.Get("--models") ?? ModelRepositoryLocator.Find();
var providers = (arguments.Get("--providers") ?? "cuda,cpu").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var device = int.Parse(arguments.Get("--device") ?? "0", CultureInfo.InvariantCulture);
var iterations = int.Parse(arguments.Get("--iterations") ?? "300", CultureInfo.InvariantCulture);
var tf32 = string.Equals(arguments.Get("--tf32"), "true", StringComparison.OrdinalIgnoreCase);
int[] batches = [1, 8, 64, 256];

var report = new List<ProviderReport>();
var failed = false;
foreach (var provider in providers)
{
    Console.WriteLine($"== {provider} (models: {models})");
    ModelRepository repository;
    var opened = Stopwatch.StartNew();
    try
    {
        repository = ModelRepository.Open(new InferenceOptions
        {
            ModelRepository = models,
            ExecutionProvider = provider,
            DeviceId = device,
            MaxBatchSize = batches[^1],
            CudaTf32 = tf32,
        });
        await repository.WarmUpAsync();
    }
    catch (ModelRepositoryException e)
    {
        Console.WriteLine($"   could not open the repository on {provider}: {e.Message}");
        report.Add(new ProviderReport(provider, false, e.Message, 0, [], []));
        failed = true;
        continue;
    }

    using (repository)
    {
        var openMs = opened.Elapsed.TotalMilliseconds;
        Console.WriteLine($"   opened and warmed {repository.Models.Count} models in {openMs:F0} ms");
        var goldens = new List<GoldenCheckResult>();
        foreach (var config in repository.Models)
        {
            var result = await GoldenCheck.RunAsync(repository.GetFunction(config.Name));
            goldens.Add(result);
            failed |= !result.Passed;
            Console.WriteLine($"   golden {config.Name,-20} max |diff| {result.MaxAbsDiff:E2} (tolerance {result.Tolerance:E0}) {(result.Passed ? "ok" : "FAILED")}");
        }

        var latencies = new List<LatencyResult>();
        foreach (var config in repository.Models)
        {
            var function = repository.GetFunction(config.Name);
            foreach (var batch in batches.Where(b => b <= config.MaxBatchSize))
            {
                var input = new float[batch * function.InputLength];
                var random = new Random(batch); // deterministic inputs in [0, 1)
                for (var i = 0; i < input.Length; i++)
                {
                    input[i] = random.NextSingle();
                }

                for (var w = 0; w < 20; w++)
                {
                    await function.RunAsync(input, batch);
                }

                var samples = new double[iterations];
                for (var i = 0; i < iterations; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    await function.RunAsync(input, batch);
                    samples[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
                }

                Array.Sort(samples);
                var result = new LatencyResult(config.Name, batch, NearestRank.Percentile(samples, 0.5), NearestRank.Percentile(samples, 0.99), batch / (NearestRank.Percentile(samples, 0.5) / 1e6));
                latencies.Add(result);
                Console.WriteLine($"   {config.Name,-20} batch {batch,3}: p50 {result.P50Us,9:F1} us  p99 {result.P99Us,9:F1} us  {result.ItemsPerSecond,10:F0} items/s");
            }
        }

        report.Add(new ProviderReport(provider, true, null, openMs, goldens, latencies));
    }
}

if (arguments.Get("--json") is { } path)
{
    var environment = new
    {
        machine = Environment.MachineName,
        cores = Environment.ProcessorCount,
        runtime = Environment.Version.ToString(),
        when_utc = DateTime.UtcNow,
        iterations,
        cuda_tf32 = tf32,
    };
    await File.WriteAllTextAsync(path, JsonSerializer.Serialize(new { environment, providers = report },
        new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
    Console.WriteLine($"report written to {path}");
}

return failed ? 2 : 0;

internal sealed record ProviderReport(string Provider, bool Loaded, string? Error, double OpenAndWarmMs, List<GoldenCheckResult> Golden, List<LatencyResult> Latency);

internal sealed record LatencyResult(string Model, int Batch, double P50Us, double P99Us, double ItemsPerSecond);

/// <summary>--name value pairs.</summary>
internal sealed class Arguments(Dictionary<string, string> values)
{
    public static Arguments Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i]] = args[i + 1];
        }

        return new Arguments(values);
    }

    public string? Get(string name) => values.GetValueOrDefault(name);
}
