using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using YamlDotNet.RepresentationModel;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// The Helm chart: values against values.schema.json (in-process and through `helm`), helm-docs
/// comments, template references and block structure, and `helm lint`. What the chart renders is
/// checked with the kustomize overlays in <see cref="RenderedManifestTests"/>.
/// </summary>
public sealed partial class HelmChartTests
{
    private static readonly string[] Chart = ["helm", "asymcdc"];

    private static string ChartFile(params string[] relative) => RepositoryLayout.ReadText([.. Chart, .. relative]);

    internal static JsonObject DefaultValues() => YamlDocuments.LoadSingle(ChartFile("values.yaml"));

    private static JsonSchema Schema() => JsonSchema.FromText(ChartFile("values.schema.json"));

    /// <summary>Instance locations (JSON pointers) of the schema errors; empty when valid.</summary>
    internal static IReadOnlyList<string> Errors(JsonNode values)
    {
        var results = Schema().Evaluate(values, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }

        // The deepest failing nodes are where the values are wrong. An `if` that does not match
        // reports failures of its own; those are not failures of the values.
        var failing = results.Details
            .Where(d => !d.IsValid && !d.EvaluationPath.ToString().Contains("/if", StringComparison.Ordinal))
            .Select(d => (Path: d.EvaluationPath.ToString(), Location: d.InstanceLocation.ToString()))
            .ToList();
        return failing
            .Where(f => !failing.Any(g => g.Path.StartsWith(f.Path + "/", StringComparison.Ordinal)))
            .Select(f => f.Location).Distinct().ToList();
    }

    private static JsonObject With(string pointer, JsonNode? value)
    {
        var values = DefaultValues();
        var segments = pointer.Trim('/').Split('/');
        JsonObject parent = values;
        foreach (var segment in segments[..^1])
        {
            parent = parent[segment]!.AsObject();
        }

        parent[segments[^1]] = value;
        return values;
    }

    [Fact]
    public void Default_values_satisfy_the_schema()
    {
        Assert.Empty(Errors(DefaultValues()));
    }

    [Theory]
    [InlineData("/serving/k", 5)]
    [InlineData("/serving/k", 1)]
    [InlineData("/frontend/replicas", -1)]
    [InlineData("/worker/replicas", -1)]
    [InlineData("/serving/defaultMode", "foo")]
    [InlineData("/worker/executionProvider", "tpu")]
    [InlineData("/frontend/executionProvider", "tpu")]
    [InlineData("/silo/clustering", "consul")]
    [InlineData("/silo/httpPort", 70000)]
    [InlineData("/frontend/grpcPort", 70000)]
    [InlineData("/frontend/grpcPort", -1)]
    [InlineData("/frontend/grpcPort", "8081")]
    [InlineData("/serving/groupWindow", "5ms")]
    [InlineData("/stragglers/rate", 1.5)]
    [InlineData("/worker/autoscaling/targetQueueDelay", "five")]
    [InlineData("/serving/kk", 2)]
    [InlineData("/redis/image/tag", "latest")]
    public void Bad_values_are_rejected_where_they_are(string pointer, object bad)
    {
        var values = With(pointer, JsonValue.Create(bad));
        var errors = Errors(values);
        Assert.NotEmpty(errors);
        var parent = pointer[..pointer.LastIndexOf('/')];
        Assert.True(errors.Any(e => e == pointer || e == parent),
            $"expected an error at {pointer}; got errors at: {string.Join(", ", errors)}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Every_k_with_a_compact_decoder_is_accepted(int k)
    {
        Assert.Empty(Errors(With("/serving/k", k)));
    }

    [Fact]
    public void Every_serving_mode_of_the_silo_is_accepted_and_only_those()
    {
        var names = ServingModeNames.FromAbstractions();
        var allowed = Schema().GetProperties()!["serving"].GetProperties()!["defaultMode"].GetEnum()!
            .Select(n => (string)n!).ToList();
        Assert.Equal(names.Order(), allowed.Order());
        Assert.All(names, mode => Assert.Empty(Errors(With("/serving/defaultMode", mode))));
    }

    [Fact]
    public void Membership_without_the_in_release_redis_requires_a_connection_string()
    {
        var values = With("/redis/enabled", false);
        Assert.Contains("/silo/redisConnectionString", Errors(values));
        values["silo"]!["redisConnectionString"] = "redis.example:6379";
        Assert.Empty(Errors(values));
    }

    [Fact]
    public void Workers_without_a_gpu_must_use_the_cpu_provider()
    {
        var values = DefaultValues();
        values["worker"]!["gpu"]!["enabled"] = false;
        Assert.Contains("/worker/executionProvider", Errors(values));
        values["worker"]!["executionProvider"] = "cpu";
        Assert.Empty(Errors(values));
    }

    [Fact]
    public void Helm_lint_passes_strictly()
    {
        var result = HelmTool.Run(["lint", "--strict", "helm/asymcdc"]);
        Assert.True(result.ExitCode == 0, result.Describe("helm lint --strict helm/asymcdc"));
    }

    [Fact]
    public void The_alerts_are_off_by_default_and_on_they_watch_lost_queries_slow_workers_and_the_queue_delay()
    {
        Assert.Empty(RenderedManifests.Helm("helm-default-rules").OfKind("PrometheusRule"));

        var m = RenderedManifests.Helm("helm-rules", "metrics.prometheusRule.enabled=true", "metrics.prometheusRule.labels.release=kps",
            "metrics.prometheusRule.queueDelayMilliseconds=20", "metrics.prometheusRule.queueDelayFor=30m");

        var rule = Assert.Single(m.OfKind("PrometheusRule"));
        Assert.Equal("monitoring.coreos.com/v1", (string?)rule["apiVersion"]);
        Assert.Equal("kps", (string?)rule["metadata"]!["labels"]!["release"]);
        var alerts = rule["spec"]!["groups"]![0]!["rules"]!.AsArray().ToDictionary(a => (string)a!["alert"]!, a => a!.AsObject());
        Assert.Equal(["AsymCdcQueriesLost", "AsymCdcWorkerSlow", "AsymCdcWorkersSaturated"], alerts.Keys.Order());
        // The series the silos export (asymcdc.lost, asymcdc.workers.slow, the HPA's queue-delay histogram), in the
        // release's namespace, as the Prometheus Adapter rule selects them.
        Assert.Contains("asymcdc_lost_total{namespace=", (string)alerts["AsymCdcQueriesLost"]["expr"]!);
        Assert.Equal("critical", (string?)alerts["AsymCdcQueriesLost"]["labels"]!["severity"]);
        Assert.Contains("asymcdc_workers_slow{", (string)alerts["AsymCdcWorkerSlow"]["expr"]!);
        Assert.Contains("state=\"slow\"", (string)alerts["AsymCdcWorkerSlow"]["expr"]!);
        Assert.Equal("10m", (string?)alerts["AsymCdcWorkerSlow"]["for"]);
        var saturated = (string)alerts["AsymCdcWorkersSaturated"]["expr"]!;
        Assert.Contains($"{PrometheusAdapterTests.QueueDelayMetric}_sum", saturated);
        Assert.Contains($"{PrometheusAdapterTests.QueueDelayMetric}_count", saturated);
        Assert.EndsWith("> 0.02", saturated.Trim());
        Assert.Equal("30m", (string?)alerts["AsymCdcWorkersSaturated"]["for"]);
        // Prometheus' own template in an annotation survives Helm's.
        Assert.Contains("{{ $value | humanize }}", (string)alerts["AsymCdcQueriesLost"]["annotations"]!["description"]!);
    }

    [Fact]
    public void Optional_branches_render_to_valid_objects()
    {
        var m = RenderedManifests.Helm("helm-options",
            "serviceAccount.create=false", "serviceAccount.name=silo", "rbac.create=false", "metrics.scrapeAnnotations=false",
            "worker.autoscaling.enabled=false", "worker.replicas=5", "worker.gpu.runtimeClassName=nvidia",
            "frontend.service.type=LoadBalancer", "imagePullSecrets[0].name=regcred",
            "extraEnv[0].name=AsymCdc__Inference__IntraOpThreads", "extraEnv[0].value=2",
            "worker.tolerations[0].key=pool", "worker.tolerations[0].operator=Exists",
            "redis.enabled=false", "silo.redisConnectionString=redis.example:6379");

        Assert.Empty(m.OfKind("HorizontalPodAutoscaler"));
        Assert.Empty(m.OfKind("ServiceAccount"));
        Assert.Empty(m.OfKind("Role"));
        var worker = m.SiloDeployment("gpu-worker");
        var pod = RenderedManifests.PodSpec(worker);
        Assert.Equal(5, (int)worker["spec"]!["replicas"]!);
        Assert.Equal("nvidia", (string?)pod["runtimeClassName"]);
        Assert.Equal("silo", (string?)pod["serviceAccountName"]);
        Assert.Equal("regcred", (string?)pod["imagePullSecrets"]![0]!["name"]);
        Assert.Equal(["nvidia.com/gpu", "pool"], pod["tolerations"]!.AsArray().Select(t => (string)t!["key"]!));
        Assert.Equal("2", m.Setting(worker, "AsymCdc__Inference__IntraOpThreads"));
        Assert.Equal("redis.example:6379", m.Setting(worker, "AsymCdc__Silo__RedisConnectionString"));
        Assert.Null(worker["spec"]!["template"]!["metadata"]!["annotations"]!["prometheus.io/scrape"]);
        Assert.All(m.OfKind("Service"), svc => Assert.Equal("LoadBalancer", (string?)svc["spec"]!["type"]));
    }

    [Theory]
    [InlineData("serving.k=5", "serving.k")]
    [InlineData("frontend.replicas=-1", "frontend.replicas")]
    [InlineData("serving.defaultMode=foo", "serving.defaultMode")]
    [InlineData("worker.executionProvider=tpu", "worker.executionProvider")]
    [InlineData("redis.enabled=false", "silo.redisConnectionString")]
    [InlineData("worker.autoscaling.minReplicas=2", "serving.k + 1")]
    [InlineData("frontend.grpcPort=70000", "frontend.grpcPort")]
    [InlineData("frontend.grpcPort=8080", "frontend.grpcPort (8080) must differ from silo.httpPort")]
    public void Helm_refuses_to_render_bad_values_and_names_them(string setting, string named)
    {
        var result = HelmTool.Run(["template", "asymcdc", "helm/asymcdc", "--set", setting]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(named, result.StandardError);
    }

    [Fact]
    public void Grpc_port_zero_turns_grpc_off_and_another_port_moves_it()
    {
        var off = RenderedManifests.Helm("helm-grpc-off", "frontend.grpcPort=0");
        var frontend = off.SiloDeployment("frontend");
        Assert.Equal("0", off.Setting(frontend, "AsymCdc__Silo__GrpcPort"));
        Assert.DoesNotContain(RenderedManifests.SiloContainer(frontend)["ports"]!.AsArray(), p => (string?)p!["name"] == "grpc");
        Assert.DoesNotContain(off.OfKind("Service"), svc => RenderedManifests.Name(svc) == "asymcdc-grpc");

        var moved = RenderedManifests.Helm("helm-grpc-9090", "frontend.grpcPort=9090");
        frontend = moved.SiloDeployment("frontend");
        Assert.Equal("9090", moved.Setting(frontend, "AsymCdc__Silo__GrpcPort"));
        Assert.Equal(9090, RenderedManifests.ContainerPort(RenderedManifests.SiloContainer(frontend), JsonValue.Create("grpc")));
        var port = Assert.Single(moved.Get("Service", "asymcdc-grpc")["spec"]!["ports"]!.AsArray())!;
        Assert.Equal((9090, "kubernetes.io/h2c"), ((int)port["port"]!, (string?)port["appProtocol"]));
    }

    [Fact]
    public void Every_value_has_a_helm_docs_description()
    {
        var lines = ChartFile("values.yaml").Split('\n');
        var stream = new YamlStream();
        stream.Load(new StringReader(ChartFile("values.yaml")));
        var undocumented = new List<string>();
        Walk((YamlMappingNode)stream.Documents[0].RootNode, "");
        Assert.True(undocumented.Count == 0, "values without a `# --` description: " + string.Join(", ", undocumented));

        // helm-docs: a described key documents its whole subtree; an undescribed map needs every child described.
        void Walk(YamlMappingNode map, string prefix)
        {
            foreach (var (keyNode, value) in map.Children)
            {
                var path = prefix + ((YamlScalarNode)keyNode).Value;
                if (HasDescription(lines, (int)keyNode.Start.Line - 1))
                {
                    continue;
                }

                if (value is YamlMappingNode { Children.Count: > 0 } child)
                {
                    Walk(child, path + ".");
                }
                else
                {
                    undocumented.Add(path);
                }
            }
        }
    }

    /// <summary>True when the comment block right above line <paramref name="keyLine"/> (0-based) starts with `# --` and says something.</summary>
    private static bool HasDescription(string[] lines, int keyLine)
    {
        for (var i = keyLine - 1; i >= 0 && lines[i].TrimStart().StartsWith('#'); i--)
        {
            var comment = lines[i].Trim();
            if (comment.StartsWith("# --", StringComparison.Ordinal))
            {
                return comment.Length > "# --".Length + 1;
            }
        }

        return false;
    }

    [Fact]
    public void Every_value_a_template_reads_exists_and_every_value_is_read()
    {
        var values = DefaultValues();
        var references = TemplateFiles()
            .SelectMany(f => ValuesReference().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Path: m.Groups[1].Value)))
            .ToList();
        Assert.NotEmpty(references);

        var missing = references.Where(r => Lookup(values, r.Path) is null).Select(r => $"{r.File}: .Values{r.Path}").Distinct().ToList();
        Assert.True(missing.Count == 0, "templates read values that values.yaml does not define: " + string.Join(", ", missing));

        var used = references.Select(r => r.Path).ToHashSet();
        var unused = LeafPaths(values, "").Where(leaf => !used.Any(u => leaf == u || leaf.StartsWith(u + ".", StringComparison.Ordinal))).ToList();
        Assert.True(unused.Count == 0, "values.yaml defines values no template reads: " + string.Join(", ", unused));
    }

    [Fact]
    public void Template_actions_and_blocks_are_balanced()
    {
        var problems = new List<string>();
        foreach (var file in TemplateFiles())
        {
            var text = File.ReadAllText(file);
            var name = Path.GetFileName(file);
            if (Regex.Count(text, @"\{\{") != Regex.Count(text, @"\}\}"))
            {
                problems.Add($"{name}: unbalanced {{{{ }}}}");
                continue;
            }

            var open = new Stack<string>();
            foreach (Match action in TemplateAction().Matches(text))
            {
                var body = action.Groups[1].Value.Trim();
                if (body.StartsWith("/*", StringComparison.Ordinal))
                {
                    continue;
                }

                var word = body.Split([' ', '\t', '\n', '('], 2)[0];
                switch (word)
                {
                    case "if" or "with" or "range" or "define" or "block":
                        open.Push(word);
                        break;
                    case "else" when open.Count == 0:
                        problems.Add($"{name}: else outside a block");
                        break;
                    case "end" when !open.TryPop(out _):
                        problems.Add($"{name}: end without a block");
                        break;
                }
            }

            if (open.Count > 0)
            {
                problems.Add($"{name}: {open.Count} block(s) never closed ({string.Join(", ", open)})");
            }
        }

        Assert.Empty(problems);
    }

    [Fact]
    public void Chart_renders_every_kind_the_kustomize_base_has()
    {
        var templates = string.Join('\n', TemplateFiles().Select(File.ReadAllText));
        foreach (var kind in new[] { "Deployment", "Service", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler" })
        {
            Assert.Matches($@"(?m)^kind: {kind}\s*$", templates);
        }

        foreach (var path in new[] { "/health/startup", "/health/ready", "/health/live", "metadata.labels['orleans/serviceId']", "metadata.labels['orleans/clusterId']", "status.podIP", "maxUnavailable: 0" })
        {
            Assert.Contains(path, templates);
        }

        Assert.True(File.Exists(RepositoryLayout.PathOf([.. Chart, "templates", "NOTES.txt"])), "templates/NOTES.txt is missing");
        var chart = YamlDocuments.LoadSingle(ChartFile("Chart.yaml"));
        Assert.Equal("v2", (string?)chart["apiVersion"]);
        Assert.Equal("asymcdc", (string?)chart["name"]);
        Assert.Matches(@"^\d+\.\d+\.\d+", (string?)chart["version"]);
    }

    [Fact]
    public void Chart_defaults_target_the_gpu_pool()
    {
        var worker = DefaultValues()["worker"]!;
        Assert.True((bool)worker["gpu"]!["enabled"]!);
        Assert.Equal("cuda", (string?)worker["executionProvider"]);
        Assert.Equal("nvidia.com/gpu", (string?)worker["gpu"]!["resourceName"]);
        Assert.Contains(worker["gpu"]!["tolerations"]!.AsArray(), t => (string?)t!["key"] == "nvidia.com/gpu" && (string?)t["effect"] == "NoSchedule");
        Assert.Equal(PrometheusAdapterTests.QueueDelayMetric, (string?)worker["autoscaling"]!["metricName"]);
        Assert.True((int)worker["autoscaling"]!["minReplicas"]! >= (int)DefaultValues()["serving"]!["k"]! + 1);
    }

    private static IEnumerable<string> TemplateFiles() =>
        Directory.EnumerateFiles(RepositoryLayout.PathOf([.. Chart, "templates"])).Order();

    private static JsonNode? Lookup(JsonObject values, string path)
    {
        JsonNode? node = values;
        foreach (var segment in path.Trim('.').Split('.'))
        {
            if (node is not JsonObject obj || !obj.TryGetPropertyValue(segment, out node))
            {
                return null;
            }

            // A defined value may be empty (""), so "exists" means the key is there.
            node ??= JsonValue.Create("");
        }

        return node;
    }

    private static IEnumerable<string> LeafPaths(JsonObject obj, string prefix)
    {
        foreach (var (key, value) in obj)
        {
            var path = $"{prefix}.{key}";
            if (value is JsonObject { Count: > 0 } child)
            {
                foreach (var leaf in LeafPaths(child, path))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return path;
            }
        }
    }

    [GeneratedRegex(@"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")]
    private static partial Regex ValuesReference();

    [GeneratedRegex(@"\{\{-?(.*?)-?\}\}", RegexOptions.Singleline)]
    private static partial Regex TemplateAction();
}
