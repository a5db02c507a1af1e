using System.Diagnostics;
using System.Text.Json;
using AsymCdc.Coding;
using AsymCdc.Coding.Evaluation;
using AsymCdc.Inference;

namespace AsymCdc.Training;

/// <summary>
/// <c>asymcdc train-decoders</c> (issue 25, "bring your own model"): gives a user's ONNX classifier the decoders the
/// coded modes need, from the deployed model's own outputs.
/// <list type="number">
/// <item>Opens the model with the product's ONNX Runtime and checks it against the options and the data: the logits and
/// feature outputs exist, the data's items have the model's input shape, the data is not empty.</item>
/// <item>Runs it over the training split and writes the targets (<see cref="TrainingTargets"/>) to a temporary folder.</item>
/// <item>Runs Debian's PyTorch (<c>python3 -m training.user_decoders</c>), which trains <c>{model}-compact-k{k}</c> and
/// <c>{model}-parm-k{k}</c> and exports them into a staging folder.</item>
/// <item>Checks every export with ONNX Runtime (config.json against the graph, golden.json), then moves it into the
/// repository, replacing an older one of the same name.</item>
/// <item>Measures degraded-mode accuracy on the test split with ONNX Runtime and the product's own decoders
/// (<see cref="CompactDecoder"/>, <see cref="ParmDecoder"/>; <see cref="ApproxIferDecoder"/> as the untrained
/// reference) and writes the model's entry in <c>MODEL_CARD.md</c>.</item>
/// </list>
/// </summary>
public static class DecoderTrainer
{
    public static string CompactName(string model, int k) => $"{model}-compact-k{k}";

    public static string ParmName(string model, int k) => $"{model}-parm-k{k}";

    public static async Task<DecoderTrainingResult> RunAsync(DecoderTrainingOptions options, Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Problems();
        if (problems.Count > 0)
        {
            throw new DecoderTrainingException(string.Join(" ", problems));
        }

        var repository = ResolveRepository(options.Repository);
        CheckModelExists(repository, options.Model);
        var code = PythonDecoderTraining.FindCode(options.TrainingCode, repository);
        var scratch = Directory.CreateTempSubdirectory("asymcdc-train-decoders-").FullName;
        try
        {
            // 1-2. Check the model and the data, then write the targets.
            var timer = Stopwatch.StartNew();
            TrainingData data;
            TargetsSummary targets;
            string classifierInput, logitsOutput, memberOutput;
            bool logitsOnly;
            using (var models = OpenRepository(repository, [options.Model]))
            {
                var classifier = UserClassifier.Bind(models, options);
                data = TrainingData.Resolve(options.Data, repository);
                classifier.CheckData(data);
                if (options.Limit is { } limit)
                {
                    data = data with { Train = data.Train.Take(limit), Test = data.Test.Take(limit) };
                }

                var largestK = options.Ks.Concat(options.ParmKs).Max();
                foreach (var split in new[] { data.Train, data.Test })
                {
                    if (split.Count < largestK)
                    {
                        throw new DecoderTrainingException(
                            $"--data {options.Data}: '{split.Name}' holds {split.Count} example(s), fewer than one group of k = {largestK}.");
                    }
                }

                (classifierInput, logitsOutput, memberOutput, logitsOnly) =
                    (Describe(classifier.Input), Describe(classifier.Logits), Describe(classifier.Member), classifier.LogitsOnly);
                log?.Invoke($"model '{options.Model}': input {classifierInput}, logits {logitsOutput}, decoders read {memberOutput}; "
                    + $"data {data.Train.Name} ({data.Train.Count}) and {data.Test.Name} ({data.Test.Count})");
                targets = await TrainingTargets.WriteAsync(classifier, data.Train, options, Path.Combine(scratch, "targets"), log, cancellationToken)
                    .ConfigureAwait(false);
            }

            var targetsTime = timer.Elapsed;

            // 3. PyTorch trains and exports into a staging folder.
            timer.Restart();
            var staging = Path.Combine(scratch, "export");
            Directory.CreateDirectory(staging);
            await PythonDecoderTraining.RunAsync(options, code, targets.Directory, staging, log, cancellationToken).ConfigureAwait(false);
            var trainingTime = timer.Elapsed;

            // 4. Every export must load in ONNX Runtime as declared and reproduce PyTorch's outputs, before it is installed.
            timer.Restart();
            var names = options.Ks.Select(k => CompactName(options.Model, k)).Concat(options.ParmKs.Select(k => ParmName(options.Model, k))).ToList();
            var report = ReadReport(Path.Combine(targets.Directory, "report.json"));
            var exports = new List<ExportedModel>();
            using (var staged = OpenRepository(staging, names))
            {
                foreach (var name in names)
                {
                    var function = staged.GetFunction(name);
                    var golden = await GoldenCheck.RunAsync(function).ConfigureAwait(false);
                    if (!golden.Passed)
                    {
                        throw new DecoderTrainingException(
                            $"Exported '{name}' differs from its golden.json by {golden.MaxAbsDiff} on output '{golden.WorstOutput}' (tolerance {golden.Tolerance}) under ONNX Runtime; nothing was installed.");
                    }

                    exports.Add(Describe(function, report, golden));
                }
            }

            foreach (var name in names)
            {
                Install(Path.Combine(staging, name), Path.Combine(repository, name));
            }

            log?.Invoke($"installed {string.Join(", ", names)} into {repository}");
            if (DeclareDataset(repository, options.Model, options.Data) is { } declared)
            {
                log?.Invoke($"'{options.Model}' now declares \"dataset\": \"{declared}\" in its config.json (what eval, bench and demo send it)");
            }

            // 5. Degraded-mode accuracy with the product's decoders, and the model card.
            var evaluation = await EvaluateAsync(repository, options, data, names, cancellationToken).ConfigureAwait(false);
            var evaluationTime = timer.Elapsed;
            RecordAgreements(repository, options.Model, evaluation);
            var result = new DecoderTrainingResult(options, repository, classifierInput, logitsOutput, memberOutput, logitsOnly,
                data.Description, data.Train.Count, data.Test.Count, targets.GroupsPerK, report.Torch, report.Threads, exports, evaluation,
                targetsTime, trainingTime, evaluationTime, null);
            if (options.WriteModelCard)
            {
                var card = Path.Combine(repository, ModelCard.FileName);
                ModelCard.Upsert(card, options.Model, ModelCard.Entry(result, DateTime.UtcNow));
                result = result with { ModelCard = card };
            }

            return result;
        }
        catch (ModelRepositoryException e)
        {
            throw new DecoderTrainingException(e.Message, e);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static async Task<DegradedModeReport> EvaluateAsync(string repository, DecoderTrainingOptions options, TrainingData data,
        IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        using var models = OpenRepository(repository, [options.Model, .. names]);
        var classifier = UserClassifier.Bind(models, options);
        var compact = new CompactDecoder(k => models.Get(CompactName(options.Model, k)));
        var cases = new List<EvaluationCase>();
        foreach (var k in options.Ks)
        {
            cases.Add(new EvaluationCase(compact, k));
        }

        foreach (var k in options.ParmKs)
        {
            cases.Add(new EvaluationCase(new ParmDecoder(), k, models.Get(ParmName(options.Model, k))));
        }

        foreach (var k in options.Ks.Union(options.ParmKs).Order())
        {
            cases.Add(new EvaluationCase(new ApproxIferDecoder(), k));
        }

        var evaluator = new DegradedModeEvaluator(classifier, new DegradedModeEvaluatorOptions
        {
            MaxBatchItems = Math.Min(256, names.Select(n => models.GetFunction(n).Config.MaxBatchSize).Append(classifier.MaxBatchSize).Min()),
        });
        return await evaluator.EvaluateAsync(data.Test.Items, data.Test.Labels, cases, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The evaluation's repository: every core, no micro-batching window (the callers batch themselves).</summary>
    private static ModelRepository OpenRepository(string directory, IReadOnlyList<string> models) => ModelRepository.Open(new InferenceOptions
    {
        ModelRepository = directory,
        Models = [.. models],
        IntraOpThreads = Environment.ProcessorCount,
        BatchWindowMicroseconds = 0,
        MaxBatchSize = 256,
    });

    /// <summary>Writes <c>"dataset"</c> into the classifier's config.json where it declares none, so that the serving tools
    /// find the data its decoders were measured on: fmnist, digits, or the folder (relative to the repository when inside
    /// it). Returns what it wrote, or null when the config already declares one.</summary>
    internal static string? DeclareDataset(string repository, string model, string data)
    {
        var path = Path.Combine(repository, model, ModelConfig.FileName);
        var config = ReadConfig(path);
        if (config.ContainsKey("dataset"))
        {
            return null;
        }

        var value = data is TrainingData.FashionMnistName or TrainingData.DigitsName ? data : RelativeIfInside(repository, Path.GetFullPath(data));
        config["dataset"] = value;
        WriteConfig(path, config);
        return value;
    }

    /// <summary>Writes each installed decoder's measured agreement with the model on the test set into its config.json
    /// (<c>"agreement"</c>), which <c>auto</c> weighs its coders by (AutoCoding). Returns the decoders written.</summary>
    internal static IReadOnlyList<string> RecordAgreements(string repository, string model, DegradedModeReport evaluation)
    {
        var written = new List<string>();
        foreach (var result in evaluation.Results)
        {
            var name = result.Decoder switch
            {
                "compact" => CompactName(model, result.K),
                "parm" => ParmName(model, result.K),
                _ => null,
            };
            var path = name is null ? null : Path.Combine(repository, name, ModelConfig.FileName);
            if (path is null || !File.Exists(path))
            {
                continue;
            }

            var config = ReadConfig(path);
            config["agreement"] = Math.Round(result.Agreement, 4);
            WriteConfig(path, config);
            written.Add(name!);
        }

        return written;
    }

    private static System.Text.Json.Nodes.JsonObject ReadConfig(string path) =>
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    private static void WriteConfig(string path, System.Text.Json.Nodes.JsonObject config) =>
        File.WriteAllText(path, config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");

    private static string RelativeIfInside(string repository, string folder)
    {
        var relative = Path.GetRelativePath(repository, folder);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? folder : relative.Replace('\\', '/');
    }

    private static string ResolveRepository(string? configured)
    {
        if (configured is null)
        {
            try
            {
                return ModelRepositoryLocator.Find();
            }
            catch (DirectoryNotFoundException e)
            {
                throw new DecoderTrainingException($"{e.Message} Or pass --repository DIR.", e);
            }
        }

        var full = Path.GetFullPath(configured);
        return Directory.Exists(full)
            ? full
            : throw new DecoderTrainingException($"--repository {configured}: '{full}' does not exist; pass the model repository folder (the one holding <model>/config.json).");
    }

    private static void CheckModelExists(string repository, string model)
    {
        if (File.Exists(Path.Combine(repository, model, ModelConfig.FileName)))
        {
            return;
        }

        var available = Directory.EnumerateDirectories(repository)
            .Where(d => File.Exists(Path.Combine(d, ModelConfig.FileName)))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)
            .ToList();
        throw new DecoderTrainingException(
            $"Model '{model}' is not in the model repository '{repository}' (it has: {(available.Count == 0 ? "none" : string.Join(", ", available))}). "
            + $"Put your classifier there as {model}/{ModelConfig.FileName} + {model}/1/{ModelRepository.ModelFileName} (models/fmnist-cnn is an example), or pass --repository DIR.");
    }

    private static void Install(string from, string to)
    {
        if (Directory.Exists(to))
        {
            Directory.Delete(to, recursive: true);
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static string Describe(TensorConfig tensor) => $"{tensor.Name} [{string.Join(',', tensor.Dims)}]";

    private static ExportedModel Describe(OnnxModelFunction function, TrainingReport report, GoldenCheckResult golden)
    {
        var config = function.Config;
        report.Exports.TryGetValue(config.Name, out var stats);
        return new ExportedModel(
            config.Name,
            config.Role == ModelRole.CompactDecoder ? "compact-decoder" : "parity-model",
            config.K ?? 0,
            config.Input.Dims,
            stats?.Parameters ?? 0,
            stats?.Flops ?? 0,
            stats?.TrainSeconds ?? 0,
            stats?.TrainAgreement,
            new FileInfo(function.ModelPath).Length,
            golden.MaxAbsDiff);
    }

    private sealed record ExportStats(long Parameters, long Flops, double TrainSeconds, double? TrainAgreement);

    private sealed record TrainingReport(string Torch, int Threads, Dictionary<string, ExportStats> Exports);

    private static TrainingReport ReadReport(string path)
    {
        var exports = new Dictionary<string, ExportStats>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return new TrainingReport("?", 0, exports);
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        if (root.TryGetProperty("exports", out var list))
        {
            foreach (var export in list.EnumerateObject())
            {
                var v = export.Value;
                exports[export.Name] = new ExportStats(
                    v.TryGetProperty("params", out var p) ? p.GetInt64() : 0,
                    v.TryGetProperty("flops", out var f) ? f.GetInt64() : 0,
                    v.TryGetProperty("train_seconds", out var t) ? t.GetDouble() : 0,
                    v.TryGetProperty("train_agreement", out var a) ? a.GetDouble() : null);
            }
        }

        return new TrainingReport(
            root.TryGetProperty("torch", out var torch) ? torch.GetString() ?? "?" : "?",
            root.TryGetProperty("threads", out var threads) ? threads.GetInt32() : 0,
            exports);
    }
}
